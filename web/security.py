"""The web's protections that hold for every request: cookies, CSRF, headers, sizes, proxies.

* **Session cookie** ``printserver_session``: signed with the database's secret key (shared by
  every node, :meth:`printserver.accounts.settings.Settings.secret_key`), HttpOnly,
  SameSite=Lax, Secure when the request came over HTTPS (the server's own TLS, or
  ``X-Forwarded-Proto: https`` from a trusted proxy). It lasts as long as the browser session;
  the absolute lifetime and the idle timeout are checked on the server (``web/access.py``).
* **CSRF** (Flask-WTF's CSRFProtect): every unsafe request (POST, PUT, PATCH, DELETE) carries
  the session's CSRF token, as the ``csrf_token`` form field (``{{ csrf_token() }}`` in every
  form) or the ``X-CSRFToken`` header (scripts: read it from ``<meta name="csrf-token">``);
  API requests authenticated by a Bearer token are exempt (no cookie, no CSRF).
* **Headers** on every response: a Content-Security-Policy without inline script or style,
  X-Frame-Options DENY, X-Content-Type-Options nosniff, Referrer-Policy same-origin, and
  ``Cache-Control: no-store`` on everything but static files (pages may show patient data);
  Strict-Transport-Security under HTTPS.
* **Sizes**: a request body over :data:`MAX_REQUEST_BYTES` is refused (413).
* **Proxies**: ``[web] trusted_proxies = N`` believes the X-Forwarded-* headers of N proxies
  (werkzeug's ProxyFix); 0 ignores them.
"""

from __future__ import annotations

from flask import Flask, Response, g, request
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from printserver.config import WebConfig

#: the largest request body accepted (forms, JSON, uploads of QC readings)
MAX_REQUEST_BYTES = 1024 * 1024
#: the most fields a form may have, and the largest non-file form data held in memory
MAX_FORM_PARTS = 200
MAX_FORM_MEMORY = 512 * 1024

CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; "
                           "img-src 'self' data:; connect-src 'self'; object-src 'none'; "
                           "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}

csrf = CSRFProtect()


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session whose cookie is Secure whenever the request is HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or request.is_secure)


def _check_csrf() -> None:
    """``before_request`` (after the user is loaded): the CSRF token of every unsafe request not
    authenticated by a Bearer token."""
    if g.get("via") == "token" or g.get("auth_error"):
        return  # a Bearer request: authenticated by its header alone (or refused with 401)
    if request.routing_exception is not None:
        return  # no such route or method: answered 404 / 405, nothing is done
    csrf.protect()


def _headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask, web: WebConfig, secret_key: str) -> None:
    """Configure the session, CSRF protection, headers and limits of ``app``. Call after the user
    loader is registered (the CSRF check needs to know how the request is authenticated)."""
    app.config.update(
        SECRET_KEY=secret_key,
        SESSION_COOKIE_NAME="printserver_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=web.https,
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
        MAX_FORM_MEMORY_SIZE=MAX_FORM_MEMORY,
        MAX_FORM_PARTS=MAX_FORM_PARTS,
        WTF_CSRF_CHECK_DEFAULT=False,  # checked by _check_csrf, which knows Bearer requests
        WTF_CSRF_TIME_LIMIT=None,  # a token lives as long as its session (which expires)
    )
    app.session_interface = SessionInterface()
    csrf.init_app(app)
    app.before_request(_check_csrf)
    app.after_request(_headers)
    if web.trusted_proxies:
        n = web.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n,  # type: ignore[method-assign]
                                x_port=n, x_prefix=n)


__all__ = ["CONTENT_SECURITY_POLICY", "HEADERS", "MAX_REQUEST_BYTES", "csrf",
           "init_app"]
