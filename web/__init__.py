"""printserver's web UI and JSON API: a Flask application factory and its blueprints.

:func:`create_app` builds the application for one configuration (no application exists at import
time); ``printserver serve`` runs it in cheroot (:mod:`web.server`). Blueprints:

* ``auth`` (:mod:`web.auth`): sign-in, sign-out, first-run setup;
* ``admin`` (:mod:`web.admin`): dashboard, printers, jobs, associations, users, audit;
* ``api`` (:mod:`web.api`): the JSON API under ``/api``;
* ``qc`` (:mod:`web.qc`, when present): display QC pages.

Views are thin: they parse input with :mod:`web.forms`, call the services (:mod:`web.context`)
and render; access is declared per view (:mod:`web.access`); every protection that holds for all
requests is in :mod:`web.security`, every error page in :mod:`web.errors`.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from flask import Flask

from printserver import __version__
from printserver.accounts import Accounts
from printserver.accounts.model import Clock, utc_now
from printserver.config import Config
from printserver.jobs.services import Services
from web import access, errors, security
from web.context import WebContext, context
from web.nav import navigation

#: the blueprints' modules, registered in this order when they exist (each has ``bp``)
BLUEPRINTS: tuple[str, ...] = ("web.auth", "web.admin", "web.api", "web.qc")


def create_app(config: Config, services: Services | None = None, *, testing: bool = False,
               clock: Clock | None = None) -> Flask:
    """The web application of ``config``.

    Parameters
    ----------
    config
        The whole configuration (``[web]`` for sessions, throttling, HTTPS and proxies).
    services
        The job and printer services to use; by default the configuration's are opened (closed
        by :func:`close_app`). The accounts use the same database.
    testing
        Flask's testing mode (exceptions of views reach the test client).
    clock
        Where sessions, throttling and the audit log read the time (tests pass one they move).

    Raises
    ------
    JobStoreError
        The job store is not at the schema's head revision (``printserver db upgrade``).
    """
    app = Flask(__name__)
    app.testing = testing
    own = services is None
    services = services if services is not None else Services.open(config)
    clock = clock or utc_now
    accounts = Accounts(services.store.db, config.web, clock)
    app.extensions["printserver"] = WebContext(config, services, accounts, clock, own)
    access.init_app(app)  # the user first: CSRF checks need to know how a request signed in
    security.init_app(app, config.web, accounts.settings.secret_key())
    errors.init_app(app)
    app.jinja_env.globals.update(version=__version__)

    @app.context_processor
    def _layout() -> dict[str, Any]:
        return {"nav": navigation(access.current_user())}

    for name in BLUEPRINTS:
        if importlib.util.find_spec(name) is not None:
            app.register_blueprint(importlib.import_module(name).bp)
    return app


def close_app(app: Flask) -> None:
    """Close what :func:`create_app` opened (the services, when it opened them)."""
    with app.app_context():
        context().close()


__all__ = ["close_app", "create_app"]
