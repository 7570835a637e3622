"""What a view needs from the application: the services, the signed-in user, the audit log.

The application factory (:func:`web.create_app`) puts one :class:`WebContext` in
``app.extensions["printserver"]``; views reach it through the functions here, never through a
store or a database of their own::

    from web.context import audit, services

    @bp.post("/jobs/<job_id>/cancel")
    @page_access(Role.ADMIN)
    def cancel(job_id):
        job = services().jobs.cancel(job_id, actor=actor().name)
        audit("job.cancel", job_id)
        ...
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app, g, has_request_context, request

from printserver.accounts import Accounts, Actor, Outcome, User
from printserver.accounts.model import Clock
from printserver.config import Config
from printserver.jobs.services import Services

log = logging.getLogger(__name__)


@dataclass
class WebContext:
    """The application's services and settings (one per :func:`web.create_app`).

    Attributes
    ----------
    config : Config
    services : Services
        Jobs and printers (:mod:`printserver.jobs.services`).
    accounts : Accounts
        Users, tokens, audit log, setup, sign-in (:mod:`printserver.accounts`), on the same
        database as ``services``.
    clock : Clock
        The time sessions are measured with.
    """

    config: Config
    services: Services
    accounts: Accounts
    clock: Clock
    own_services: bool = field(default=False, repr=False)

    def close(self) -> None:
        """Close the services when the application opened them."""
        if self.own_services:
            self.services.close()


def context() -> WebContext:
    """The current application's :class:`WebContext`."""
    return current_app.extensions["printserver"]


def services() -> Services:
    """Jobs and printers: ``services().jobs.page(...)``, ``services().printers.list()``."""
    return context().services


def accounts() -> Accounts:
    """Users, API tokens, the audit log: ``accounts().users.list()``."""
    return context().accounts


def now() -> datetime:
    """Now, by the application's clock."""
    return context().clock()


def current_user() -> User | None:
    """The user of this request (session or API token), None when anonymous."""
    return g.get("user")


def client_address() -> str:
    """The client's address (the proxy's view of it with ``[web] trusted_proxies``)."""
    return (request.remote_addr or "") if has_request_context() else ""


def actor() -> Actor:
    """Who makes this request, for the audit log and the services' ``actor``: the user's name
    (``anonymous`` before sign-in) and the client's address."""
    user = current_user()
    return Actor(user.name if user is not None else "anonymous", client_address())


def audit(action: str, target: str = "", outcome: Outcome | str = Outcome.SUCCESS,
          detail: str = "") -> None:
    """Record what this request's user did (``job.cancel``, ``film.download`` …) in the audit
    log, with the client's address. Never put a password or a token in ``detail``."""
    accounts().audit.record(actor(), action, target, outcome, detail)
