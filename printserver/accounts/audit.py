"""The audit log: who did what, when, from which address, and how it ended.

Every sign-in and failed sign-in, every change of a user or an API token, every admin action and
every view or download of a job's films (patient data) leaves one record. The accounts' services
write theirs in the transaction of the change they record (:meth:`AuditLog.insert`), so that a
change is never without its record; other callers use :meth:`AuditLog.record`.

Listing (:meth:`AuditLog.page`) is newest first with keyset pagination on (at, id), filtered by
user, action, address, outcome and time, each filter served by an index of revision 0003.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from sqlalchemy import Connection, Row, select, tuple_

from printserver.accounts.model import (Actor, AuditFilter, AuditPage, AuditRecord, Clock,
                                        Outcome, utc_now)
from printserver.accounts.schema import audit_log
from printserver.errors import ParameterError
from printserver.jobs.database import Database
from printserver.jobs.schema import stamp

#: the most records one page returns
MAX_PAGE = 500
#: longest text kept per field (longer is cut): the log is not a place for uploads
MAX_FIELD = {"user_name": 200, "action": 100, "target": 500, "address": 100, "detail": 2000}


def _cursor(record: AuditRecord) -> str:
    text = json.dumps([record.at, record.id], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _cursor_key(cursor: str) -> tuple[str, int]:
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except (binascii.Error, UnicodeDecodeError, ValueError):
        key = None
    if not (isinstance(key, list) and len(key) == 2 and isinstance(key[0], str)
            and type(key[1]) is int):
        raise ParameterError("cursor", f"{cursor[:40]!r} is not one an audit page gave: start "
                                       "again without a cursor")
    return key[0], key[1]


def _record(row: Row) -> AuditRecord:
    return AuditRecord(id=row.id, at=row.at, user=row.user_name, action=row.action,
                       target=row.target, address=row.address, outcome=Outcome(row.outcome),
                       detail=row.detail)


class AuditLog:
    """The audit log in the job store's database.

    Parameters
    ----------
    database
    clock
        Where the time of a record comes from.
    """

    def __init__(self, database: Database, clock: Clock = utc_now) -> None:
        self.db = database
        self.clock = clock

    def values(self, actor: Actor | str, action: str, target: str = "",
               outcome: Outcome | str = Outcome.SUCCESS, detail: str = "",
               address: str | None = None) -> dict[str, Any]:
        """The row of one record (fields cut to :data:`MAX_FIELD`)."""
        if isinstance(actor, Actor):
            user, where = actor.name, actor.address
        else:
            user, where = actor, ""
        row = {"at": stamp(self.clock()), "user_name": user, "action": action,
               "target": target, "address": address if address is not None else where,
               "outcome": Outcome(outcome).value, "detail": detail}
        for name, limit in MAX_FIELD.items():
            row[name] = str(row[name])[:limit]
        return row

    def insert(self, connection: Connection, actor: Actor | str, action: str, target: str = "",
               outcome: Outcome | str = Outcome.SUCCESS, detail: str = "") -> None:
        """Write one record on ``connection``, in its transaction (the services' changes)."""
        connection.execute(audit_log.insert(), self.values(actor, action, target, outcome, detail))

    def record(self, actor: Actor | str, action: str, target: str = "",
               outcome: Outcome | str = Outcome.SUCCESS, detail: str = "",
               address: str | None = None) -> None:
        """Write one record now, in a transaction of its own.

        Parameters
        ----------
        actor
            Who (with the address), or a user name alone.
        action
            What: ``job.cancel``, ``film.download`` … (``<object>.<verb>``; ``sign-in`` …).
        target
            What it was done to: a job id, a printer's AE title, a user name.
        outcome
            :class:`Outcome` or its value.
        detail
            Anything else worth keeping (never a password or a token).
        address
            The client's address, when ``actor`` is a name alone.
        """
        row = self.values(actor, action, target, outcome, detail, address)
        with self.db.write(f"audit record {action} not written") as connection:
            connection.execute(audit_log.insert(), row)

    def page(self, where: AuditFilter | None = None, limit: int = 50,
             cursor: str | None = None) -> AuditPage:
        """One page of records, newest first; ``cursor`` is the previous page's ``next_cursor``.

        Raises
        ------
        ParameterError
            ``limit`` outside 1 … :data:`MAX_PAGE`, a malformed cursor, a time without a zone.
        """
        if not 1 <= limit <= MAX_PAGE:
            raise ParameterError("limit", f"must be 1 … {MAX_PAGE}, got {limit}")
        where = where or AuditFilter()
        query = select(audit_log)
        for column, value in ((audit_log.c.user_name, where.user),
                              (audit_log.c.action, where.action),
                              (audit_log.c.address, where.address),
                              (audit_log.c.outcome, where.outcome)):
            if value:
                query = query.where(column == value)
        for bound, value in (("since", where.since), ("until", where.until)):
            if value is None:
                continue
            if value.tzinfo is None:
                raise ParameterError(bound, "a time needs its time zone")
            query = query.where(audit_log.c.at >= stamp(value) if bound == "since"
                                else audit_log.c.at < stamp(value))
        if cursor:
            query = query.where(tuple_(audit_log.c.at, audit_log.c.id) < tuple_(*_cursor_key(cursor)))
        query = query.order_by(audit_log.c.at.desc(), audit_log.c.id.desc()).limit(limit + 1)
        with self.db.read("reading the audit log") as connection:
            rows = connection.execute(query).all()
        records = tuple(_record(r) for r in rows[:limit])
        return AuditPage(records, _cursor(records[-1]) if len(rows) > limit else None)

    def failures_since(self, action: str, since: str, limit: int, *, user: str = "",
                       address: str = "") -> list[str]:
        """Times (newest first, at most ``limit``) of the failed ``action`` records at or after
        ``since`` by ``user`` or from ``address`` (one of them): what the sign-in throttle counts."""
        column, value = ((audit_log.c.user_name, user) if user else (audit_log.c.address, address))
        query = (select(audit_log.c.at)
                 .where(column == value, audit_log.c.at >= since, audit_log.c.action == action,
                        audit_log.c.outcome == Outcome.FAILURE.value)
                 .order_by(audit_log.c.at.desc()).limit(limit))
        with self.db.read("reading the audit log") as connection:
            return list(connection.execute(query).scalars())
