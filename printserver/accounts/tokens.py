"""API tokens: ``Authorization: Bearer TOKEN`` for the JSON API.

A token is ``secrets.token_urlsafe(32)`` (256 random bits), shown once when it is made and never
kept: the database holds only its SHA-256 (a token has enough entropy that a fast hash is the right
one; a password hash would only slow every API request). A token acts as its user with the user's
role at the time of the request; it ends when revoked, or when its user is removed or disabled.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import Row, bindparam, select, update

from printserver.accounts.audit import AuditLog
from printserver.accounts.errors import UnknownTokenError
from printserver.accounts.model import Actor, ApiToken, Clock, IssuedToken, User, utc_now
from printserver.accounts.schema import api_tokens, users
from printserver.accounts.users import UserService, user_of
from printserver.jobs.database import Database
from printserver.jobs.schema import stamp

#: ``last_used_at`` is written at most this often per token (not on every poll of a dashboard)
LAST_USED_RESOLUTION = timedelta(minutes=1)
#: the longest label kept
MAX_LABEL = 100


def token_digest(secret: str) -> str:
    """The SHA-256 (hex) of a token, as stored."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def _token(row: Row) -> ApiToken:
    return ApiToken(token_id=row.token_id, user=row.user_name, label=row.label,
                    created_at=row.created_at, last_used_at=row.last_used_at,
                    revoked_at=row.revoked_at)


_BY_DIGEST = (select(api_tokens.c.token_id, api_tokens.c.last_used_at, users)
              .join(users, users.c.name == api_tokens.c.user_name)
              .where(api_tokens.c.token_sha256 == bindparam("digest"),
                     api_tokens.c.revoked_at == "", users.c.disabled == 0))


class TokenService:
    """API tokens in the job store's database."""

    def __init__(self, database: Database, audit: AuditLog, users_: UserService,
                 clock: Clock = utc_now) -> None:
        self.db = database
        self.audit = audit
        self.users = users_
        self.clock = clock

    def issue(self, user: str, by: Actor, label: str = "") -> IssuedToken:
        """Make a new token for ``user``; its secret is in the answer and nowhere else.

        Raises
        ------
        UnknownUserError
        """
        name = self.users.get(user).name
        secret = secrets.token_urlsafe(32)
        token = ApiToken(token_id=secrets.token_hex(6), user=name, label=label.strip()[:MAX_LABEL],
                         created_at=stamp(self.clock()))
        with self.db.write(f"API token for {name} not stored") as connection:
            connection.execute(api_tokens.insert().values(
                token_id=token.token_id, user_name=name, token_sha256=token_digest(secret),
                label=token.label, created_at=token.created_at))
            self.audit.insert(connection, by, "token.create", name,
                              detail=f"token {token.token_id}" + (f" ({token.label})"
                                                                   if token.label else ""))
        return IssuedToken(token, secret)

    def list(self, user: str | None = None) -> list[ApiToken]:
        """The tokens (revoked ones too) of ``user``, or of everyone; oldest first."""
        query = select(api_tokens).order_by(api_tokens.c.created_at, api_tokens.c.token_id)
        if user is not None:
            query = query.where(api_tokens.c.user_name == user)
        with self.db.read("reading the API tokens") as connection:
            return [_token(r) for r in connection.execute(query)]

    def authenticate(self, secret: str) -> tuple[User, str] | None:
        """(the user, the token id) of a valid token: not revoked, its user enabled; else None."""
        if not secret or len(secret) > 200:
            return None
        with self.db.read("reading an API token") as connection:
            row = connection.execute(_BY_DIGEST, {"digest": token_digest(secret)}).first()
        if row is None:
            return None
        now = self.clock()
        if not row.last_used_at or row.last_used_at < stamp(now - LAST_USED_RESOLUTION):
            with self.db.write("API token use not recorded") as connection:
                connection.execute(update(api_tokens).where(
                    api_tokens.c.token_id == row.token_id).values(last_used_at=stamp(now)))
        return user_of(row), row.token_id

    def revoke(self, token_id: str, by: Actor, user: str | None = None) -> ApiToken:
        """Revoke one token (of ``user`` when given); revoking a revoked one changes nothing.

        Raises
        ------
        UnknownTokenError
        """
        with self.db.write(f"API token {token_id} not revoked") as connection:
            query = select(api_tokens).where(api_tokens.c.token_id == token_id.strip())
            if user is not None:
                query = query.where(api_tokens.c.user_name == user)
            row = connection.execute(self.db.lock(query)).first()
            if row is None:
                raise UnknownTokenError(f"no API token {token_id!r}"
                                        + (f" of {user}" if user is not None else ""))
            if not row.revoked_at:
                connection.execute(update(api_tokens).where(
                    api_tokens.c.token_id == row.token_id).values(revoked_at=stamp(self.clock())))
                self.audit.insert(connection, by, "token.revoke", row.user_name,
                                  detail=f"token {row.token_id}")
        return next(t for t in self.list(row.user_name) if t.token_id == row.token_id)

    def revoke_all(self, user: str, by: Actor) -> int:
        """Revoke every valid token of ``user``; how many were.

        Raises
        ------
        UnknownUserError
        """
        name = self.users.get(user).name
        with self.db.write(f"API tokens of {name} not revoked") as connection:
            revoked = connection.execute(
                update(api_tokens).where(api_tokens.c.user_name == name,
                                         api_tokens.c.revoked_at == "")
                .values(revoked_at=stamp(self.clock())).returning(api_tokens.c.token_id)).all()
            if revoked:
                self.audit.insert(connection, by, "token.revoke", name,
                                  detail=f"all {len(revoked)} tokens")
        return len(revoked)
