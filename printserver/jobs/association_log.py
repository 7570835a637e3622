"""The record of the Print SCP's associations: what the Associations admin page shows.

The SCP (:mod:`printserver.scp.association_log`) writes one :class:`AssociationRecord` for every
association it accepted or rejected, when it ended: who called (calling AE title, peer address and
port), whom (called AE title), over TLS or not, the presentation contexts accepted, every
response whose status was not Success, how it ended, how many requests it made and which jobs it
queued. :class:`AssociationLog` stores them in the job store's database (table ``associations``)
and reads them back a page at a time, newest first, with filters; retention deletes them after
``[retention] association_days`` (:meth:`AssociationLog.purge`).

What is not an association is not recorded: a connection that never sent an A-ASSOCIATE-RQ, or
whose TLS handshake failed (both are logged).
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, delete, select, tuple_

from printserver.jobs import cursors
from printserver.jobs.database import Database
from printserver.jobs.schema import associations, stamp
from printserver.vocabulary import Status

#: the most records one :meth:`AssociationLog.page` returns
MAX_PAGE = 1000


class AssociationOutcome(str, enum.Enum):
    """How an association ended (PS3.8 7.1 - 7.4)."""

    #: the SCU released it (A-RELEASE)
    RELEASED = "released"
    #: the SCU aborted it (A-ABORT from the peer)
    ABORTED_BY_PEER = "aborted_by_peer"
    #: the SCP aborted it; ``reason`` says why (network timeout, protocol error, server stopping…)
    ABORTED_BY_US = "aborted_by_us"
    #: the connection closed or failed without a release or an abort (A-P-ABORT)
    CONNECTION_CLOSED = "connection_closed"
    #: the SCP answered A-ASSOCIATE-RJ; ``rejection`` holds result, source and reason
    REJECTED = "rejected"


@dataclass(frozen=True)
class AcceptedContext:
    """A presentation context the SCP accepted: its abstract and transfer syntax, with names."""

    context_id: int
    abstract_syntax: str
    abstract_syntax_name: str
    transfer_syntax: str
    transfer_syntax_name: str


@dataclass(frozen=True)
class StatusRecord:
    """A response whose status was not Success (PS3.7 C.1: a warning or a failure).

    Attributes
    ----------
    at : str
        When it was answered (ISO 8601 UTC).
    operation : str
        The request: ``N-CREATE``, ``N-SET``, ``N-GET``, ``N-ACTION``, ``N-DELETE``, ``C-ECHO`` …
    sop_class, sop_class_name : str
        The Affected / Requested SOP Class of the request (UID and name).
    status : int
    error_comment : str
        Error Comment (0000,0902) as sent.
    """

    at: str
    operation: str
    sop_class: str
    sop_class_name: str
    status: int
    error_comment: str = ""

    @property
    def meaning(self) -> str:
        """The status's name (``INVALID_ATTRIBUTE_VALUE``), ``UNKNOWN`` for a code not named."""
        try:
            return Status(self.status).name
        except ValueError:
            return "UNKNOWN"

    @property
    def category(self) -> str:
        """``warning`` or ``failure`` (PS3.7 C.1; PS3.4 H.2.5: a warning is carried out)."""
        try:
            return "warning" if Status(self.status).is_warning else "failure"
        except ValueError:
            return "warning" if 0xB000 <= self.status <= 0xBFFF else "failure"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the status also as ``0x0106``, its meaning and category."""
        return {**dataclasses.asdict(self), "status_hex": f"0x{self.status:04X}",
                "meaning": self.meaning, "category": self.category}


@dataclass(frozen=True)
class Rejection:
    """A-ASSOCIATE-RJ result, source and reason/diagnostic (PS3.8 Table 9-21)."""

    result: int
    source: int
    reason: int

    def to_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class AssociationRecord:
    """One association of the Print SCP, accepted or rejected.

    Attributes
    ----------
    started_at, ended_at : str
        ISO 8601 UTC: when it was accepted (or rejected) and when it ended.
    duration : float
        Seconds from acceptance to the end (0 for a rejection).
    server : str
        The host name of the ``serve`` that served it (several nodes may share the store).
    calling_ae, called_ae : str
    peer_host : str
        The peer's IP address.
    peer_port : int
    tls_version, tls_cipher : str
        Empty without TLS; e.g. ``TLSv1.3`` and ``TLS_AES_256_GCM_SHA384``.
    outcome : AssociationOutcome
    reason : str
        Why the SCP aborted or rejected it (empty otherwise).
    rejection : Rejection or None
        The A-ASSOCIATE-RJ fields when rejected.
    contexts : tuple of AcceptedContext
    requests : int
        DIMSE requests answered (C-ECHO included).
    failures : int
        Responses whose status was not Success (all of them, also beyond those kept in
        ``statuses``).
    statuses : tuple of StatusRecord
        Those responses, oldest first (the first :data:`printserver.scp.association_log.
        MAX_STATUSES` of them).
    job_ids : tuple of str
        The print jobs it queued.
    id : int
        The record's number in the store (0 before it is stored).
    """

    started_at: str
    ended_at: str
    duration: float
    calling_ae: str
    called_ae: str
    peer_host: str
    peer_port: int
    outcome: AssociationOutcome
    server: str = ""
    tls_version: str = ""
    tls_cipher: str = ""
    reason: str = ""
    rejection: Rejection | None = None
    contexts: tuple[AcceptedContext, ...] = ()
    requests: int = 0
    failures: int = 0
    statuses: tuple[StatusRecord, ...] = ()
    job_ids: tuple[str, ...] = ()
    id: int = 0

    @property
    def tls(self) -> bool:
        return bool(self.tls_version)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: outcome as its string, ``tls`` as a boolean, nested records as dicts."""
        return {
            "id": self.id, "started_at": self.started_at, "ended_at": self.ended_at,
            "duration": self.duration, "server": self.server, "calling_ae": self.calling_ae,
            "called_ae": self.called_ae, "peer_host": self.peer_host, "peer_port": self.peer_port,
            "tls": self.tls, "tls_version": self.tls_version, "tls_cipher": self.tls_cipher,
            "outcome": self.outcome.value, "reason": self.reason,
            "rejection": self.rejection.to_dict() if self.rejection is not None else None,
            "contexts": [dataclasses.asdict(c) for c in self.contexts],
            "requests": self.requests, "failures": self.failures,
            "statuses": [s.to_dict() for s in self.statuses], "job_ids": list(self.job_ids)}


