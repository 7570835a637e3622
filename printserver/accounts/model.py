"""Account records: users and their roles, API tokens, audit records, who acts.

Times are ISO 8601 UTC text as the job store keeps them (:func:`printserver.jobs.schema.stamp`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

#: where the services read the time: a function returning an aware datetime (tests pass their own)
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The process's clock, UTC: the default :data:`Clock`."""
    return datetime.now(timezone.utc)


class Role(str, enum.Enum):
    """What a user may do (``../shared/DESIGN.md``, Web and JSON API).

    ``admin`` everything; ``qa`` the display QC pages and reading jobs and printers; ``viewer``
    read-only.
    """

    ADMIN = "admin"
    QA = "qa"
    VIEWER = "viewer"

    def __str__(self) -> str:
        return self.value


class Outcome(str, enum.Enum):
    """How an audited action ended."""

    #: done
    SUCCESS = "success"
    #: tried and failed (a wrong password, a wrong setup token, an action the state refused)
    FAILURE = "failure"
    #: not tried: the user's role may not, or sign-in is throttled
    DENIED = "denied"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Actor:
    """Who does something, for the audit log: a user name (or ``alice (cli)`` for the command
    line) and the client's address (empty for the command line)."""

    name: str
    address: str = ""


@dataclass(frozen=True)
class User:
    """One user.

    Attributes
    ----------
    name : str
    role : Role
    created_at, updated_at : str
    disabled : bool
        A disabled user cannot sign in nor use API tokens.
    credential_stamp : str
        A digest of the password hash: a session remembers it and ends when the password changes.
        Not part of :meth:`to_dict`.
    """

    name: str
    role: Role
    created_at: str
    updated_at: str
    disabled: bool = False
    credential_stamp: str = field(default="", repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``name``, ``role``, ``created_at``, ``updated_at``, ``disabled``."""
        out = asdict(self)
        out["role"] = self.role.value
        del out["credential_stamp"]
        return out


@dataclass(frozen=True)
class ApiToken:
    """An API token as kept: never its secret, only the SHA-256 of it (not in this record).

    Attributes
    ----------
    token_id : str
        Public id, to list and revoke it.
    user : str
    label : str
        What the token is for, as given when it was made.
    created_at, last_used_at, revoked_at : str
        Empty ``last_used_at``: never used; empty ``revoked_at``: valid.
    """

    token_id: str
    user: str
    label: str
    created_at: str
    last_used_at: str = ""
    revoked_at: str = ""

    @property
    def revoked(self) -> bool:
        return bool(self.revoked_at)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class IssuedToken:
    """A new API token: its record and its secret, shown once and never kept."""

    token: ApiToken
    secret: str = field(repr=False)


@dataclass(frozen=True)
class AuditRecord:
    """One line of the audit log: who did what, when, from where, how it ended.

    Attributes
    ----------
    id : int
        Orders records of the same millisecond.
    at : str
    user : str
        The user name (for a failed sign-in: the name tried; for the command line: ``os-user
        (cli)``).
    action : str
        ``sign-in``, ``sign-out``, ``setup``, ``user.add``, ``token.revoke``, ``job.cancel`` …
    target : str
        What it was done to (a user name, a job id, a printer's AE title …), or empty.
    address : str
        The client's address (empty for the command line).
    outcome : Outcome
    detail : str
    """

    id: int
    at: str
    user: str
    action: str
    target: str
    address: str
    outcome: Outcome
    detail: str

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["outcome"] = self.outcome.value
        return out


@dataclass(frozen=True)
class AuditFilter:
    """Which audit records :meth:`printserver.accounts.audit.AuditLog.page` lists; empty or None
    fields do not filter. ``since`` (inclusive) and ``until`` (exclusive) are aware datetimes."""

    user: str = ""
    action: str = ""
    address: str = ""
    outcome: str = ""
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class AuditPage:
    """One page of the audit log, newest first; ``next_cursor`` None on the last page."""

    records: tuple[AuditRecord, ...]
    next_cursor: str | None
