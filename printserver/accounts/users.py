"""Users: who may sign in to the web UI and use the JSON API, with which role.

A name is 1 to 64 characters, letters, digits and ``. _ @ -``, starting with a letter or digit
(compared as written: ``Alice`` and ``alice`` are two users). A password meets
:func:`printserver.accounts.passwords.check_policy` and is kept as an argon2id hash. There is
always at least one enabled admin once the first exists: removing, demoting or disabling the last
one is refused (:class:`LastAdminError`), also when two admins try it on each other at once (the
admins' rows are locked while it is decided).

Every change records itself in the audit log in its own transaction (``user.add``,
``user.remove``, ``user.password``, ``user.role``, ``user.disable``, ``user.enable``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import Connection, Row, bindparam, delete, func, select, update

from printserver.accounts import passwords
from printserver.accounts.audit import AuditLog
from printserver.accounts.errors import (BadNameError, BadRoleError, LastAdminError,
                                         NameTakenError, UnknownUserError)
from printserver.accounts.model import Actor, Clock, Role, User, utc_now
from printserver.accounts.schema import api_tokens, users
from printserver.jobs.database import Database
from printserver.jobs.schema import stamp

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")

_GET = select(users).where(users.c.name == bindparam("name"))


def check_name(name: str) -> str:
    """``name`` without surrounding blanks when it is a valid user name; else :class:`BadNameError`."""
    name = (name or "").strip()
    if not name:
        raise BadNameError("a user name is required")
    if not NAME_PATTERN.fullmatch(name):
        raise BadNameError("1 to 64 letters, digits and . _ @ - (starting with a letter or "
                           "digit) are allowed")
    return name


def parse_role(role: Role | str) -> Role:
    """``role`` as a :class:`Role` (any case); else :class:`BadRoleError`."""
    try:
        return Role(str(role).strip().lower())
    except ValueError:
        raise BadRoleError(f"{str(role)[:20]!r} is not one of "
                           f"{', '.join(r.value for r in Role)}") from None


def user_of(row: Row) -> User:
    return User(name=row.name, role=Role(row.role), created_at=row.created_at,
                updated_at=row.updated_at, disabled=bool(row.disabled),
                credential_stamp=passwords.credential_stamp(row.password_hash))


class UserService:
    """The users, in the job store's database.

    Parameters
    ----------
    database
    audit
        Where changes are recorded.
    clock
    """

    def __init__(self, database: Database, audit: AuditLog, clock: Clock = utc_now) -> None:
        self.db = database
        self.audit = audit
        self.clock = clock
        self._admins = database.lock(select(users.c.name).where(
            users.c.role == Role.ADMIN.value, users.c.disabled == 0))

    # -- reading -----------------------------------------------------------------------------------
    def list(self) -> list[User]:
        """Every user, by name."""
        with self.db.read("reading the users") as connection:
            return [user_of(r) for r in connection.execute(select(users).order_by(users.c.name))]

    def find(self, name: str) -> User | None:
        """The user named ``name``, or None."""
        with self.db.read("reading a user") as connection:
            row = connection.execute(_GET, {"name": name}).first()
        return user_of(row) if row is not None else None

    def get(self, name: str) -> User:
        """The user named ``name``. Raises :class:`UnknownUserError`."""
        user = self.find(name)
        if user is None:
            raise UnknownUserError(name)
        return user

    def count(self) -> int:
        """How many users there are (0: the first-run setup is open)."""
        with self.db.read("counting the users") as connection:
            return self.count_on(connection)

    @staticmethod
    def count_on(connection: Connection) -> int:
        """How many users there are, read on ``connection`` (in its transaction)."""
        return connection.execute(select(func.count()).select_from(users)).scalar_one()

    def authenticate(self, name: str, password: str) -> User | None:
        """The user when ``name`` and ``password`` match an enabled user, else None; as long for
        an unknown or disabled name as for a wrong password. A hash made with older parameters
        is replaced by one with this release's."""
        with self.db.read("reading a user") as connection:
            row = connection.execute(_GET, {"name": name}).first() if name else None
        if row is None or row.disabled:
            passwords.verify_nothing(password)
            return None
        ok, rehash = passwords.verify(row.password_hash, password)
        if not ok:
            return None
        if rehash:
            with self.db.write(f"password hash of {name} not renewed") as connection:
                connection.execute(update(users).where(users.c.name == name).values(
                    password_hash=passwords.hash_password(password)))
            return self.find(name)
        return user_of(row)

    # -- changes -----------------------------------------------------------------------------------
    def add(self, name: str, role: Role | str, password: str, by: Actor) -> User:
        """Add a user.

        Raises
        ------
        BadNameError, BadRoleError, WeakPasswordError
            Naming the field.
        NameTakenError
        """
        name, role = check_name(name), parse_role(role)
        passwords.check_policy(password, name)
        password_hash = passwords.hash_password(password)
        with self.db.write(f"user {name} not added", NameTakenError) as connection:
            self.insert(connection, name, role, password_hash, by, "user.add")
        return self.get(name)

    def insert(self, connection: Connection, name: str, role: Role, password_hash: str,
               by: Actor, action: str) -> None:
        """Insert a user on ``connection`` with its audit record ``action``; the name and the
        password are already checked."""
        if connection.execute(_GET, {"name": name}).first() is not None:
            raise NameTakenError(name)
        at = stamp(self.clock())
        connection.execute(users.insert().values(name=name, role=role.value,
                                                 password_hash=password_hash, created_at=at,
                                                 updated_at=at, disabled=0))
        self.audit.insert(connection, by, action, name, detail=f"role {role.value}")

    def remove(self, name: str, by: Actor) -> None:
        """Remove a user and its API tokens (its audit records stay).

        Raises
        ------
        UnknownUserError
        LastAdminError
            It is the last enabled admin.
        """
        with self.db.write(f"user {name} not removed") as connection:
            user = self._locked(connection, name)
            self._keep_an_admin(connection, user, None, "removed")
            connection.execute(delete(api_tokens).where(api_tokens.c.user_name == user.name))
            connection.execute(delete(users).where(users.c.name == user.name))
            self.audit.insert(connection, by, "user.remove", user.name,
                              detail=f"role {user.role.value}")

    def set_password(self, name: str, password: str, by: Actor) -> User:
        """Give a user a new password; its sessions end (their credential stamp changes).

        Raises
        ------
        UnknownUserError
        WeakPasswordError
        """
        user = self.get(name)
        passwords.check_policy(password, user.name)
        password_hash = passwords.hash_password(password)
        with self.db.write(f"password of {name} not changed") as connection:
            self._locked(connection, name)
            self._set(connection, name, password_hash=password_hash)
            self.audit.insert(connection, by, "user.password", name)
        return self.get(name)

    def set_role(self, name: str, role: Role | str, by: Actor) -> User:
        """Change a user's role.

        Raises
        ------
        UnknownUserError, BadRoleError
        LastAdminError
            Demoting the last enabled admin.
        """
        role = parse_role(role)
        with self.db.write(f"role of {name} not changed") as connection:
            user = self._locked(connection, name)
            if user.role is not role:
                self._keep_an_admin(connection, user, role, "demoted")
                self._set(connection, name, role=role.value)
                self.audit.insert(connection, by, "user.role", name,
                                  detail=f"{user.role.value} → {role.value}")
        return self.get(name)

    def set_disabled(self, name: str, disabled: bool, by: Actor) -> User:
        """Disable a user (no sign-in, no API token; its sessions end at their next request) or
        enable it again.

        Raises
        ------
        UnknownUserError
        LastAdminError
            Disabling the last enabled admin.
        """
        with self.db.write(f"user {name} not {'disabled' if disabled else 'enabled'}") as connection:
            user = self._locked(connection, name)
            if user.disabled != disabled:
                if disabled:
                    self._keep_an_admin(connection, user, None, "disabled")
                self._set(connection, name, disabled=int(disabled))
                self.audit.insert(connection, by, "user.disable" if disabled else "user.enable",
                                  name)
        return self.get(name)

    # -- inside a write transaction ----------------------------------------------------------------
    def _locked(self, connection: Connection, name: str) -> User:
        row = connection.execute(self.db.lock(_GET), {"name": name}).first()
        if row is None:
            raise UnknownUserError(name)
        return user_of(row)

    def _keep_an_admin(self, connection: Connection, user: User, new_role: Role | None,
                       what: str) -> None:
        """Refuse to leave no enabled admin: ``user`` loses its admin rights (removed, disabled,
        or given ``new_role``). Locks the enabled admins' rows until the transaction ends."""
        if user.role is not Role.ADMIN or user.disabled or new_role is Role.ADMIN:
            return
        admins: Iterable[str] = connection.execute(self._admins).scalars().all()
        if set(admins) <= {user.name}:
            raise LastAdminError(f"{user.name} is the last admin and cannot be {what}: make "
                                 "another user admin first")

    def _set(self, connection: Connection, name: str, **values: object) -> None:
        connection.execute(update(users).where(users.c.name == name)
                           .values(updated_at=stamp(self.clock()), **values))
