"""The accounts' services of one database, as the web, the JSON API and ``printserver users`` use
them.

Usage::

    with Accounts.open(config) as accounts:
        accounts.users.add("alice", "admin", password, by=Actor("root (cli)"))
        issued = accounts.tokens.issue("alice", by=Actor("root (cli)"))
        accounts.audit.record(Actor("alice", "10.0.0.7"), "job.cancel", job_id)

or, beside the job services on the same connection pool::

    accounts = Accounts(services.store.db, config.web)
"""

from __future__ import annotations

from datetime import timedelta

from printserver.accounts.audit import AuditLog
from printserver.accounts.settings import Settings
from printserver.accounts.setup import SetupTokens
from printserver.accounts.signin import SignIn, ThrottleLimits
from printserver.accounts.tokens import TokenService
from printserver.accounts.model import Clock, utc_now
from printserver.accounts.users import UserService
from printserver.config import Config, WebConfig
from printserver.jobs.database import Database
from printserver.jobs.store import open_job_store


class Accounts:
    """Users, API tokens, the audit log, shared settings, first-run setup and sign-in, over one
    :class:`~printserver.jobs.database.Database` (the job store's).

    Parameters
    ----------
    database
        The job store's database, at the head revision.
    web
        The limits of sign-in throttling and the setup token's lifetime.
    clock
        Where every service reads the time (tests pass a clock they move).

    Attributes
    ----------
    users : UserService
    tokens : TokenService
    audit : AuditLog
    settings : Settings
    setup : SetupTokens
    signin : SignIn
    """

    def __init__(self, database: Database, web: WebConfig | None = None,
                 clock: Clock = utc_now) -> None:
        web = web or WebConfig()
        self.db = database
        self._own_database = False
        self.clock = clock
        self.audit = AuditLog(database, clock)
        self.settings = Settings(database, clock)
        self.users = UserService(database, self.audit, clock)
        self.tokens = TokenService(database, self.audit, self.users, clock)
        self.setup = SetupTokens(database, self.settings, self.users, self.audit,
                                 timedelta(hours=web.setup_token_hours), clock)
        self.signin = SignIn(self.users, self.audit, ThrottleLimits(
            timedelta(minutes=web.signin_window_minutes), web.signin_max_failures_per_name,
            web.signin_max_failures_per_address), clock)

    @classmethod
    def open(cls, config: Config, clock: Clock = utc_now) -> Accounts:
        """The accounts of a configuration's job store (closed by :meth:`close`).

        Raises
        ------
        JobStoreError
            The database is not at the head revision (the message says what to run).
        """
        accounts = cls(open_job_store(config).db, config.web, clock)
        accounts._own_database = True
        return accounts

    def close(self) -> None:
        """Close the database when :meth:`open` opened it."""
        if self._own_database:
            self.db.close()

    def __enter__(self) -> Accounts:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