@dataclass(frozen=True)
class AssociationFilter:
    """Which associations a page shows; every condition given must hold.

    Attributes
    ----------
    calling_ae : str
        Only those from this calling AE title (empty: any).
    peer_host : str
        Only those from this IP address (empty: any).
    outcomes : tuple of AssociationOutcome
        Only those that ended so (empty: any).
    failures_only : bool
        Only those with at least one response that was not Success.
    since, until : datetime or None
        Only those started at or after ``since`` and before ``until`` (timezone-aware).
    """

    calling_ae: str = ""
    peer_host: str = ""
    outcomes: tuple[AssociationOutcome, ...] = ()
    failures_only: bool = False
    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "outcomes", tuple(AssociationOutcome(o) for o in self.outcomes))
        for name in ("since", "until"):
            when = getattr(self, name)
            if when is not None and when.tzinfo is None:
                raise ValueError(f"AssociationFilter.{name}: a timezone-aware datetime is needed")


@dataclass(frozen=True)
class AssociationPage:
    """One page of the association records, newest first; ``next_cursor`` None on the last."""

    records: list[AssociationRecord] = field(default_factory=list)
    next_cursor: str | None = None


# -- rows ↔ records ------------------------------------------------------------------------------
def _row(record: AssociationRecord) -> dict[str, Any]:
    rejection = record.rejection or Rejection(0, 0, 0)
    return {
        "started_at": record.started_at, "ended_at": record.ended_at,
        "duration": record.duration, "server": record.server, "calling_ae": record.calling_ae,
        "called_ae": record.called_ae, "peer_host": record.peer_host,
        "peer_port": record.peer_port, "tls_version": record.tls_version,
        "tls_cipher": record.tls_cipher, "outcome": record.outcome.value,
        "reason": record.reason[:500], "reject_result": rejection.result,
        "reject_source": rejection.source, "reject_reason": rejection.reason,
        "contexts": json.dumps([dataclasses.asdict(c) for c in record.contexts]),
        "requests": record.requests, "failures": record.failures,
        "statuses": json.dumps([dataclasses.asdict(s) for s in record.statuses]),
        "job_ids": json.dumps(list(record.job_ids))}


