"""The JSON API under ``/api`` (blueprint ``api``; the contract is in ``docs/web.md``).

Authentication: ``Authorization: Bearer TOKEN`` (a token of ``printserver users token``) or the
browser session (then unsafe requests carry the ``X-CSRFToken`` header). Every endpoint declares
its roles with :func:`web.access.api_access`; no or bad credentials answer 401, a role that may
not 403; every error is ``{"error": "..."}`` (:mod:`web.errors`).

* ``GET /api/health`` (no authentication; for load balancers): ``{"status": "ok", "version"}``.
* ``GET /api/me``: who the credentials are: ``{"user": {name, role, …}, "via": "token"|"session"}``.
"""

from __future__ import annotations

from flask import Blueprint, g, jsonify
from werkzeug.wrappers import Response

from printserver import __version__
from web.access import api_access, public
from web.context import current_user

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.get("/health")
@public
def health() -> Response:
    """Liveness for load balancers: no authentication, no database."""
    return jsonify(status="ok", version=__version__)


@bp.get("/me")
@api_access()
def me() -> Response:
    """The user the request is authenticated as, and how."""
    user = current_user()
    assert user is not None  # api_access
    return jsonify(user=user.to_dict(), via=g.via)
