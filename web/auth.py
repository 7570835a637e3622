"""Sign-in, sign-out and the first-run setup (blueprint ``auth``).

* ``GET|POST /signin``: the sign-in form; throttled after repeated failures
  (:mod:`printserver.accounts.signin`); while there is no user it sends to ``/setup``.
* ``POST /signout``: ends the session (a form with its CSRF token, never a link).
* ``GET|POST /setup``: while there is no user, the setup form: the setup token from serve's log,
  the first admin's name and password twice; creates the admin and signs them in.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from printserver.accounts import SetupError, SignInError, SignInThrottled
from printserver.accounts.passwords import MAX_LENGTH, MIN_LENGTH
from printserver.errors import ParameterError
from web.access import end_session, public, start_session
from web.context import accounts, client_address, current_user
from web.forms import Field, FieldError, Form

bp = Blueprint("auth", __name__)

SIGN_IN = Form(
    Field("name", required=True, max_length=64, label="user name"),
    Field("password", required=True, strip=False, max_length=MAX_LENGTH),
    Field("next", max_length=500),
)

SETUP = Form(
    Field("token", required=True, max_length=100, label="setup token"),
    Field("name", required=True, max_length=64, label="admin name"),
    Field("password", required=True, strip=False, max_length=MAX_LENGTH),
    Field("password2", required=True, strip=False, max_length=MAX_LENGTH,
          label="the password again"),
)


def safe_next(target: str | None) -> str:
    """Where to go after sign-in: ``target`` when it is a path of this site, else the
    dashboard (never another site: ``//evil``, ``https://evil``, ``/\\evil``)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("admin.dashboard")


@bp.route("/signin", methods=["GET", "POST"])
@public
def signin() -> Response | tuple[str, int]:
    """The sign-in form; 401 for a wrong name or password, 429 while throttled."""
    if accounts().setup.needed():
        return redirect(url_for("auth.setup"))
    if current_user() is not None and request.method == "GET":
        return redirect(safe_next(request.args.get("next")))
    values = {"name": "", "next": request.args.get("next", "")[:500]}
    error = field = None
    status = 200
    if request.method == "POST":
        values.update(name=request.form.get("name", "")[:64], next=request.form.get("next", "")[:500])
        try:
            form = SIGN_IN.parse(request.form)
            user = accounts().signin.sign_in(form["name"], form["password"], client_address())
        except FieldError as exc:
            error, field, status = exc.message, exc.parameter, 400
        except SignInThrottled as exc:
            error, status = str(exc), 429
        except SignInError as exc:
            error, status = str(exc), 401
        else:
            start_session(user)
            return redirect(safe_next(form["next"]))
    return render_template("auth/signin.html", values=values, error=error, error_field=field), status


@bp.post("/signout")
@public
def signout() -> Response:
    """End the session (recorded in the audit log) and go to the sign-in page."""
    if current_user() is not None:
        end_session("signed out")
        flash("You are signed out.", "success")
    return redirect(url_for("auth.signin"))


@bp.route("/setup", methods=["GET", "POST"])
@public
def setup() -> Response | tuple[str, int]:
    """The first-run setup: the first admin from the setup token in serve's log."""
    if not accounts().setup.needed():
        if request.method == "POST":
            flash("printserver is already set up: sign in.", "info")
        return redirect(url_for("auth.signin"))
    values = {"name": request.form.get("name", "")[:64]}
    error = field = None
    status = 200
    if request.method == "POST":
        try:
            form = SETUP.parse(request.form)
            if form["password"] != form["password2"]:
                raise FieldError("password2", "the two passwords differ")
            user = accounts().setup.consume(form["token"], form["name"], form["password"],
                                            client_address())
        except ParameterError as exc:  # FieldError, or the name or password refused
            error, field, status = str(exc).partition(": ")[2], exc.parameter, 400
        except SetupError as exc:
            error, field, status = str(exc), "token", 400
        else:
            start_session(user)
            flash(f"Welcome, {user.name}. You are printserver's first admin.", "success")
            return redirect(url_for("admin.dashboard"))
    return render_template("auth/setup.html", values=values, error=error, error_field=field,
                           min_length=MIN_LENGTH), status