def _record(row: Row) -> AssociationRecord:
    m = row._mapping
    outcome = AssociationOutcome(m["outcome"])
    return AssociationRecord(
        id=m["id"], started_at=m["started_at"], ended_at=m["ended_at"], duration=m["duration"],
        server=m["server"], calling_ae=m["calling_ae"], called_ae=m["called_ae"],
        peer_host=m["peer_host"], peer_port=m["peer_port"], tls_version=m["tls_version"],
        tls_cipher=m["tls_cipher"], outcome=outcome, reason=m["reason"],
        rejection=(Rejection(m["reject_result"], m["reject_source"], m["reject_reason"])
                   if outcome is AssociationOutcome.REJECTED else None),
        contexts=tuple(AcceptedContext(**c) for c in json.loads(m["contexts"])),
        requests=m["requests"], failures=m["failures"],
        statuses=tuple(StatusRecord(**s) for s in json.loads(m["statuses"])),
        job_ids=tuple(json.loads(m["job_ids"])))


def _conditions(where: AssociationFilter) -> list[Any]:
    c = associations.c
    conditions: list[Any] = []
    if where.calling_ae:
        conditions.append(c.calling_ae == where.calling_ae)
    if where.peer_host:
        conditions.append(c.peer_host == where.peer_host)
    if where.outcomes:
        conditions.append(c.outcome.in_([o.value for o in where.outcomes]))
    if where.failures_only:
        conditions.append(c.failures > 0)
    if where.since is not None:
        conditions.append(c.started_at >= stamp(where.since))
    if where.until is not None:
        conditions.append(c.started_at < stamp(where.until))
    return conditions


_INSERT = associations.insert()
_GET = select(associations).where(associations.c.id == bindparam("id"))


class AssociationLog:
    """The association records in the job store's database.

    Every method commits before it returns; a database failure raises
    :class:`~printserver.jobs.errors.JobStoreError`.
    """

    def __init__(self, database: Database) -> None:
        self.db = database

    def add(self, records: Sequence[AssociationRecord]) -> None:
        """Store ``records`` in one transaction."""
        if records:
            with self.db.write(f"recording {len(records)} association(s)") as connection:
                connection.execute(_INSERT, [_row(r) for r in records])

    def get(self, record_id: int) -> AssociationRecord | None:
        """One record by its id, or None."""
        with self.db.read(f"reading association {record_id}") as connection:
            row = connection.execute(_GET, {"id": record_id}).first()
        return _record(row) if row is not None else None

    def page(self, where: AssociationFilter | None = None, limit: int = 50,
             cursor: str | None = None) -> AssociationPage:
        """One page of the records ``where`` selects, newest first; keyset pagination on
        (started_at, id): pass the page's ``next_cursor`` for the next one.

        Raises
        ------
        ValueError
            ``limit`` outside 1 … :data:`MAX_PAGE`, or a ``cursor`` that is not one a page gave.
        """
        cursors.check_limit(limit, MAX_PAGE)
        c = associations.c
        query = select(associations).where(*_conditions(where or AssociationFilter()))
        if cursor is not None:
            query = query.where(tuple_(c.started_at, c.id) < tuple_(
                *cursors.decode(cursor, (str, int))))
        query = query.order_by(c.started_at.desc(), c.id.desc()).limit(limit + 1)
        with self.db.read("listing associations") as connection:
            rows = [_record(r) for r in connection.execute(query)]
        page = rows[:limit]
        last = page[-1] if page else None
        return AssociationPage(page, cursors.encode(last.started_at, last.id)
                               if last is not None and len(rows) > limit else None)

    def purge(self, before: datetime) -> int:
        """Delete the records of associations started before ``before``; how many."""
        with self.db.write("purging association records") as connection:
            return connection.execute(delete(associations).where(
                associations.c.started_at < stamp(before))).rowcount
