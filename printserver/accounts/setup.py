"""The first-run setup: a one-time token that lets the first admin be created from the browser.

While there is no user, ``printserver serve`` issues a setup token (:meth:`SetupTokens.issue`) and
logs it once at WARNING with the setup page's address; only its SHA-256 and expiry are kept, in
the shared settings. The sign-in page then offers the setup form (token, admin name, password
twice); :meth:`SetupTokens.consume` creates the first admin and removes every setup token, all in
one transaction, so that the token works once. Several nodes on one database each issue their
own token; any one of them works, once, and then none does. There is never a default password.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta

from printserver.accounts import passwords
from printserver.accounts.audit import AuditLog
from printserver.accounts.errors import SetupError
from printserver.accounts.model import Actor, Clock, Outcome, Role, User, utc_now
from printserver.accounts.settings import Settings
from printserver.accounts.users import UserService, check_name
from printserver.jobs.database import Database
from printserver.jobs.schema import stamp

log = logging.getLogger(__name__)

#: settings keys of setup tokens: this prefix and the token's SHA-256; the value is the expiry
PREFIX = "setup.token."


def _key(token: str) -> str:
    return PREFIX + hashlib.sha256(token.strip().encode("utf-8", "surrogatepass")).hexdigest()


class SetupTokens:
    """First-run setup tokens.

    Parameters
    ----------
    database, settings, users, audit
    lifetime
        How long a token is valid (``[web] setup_token_hours``).
    clock
    """

    def __init__(self, database: Database, settings: Settings, users: UserService,
                 audit: AuditLog, lifetime: timedelta = timedelta(hours=24),
                 clock: Clock = utc_now) -> None:
        self.db = database
        self.settings = settings
        self.users = users
        self.audit = audit
        self.lifetime = lifetime
        self.clock = clock

    def needed(self) -> bool:
        """True while there is no user: the first admin is still to be created."""
        return self.users.count() == 0

    def issue(self) -> tuple[str, datetime]:
        """A new setup token and when it expires (its hash stored, the token nowhere)."""
        token = secrets.token_urlsafe(24)
        now = self.clock()
        expires = now + self.lifetime
        with self.db.write("setup token not stored") as connection:
            self.settings.delete(connection, PREFIX, value_below=stamp(now))  # expired ones
            self.settings.upsert(connection, _key(token), stamp(expires))
        return token, expires

    def consume(self, token: str, name: str, password: str, address: str = "") -> User:
        """Create the first admin with a valid setup token; every setup token is gone after.

        The name and password are checked before the token is spent, so that a mistake in them
        leaves the token usable. A refusal is recorded in the audit log (``setup``, failure).

        Raises
        ------
        BadNameError, WeakPasswordError
            The name or password, naming the field.
        SetupError
            A wrong, expired or used token, or users exist already.
        """
        name = check_name(name)
        passwords.check_policy(password, name)
        password_hash = passwords.hash_password(password)
        by = Actor(name, address)
        try:
            with self.db.write("first admin not created") as connection:
                pending = self.settings.delete(connection, PREFIX)
                expires = pending.get(_key(token or ""))
                if expires is None:
                    raise SetupError("this setup token is not valid (wrong, or already used): "
                                     "use the token of serve's last start")
                if expires <= stamp(self.clock()):
                    raise SetupError("this setup token has expired: restart printserver serve "
                                     "for a new one")
                if self.users.count_on(connection):
                    raise SetupError("the first admin exists already: sign in")
                self.users.insert(connection, name, Role.ADMIN, password_hash, by, "setup")
        except SetupError as exc:
            self.audit.record(by, "setup", name, Outcome.FAILURE, str(exc))
            raise
        log.warning("first run: %s created as the first admin%s", name,
                    f" from {address}" if address else "")
        return self.users.get(name)
