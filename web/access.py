"""Who makes a request, and whether their role may: sessions, API tokens, role decorators.

Before every request :func:`load_user` finds the user (:func:`web.context.current_user`):

* on ``/api/``, an ``Authorization: Bearer TOKEN`` header (a token of ``printserver users
  token``); a request with this header is authenticated by it alone (no session, no CSRF token);
* otherwise the browser session (Flask's signed cookie): the user's name, the credential stamp
  of their password (a new password ends every session), the sign-in time and the time of the
  last page. The session ends after ``[web] session_hours`` since sign-in (absolute lifetime)
  or ``[web] idle_minutes`` without a page or form (idle timeout: the JSON API's GET requests,
  which pages poll, do not keep a session alive), or when the user is removed or disabled.

The user's role is read from the database on every request: a change of role applies at once.

Views declare who may use them::

    @bp.get("/jobs")
    @page_access(Role.QA, Role.VIEWER)   # admin may always; no roles = any signed-in user
    def jobs(): ...

    @bp.post("/api/jobs/<job_id>/cancel")
    @api_access(Role.ADMIN)
    def cancel(job_id): ...

A page answers an anonymous user with a redirect to the sign-in page and a role that may not with
the 403 page; the API answers 401 (none or bad credentials) and 403, as JSON (``web/errors.py``).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, abort, flash, g, redirect, request, session, url_for

from printserver.accounts import Outcome, Role, User
from web.context import accounts, audit, client_address, context, current_user, now

log = logging.getLogger(__name__)

View = TypeVar("View", bound=Callable[..., Any])

#: the session's keys
USER, STAMP, SIGNED_IN, SEEN = "user", "stamp", "signed_in", "seen"


def is_api() -> bool:
    """This request is for the JSON API (its errors are JSON)."""
    return request.path == "/api" or request.path.startswith("/api/")


def bearer_token() -> str | None:
    """The token of an ``Authorization: Bearer`` header, None without one ('' when malformed)."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def start_session(user: User) -> None:
    """Sign ``user`` in: a new session (whatever the old one held)."""
    session.clear()
    at = now().timestamp()
    session.update({USER: user.name, STAMP: user.credential_stamp, SIGNED_IN: at, SEEN: at})
    g.user, g.via = user, "session"


def end_session(reason: str = "signed out") -> None:
    """Sign out: the sign-out recorded in the audit log, the session emptied."""
    user = current_user() or g.get("session_user")
    if user is not None:
        accounts().signin.sign_out(user.name, client_address(), reason)
    session.clear()
    g.user = None


def _session_user() -> User | None:
    """The user of a valid session; a session that ended is emptied (and its end audited)."""
    name = session.get(USER)
    if not name:
        return None
    user = accounts().users.find(str(name))
    web = context().config.web
    at = now().timestamp()
    ended = None
    if user is None or user.disabled or session.get(STAMP) != user.credential_stamp:
        ended = "the account changed"
    elif at - float(session.get(SIGNED_IN, 0)) > web.session_hours * 3600:
        ended = f"session older than {web.session_hours:g} hours"
    elif at - float(session.get(SEEN, 0)) > web.idle_minutes * 60:
        ended = f"idle for more than {web.idle_minutes:g} minutes"
    if ended is not None:
        g.session_user = user
        end_session(ended)
        if not is_api():
            flash("Your session has ended; please sign in again.", "info")
        return None
    if not (is_api() and request.method in ("GET", "HEAD")):
        session[SEEN] = at  # a page or a form: the user is here
    return user


def load_user() -> None:
    """``before_request``: set ``g.user`` (or None) and ``g.via`` (``session`` or ``token``)."""
    g.user, g.via = None, None
    if request.endpoint == "static":
        return  # the stylesheet and icons: no database round trip
    token = bearer_token() if is_api() else None
    if token is not None:
        found = accounts().tokens.authenticate(token)
        if found is None:
            g.auth_error = "the API token is not valid (unknown, revoked, or its user disabled)"
            return
        g.user, g.via = found[0], "token"
        return
    user = _session_user()
    if user is not None:
        g.user, g.via = user, "session"


def allowed(user: User | None, roles: tuple[Role, ...]) -> bool:
    """``user`` may use a view open to ``roles`` (admin always; no roles: any user)."""
    return user is not None and (not roles or user.role is Role.ADMIN or user.role in roles)


def _deny() -> None:
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        audit("access", request.path[:200], Outcome.DENIED, f"{request.method} as "
              f"{current_user().role.value if current_user() else 'anonymous'}")
    abort(403, description="your role may not do this")


def page_access(*roles: Role) -> Callable[[View], View]:
    """A page open to ``roles`` (and admin): anonymous → the sign-in page, then back here;
    another role → 403."""
    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                target = request.full_path if request.method == "GET" else None
                return redirect(url_for("auth.signin", next=target.rstrip("?") if target else None))
            if not allowed(user, roles):
                _deny()
            return view(*args, **kwargs)
        wrapped.access_roles = roles  # type: ignore[attr-defined]  (tests list every route)
        return wrapped  # type: ignore[return-value]
    return decorate


def api_access(*roles: Role) -> Callable[[View], View]:
    """An API endpoint open to ``roles`` (and admin): no or bad credentials → 401, another role
    → 403, both JSON."""
    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                abort(401, description=g.get("auth_error") or "sign in, or send "
                      "'Authorization: Bearer TOKEN' (a token of printserver users token)")
            if not allowed(user, roles):
                _deny()
            return view(*args, **kwargs)
        wrapped.access_roles = roles  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]
    return decorate


def public(view: View) -> View:
    """A view anyone may use (sign-in, setup, ``/api/health``): marked for the tests that check
    that every route declares its access."""
    view.access_roles = None  # type: ignore[attr-defined]
    return view


def init_app(app: Flask) -> None:
    """Load the user before every request; let templates ask ``can(Role.ADMIN)``."""
    app.before_request(load_user)

    @app.context_processor
    def _roles() -> dict[str, Any]:
        return {"current_user": current_user(), "Role": Role,
                "can": lambda *roles: allowed(current_user(), roles)}

