"""The job store: the durable table of print jobs that the SCP, the workers, the CLI and the web use.

One implementation over SQLAlchemy Core (:mod:`printserver.jobs.schema`) for both backends; what
differs between SQLite (the default, one node) and PostgreSQL (one queue shared by several
``printserver serve`` nodes) is in :class:`printserver.jobs.database.Database`. Every method
commits before it returns, and every failure of the database leaves as :class:`JobStoreError`.

Every transition of a job writes a row of its timeline (:meth:`JobStore.timeline`) in the same
transaction. Operator actions take an optional ``actor`` (who did it), recorded there.

Nodes: every serve that runs workers is a *node* with an id (:func:`node_id`) and a lease in the
store (:meth:`JobStore.heartbeat`, renewed every few seconds, timed by the database's clock). Its
workers' ids start with the node id (``<node id>/w1.1``), so that the node holding a claimed job
is known. When a node's lease expires (it died, or stalled longer than the lease), any live node
puts its jobs back in the queue (:meth:`JobStore.requeue_orphaned`).

The schema is not created here: :func:`open_job_store` refuses a database that ``printserver db
upgrade`` (:mod:`printserver.jobs.migrate`) has not brought to the head revision.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import (Connection, Row, Select, Text, Update, and_, bindparam, case, cast, delete,
                        func, or_, select, tuple_, union_all, update)

from printserver.config import Config
from printserver.jobs import cursors, migrate
from printserver.jobs.association_log import AssociationLog
from printserver.jobs.database import Database
from printserver.jobs.errors import ClaimLostError, DuplicateJobError, JobStateError, JobStoreError
from printserver.jobs.model import (FilmRecord, Job, JobEvent, JobEventKind, JobFilter, JobOverview,
                                    JobPage, JobState, PrinterEvent, PrinterEventKind,
                                    PrinterEventPage, PrinterState)
from printserver.jobs.schema import (films, job_events, jobs, nodes, printer_events, printers,
                                     stamp)
from printserver.jobs.schema import now as _now

__all__ = ["ClaimLostError", "DuplicateJobError", "JobStateError", "JobStore", "JobStoreError",
           "node_id", "node_of", "open_job_store"]

#: the most jobs one :meth:`JobStore.page` returns
MAX_PAGE = 1000

_QUEUED, _RENDERING, _PRINTING = JobState.QUEUED, JobState.RENDERING, JobState.PRINTING
_ACTIVE = (_RENDERING.value, _PRINTING.value)
_FINISHED = (JobState.DONE.value, JobState.FAILED.value, JobState.CANCELLED.value)
_UNFINISHED = (_QUEUED.value, *_ACTIVE)

#: the timeline row of each way a worker finishes a job
_FINISH_EVENTS = {JobState.DONE: JobEventKind.DONE, JobState.FAILED: JobEventKind.FAILED,
                  JobState.CANCELLED: JobEventKind.CANCELLED}

_FILM_FIELDS = [f.name for f in dataclasses.fields(FilmRecord)]
_PDF_FILES, _WARNINGS = _FILM_FIELDS.index("pdf_files"), _FILM_FIELDS.index("warnings")

# -- statements built once (SQLAlchemy caches their compiled form) --------------------------------
_GET = select(jobs).where(jobs.c.job_id == bindparam("id"))
_GET_BY_UID = select(jobs).where(jobs.c.print_job_uid == bindparam("uid"))
_INSERT_JOB = jobs.insert()
_INSERT_EVENT = job_events.insert()
_PRINTER = select(printers).where(printers.c.ae_title == bindparam("ae"))
_PRINTERS_OF = select(printers).where(printers.c.ae_title.in_(bindparam("titles", expanding=True)))
_INSERT_PRINTER_EVENT = printer_events.insert()
_QUEUE_LENGTHS = (select(jobs.c.printer, func.count()).where(jobs.c.state.in_(_UNFINISHED))
                  .group_by(jobs.c.printer))
_FILMS = select(films).where(films.c.job_id == bindparam("id")).order_by(films.c.film)
_FILMS_OF = (select(films).where(films.c.job_id.in_(bindparam("ids", expanding=True)))
             .order_by(films.c.job_id, films.c.film))
_JOB_STATE = select(jobs.c.state, jobs.c.purged_at, jobs.c.message).where(
    jobs.c.job_id == bindparam("id"))
#: the newest jobs (the dashboard's list)
_NEWEST = (select(jobs).order_by(jobs.c.created_at.desc(), jobs.c.job_id.desc())
           .limit(bindparam("limit")))


def _counts_since(column: str, count: int) -> Any:
    """One statement counting, for each of ``:v0`` … ``:v<count-1>``, the jobs whose ``column``
    has it and that were created since ``:since``: rows (value, count), each part one range of
    the index on (``column``, created_at)."""
    return union_all(*(select(cast(bindparam(f"v{i}", type_=Text), Text), func.count())
                       .where(jobs.c[column] == bindparam(f"v{i}"),
                              jobs.c.created_at >= bindparam("since"))
                       for i in range(count)))


def _last_failed(count: int) -> Any:
    """One statement giving the newest FAILED job (by creation) of each of the printers ``:v0``
    … ``:v<count-1>``, each part one lookup in jobs_printer_state."""
    return union_all(*(select(select(jobs).where(jobs.c.printer == bindparam(f"v{i}"),
                                                 jobs.c.state == JobState.FAILED.value)
                              .order_by(jobs.c.created_at.desc(), jobs.c.job_id.desc())
                              .limit(1).subquery())
                       for i in range(count)))


#: a PRINTING job no worker holds whose delivery is due to be asked about
_DUE_PRINTING = and_(jobs.c.state == _PRINTING.value, jobs.c.claimed_by == "",
                     jobs.c.retry_at <= bindparam("at"))
#: a QUEUED job a worker may take now: due, and its printer not paused
_CLAIMABLE_QUEUED = and_(jobs.c.state == _QUEUED.value, jobs.c.retry_at <= bindparam("at"),
                         jobs.c.printer.not_in(select(printers.c.ae_title)
                                               .where(printers.c.paused == 1)))
#: Print Priority (2000,0020) order of claiming: HIGH, then MED, then LOW; oldest first
_PRIORITY = case((jobs.c.print_priority == "HIGH", 0), (jobs.c.print_priority == "LOW", 2), else_=1)
_ANY_CLAIMABLE = select(jobs.c.job_id).where(or_(_DUE_PRINTING, _CLAIMABLE_QUEUED)).limit(1)
_PICK_PRINTING = (select(jobs.c.job_id).where(_DUE_PRINTING)
                  .order_by(jobs.c.retry_at, jobs.c.job_id).limit(1))
_PICK_QUEUED = (select(jobs.c.job_id).where(_CLAIMABLE_QUEUED)
                .order_by(_PRIORITY, jobs.c.created_at, jobs.c.job_id).limit(1))


def _take(pick: Select, values: dict[str, Any]) -> Update:
    """UPDATE the job ``pick`` selects to claimed by ``:worker`` at ``:claimed``, plus ``values``;
    RETURNING the job."""
    return (update(jobs).where(jobs.c.job_id == pick.correlate(None).scalar_subquery())
            .values(claimed_by=bindparam("worker"), claimed_at=bindparam("claimed"),
                    updated_at=bindparam("claimed"), **values)
            .returning(*jobs.c))


def node_id() -> str:
    """A new id for this process as a node: host, process id and start time (UTC)."""
    return (f"{socket.gethostname()}:{os.getpid()}:"
            f"{datetime.now(timezone.utc):%Y%m%dT%H%M%S.%f}")


def node_of(worker_id: str) -> str:
    """The node a worker id belongs to (``<node id>/<worker>``)."""
    return worker_id.split("/", 1)[0]


# -- rows ↔ records ------------------------------------------------------------------------------
#: :class:`Job`'s fields are the ``jobs`` table's columns in the same order (a test checks), so
#: a row becomes a job positionally, without a dict per row (listings make many)
_STATE, _CANCEL = (list(jobs.c.keys()).index(name) for name in ("state", "cancel_requested"))
_JOB_WIDTH = len(jobs.c)


def _job(row: Row) -> Job:
    values = list(row)
    values[_STATE] = JobState(values[_STATE])
    values[_CANCEL] = bool(values[_CANCEL])
    return Job(*values)


def _printer(row: Row) -> PrinterState:
    values = dict(row._mapping)
    values["paused"] = bool(values["paused"])
    return PrinterState(**values)


def _shown(state: PrinterState) -> tuple[bool, str, str, str]:
    """What a printer's status history shows of its stored state."""
    return state.paused, state.output_status, state.output_status_info, state.message


def _printer_event(row: Row) -> PrinterEvent:
    values = dict(row._mapping)
    values["event"] = PrinterEventKind(values["event"])
    values["paused"] = bool(values["paused"])
    return PrinterEvent(**values)


def _film_row(film: FilmRecord) -> dict[str, Any]:
    values = dataclasses.asdict(film)
    values["pdf_files"] = json.dumps(list(film.pdf_files))
    values["warnings"] = json.dumps(list(film.warnings))
    return values


def _film(row: Row) -> FilmRecord:
    values = list(row[:len(_FILM_FIELDS)])  # the columns in the order of the fields (a test checks)
    values[_PDF_FILES] = tuple(json.loads(values[_PDF_FILES]))
    values[_WARNINGS] = tuple(json.loads(values[_WARNINGS]))
    return FilmRecord(*values)


def _event(row: Row) -> JobEvent:
    return JobEvent(job_id=row.job_id, at=row.at, event=JobEventKind(row.event),
                    state=JobState(row.state), actor=row.actor, message=row.message)


# -- listing cursors -----------------------------------------------------------------------------
def _cursor(job: Job) -> str:
    """The opaque cursor after ``job``: its (created_at, job_id)."""
    return cursors.encode(job.created_at, job.job_id)


def _cursor_key(cursor: str) -> tuple[str, str]:
    """(created_at, job_id) of a cursor :func:`_cursor` made; ValueError for anything else."""
    created_at, job_id = cursors.decode(cursor, (str, str))
    return created_at, job_id


def _like(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, its wildcards escaped (ESCAPE '/')."""
    return "%" + text.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"


def _page_values(where: JobFilter, cursor: str | None) -> dict[str, Any]:
    """The values a page's statement binds, by name; which names there are is the statement's
    shape (:func:`_page_statement`)."""
    values: dict[str, Any] = {f"state{i}": s.value for i, s in enumerate(where.states)}
    for name in ("printer", "calling_ae"):
        if getattr(where, name):
            values[name] = getattr(where, name)
    for name in ("since", "until"):
        if getattr(where, name) is not None:
            values[name] = stamp(getattr(where, name))
    if where.text:
        values["text"] = _like(where.text)
    if cursor is not None:
        values["after_at"], values["after_id"] = _cursor_key(cursor)
    return values


def _page_statement(names: tuple[str, ...], oldest_first: bool) -> Select:
    """The statement of a page of jobs binding ``names`` (:func:`_page_values`) and ``:limit``:
    the jobs (an index range, ``limit`` of them) joined to their films."""
    c = jobs.c
    conditions: list[Any] = []
    states = [bindparam(n) for n in names if n.startswith("state")]
    if states:
        conditions.append(c.state.in_(states))
    for name in ("printer", "calling_ae"):
        if name in names:
            conditions.append(c[name] == bindparam(name))
    if "since" in names:
        conditions.append(c.created_at >= bindparam("since"))
    if "until" in names:
        conditions.append(c.created_at < bindparam("until"))
    if "text" in names:
        conditions.append(or_(c.film_session_label.ilike(bindparam("text"), escape="/"),
                              c.job_id.ilike(bindparam("text"), escape="/")))
    if "after_at" in names:
        key, after = tuple_(c.created_at, c.job_id), tuple_(bindparam("after_at"),
                                                            bindparam("after_id"))
        conditions.append(key > after if oldest_first else key < after)
    order = ((c.created_at, c.job_id) if oldest_first
             else (c.created_at.desc(), c.job_id.desc()))
    chosen = (select(jobs).where(*conditions).order_by(*order).limit(bindparam("limit"))
              .subquery("page"))
    key = (chosen.c.created_at, chosen.c.job_id)
    return (select(chosen, films)
            .select_from(chosen.outerjoin(films, films.c.job_id == chosen.c.job_id))
            .order_by(*(key if oldest_first else (k.desc() for k in key)), films.c.film))


class JobStore:
    """Durable table of print jobs over a :class:`Database`. Every method commits before it
    returns; every database failure raises :class:`JobStoreError`.

    Open it with :func:`open_job_store`; :meth:`close` (or ``with``) releases its connections.

    Attributes
    ----------
    associations : AssociationLog
        The Print SCP's association records, in the same database.
    """

    def __init__(self, database: Database) -> None:
        self.db = database
        self.associations = AssociationLog(database)
        #: several nodes may share this store (False: one serve at a time, e.g. an SQLite file)
        self.shared = database.shared
        # a claim is one UPDATE of the row its subquery picks (and, on PostgreSQL, locks)
        self._take_printing = _take(database.claim(_PICK_PRINTING), {})
        self._take_queued = _take(database.claim(_PICK_QUEUED), {
            "state": _RENDERING.value, "attempts": jobs.c.attempts + 1, "retry_at": ""})
        self._locked_state = database.lock(_JOB_STATE)
        self._locked_printer = database.lock(_PRINTER)
        #: statements whose shape depends on the configuration (:meth:`_built`)
        self._statements: dict[tuple, Any] = {}

    @property
    def url(self) -> str:
        """The database's URL, to open the same store elsewhere (another process)."""
        return self.db.url

    # -- one transition: its UPDATE, its timeline row --------------------------------------------
    @staticmethod
    def _record(connection: Connection, job_id: str, at: str, event: JobEventKind,
                state: JobState, actor: str = "", message: str = "") -> None:
        connection.execute(_INSERT_EVENT, {"job_id": job_id, "at": at, "event": event.value,
                                           "state": state.value, "actor": actor,
                                           "message": message[:500]})

    @staticmethod
    def _update(connection: Connection, job_id: str, values: dict[str, Any],
                *conditions: Any) -> Job | None:
        """UPDATE one job where ``conditions`` hold; the job as updated, or None."""
        row = connection.execute(update(jobs).where(jobs.c.job_id == job_id, *conditions)
                                 .values(**values).returning(*jobs.c)).first()
        return _job(row) if row is not None else None

    def _held(self, connection: Connection, job_id: str, worker_id: str, states: Sequence[str],
              what: str, values: dict[str, Any]) -> Job:
        """UPDATE a job held by ``worker_id`` in one of ``states``; else :class:`ClaimLostError`."""
        job = self._update(connection, job_id, values, jobs.c.claimed_by == worker_id,
                           jobs.c.state.in_(states))
        if job is None:
            raise ClaimLostError(f"job {job_id} is no longer held by worker {worker_id}; "
                                 f"not recorded {what}")
        return job

    @staticmethod
    def _replace_films(connection: Connection, job_id: str, records: Sequence[FilmRecord]) -> None:
        connection.execute(delete(films).where(films.c.job_id == job_id))
        if records:
            connection.execute(films.insert(), [_film_row(f) for f in records])

    # -- jobs ------------------------------------------------------------------------------------
    def add(self, job: Job, actor: str = "") -> None:
        """Insert a new job; durable when this returns. Timeline: accepted, by ``actor`` (default:
        the job's calling AE title).

        Raises :class:`DuplicateJobError` for a job id or Print Job UID already stored,
        :class:`JobStoreError` when the database fails."""
        values = {**job.to_dict(), "cancel_requested": int(job.cancel_requested)}
        with self.db.write(f"job {job.job_id} not stored", DuplicateJobError) as connection:
            connection.execute(_INSERT_JOB, values)
            self._record(connection, job.job_id, _now(), JobEventKind.ACCEPTED, job.state,
                         actor or job.calling_ae, job.message)

    def get(self, job_id: str) -> Job | None:
        """The job with this id, or None."""
        with self.db.read(f"reading job {job_id}") as connection:
            row = connection.execute(_GET, {"id": job_id}).first()
        return _job(row) if row is not None else None

    def _get(self, job_id: str) -> Job:
        job = self.get(job_id)
        if job is None:
            raise KeyError(job_id)
        return job

    def get_by_uid(self, print_job_uid: str) -> Job | None:
        """The job with this Print Job SOP Instance UID, or None."""
        with self.db.read("reading a job by its Print Job UID") as connection:
            row = connection.execute(_GET_BY_UID, {"uid": print_job_uid}).first()
        return _job(row) if row is not None else None

    def list(self, states: Iterable[JobState | str] | None = None,
             limit: int | None = None) -> list[Job]:
        """Jobs, oldest first, optionally only those in ``states`` (ValueError for a name that is
        not a state)."""
        query = select(jobs).order_by(jobs.c.created_at, jobs.c.job_id)
        if states is not None:
            values = [JobState(s).value for s in states]
            if not values:
                return []
            query = query.where(jobs.c.state.in_(values))
        if limit is not None:
            query = query.limit(int(limit))
        with self.db.read("listing jobs") as connection:
            return [_job(r) for r in connection.execute(query)]

    def page(self, where: JobFilter | None = None, limit: int = 50,
             cursor: str | None = None, oldest_first: bool = False) -> JobPage:
        """One page of the jobs ``where`` selects, newest first (``oldest_first``: oldest first),
        with their films.

        Keyset pagination on (created_at, job_id): pass the page's ``next_cursor`` for the next
        one; pages stay consistent while jobs are added. One statement: the page's jobs (an
        index range) joined to their films.

        Raises
        ------
        ValueError
            ``limit`` outside 1 … :data:`MAX_PAGE`, or a ``cursor`` that is not one a page gave.
        """
        cursors.check_limit(limit, MAX_PAGE)
        values = _page_values(where or JobFilter(), cursor)
        joined = self._built(_page_statement, tuple(sorted(values)), oldest_first)
        rows: list[Job] = []
        records: dict[str, list[FilmRecord]] = {}
        with self.db.read("listing jobs") as connection:  # one statement: one snapshot
            for row in connection.execute(joined, {**values, "limit": limit + 1}):
                job_id = row[0]
                if not rows or rows[-1].job_id != job_id:
                    rows.append(_job(row[:_JOB_WIDTH]))
                    records[job_id] = []
                if row[_JOB_WIDTH] is not None:  # the film's job_id: NULL for a job without
                    records[job_id].append(_film(row[_JOB_WIDTH:]))
        page = rows[:limit]
        if len(rows) > limit:
            records.pop(rows[-1].job_id, None)
        return JobPage(page, records, _cursor(page[-1]) if len(rows) > limit else None)

    def claim_next(self, worker_id: str, now: datetime | None = None) -> Job | None:
        """Atomically claim the next job for ``worker_id`` and return it, or None.

        First a PRINTING job whose delivery is due to be asked about (not held by a worker,
        ``retry_at`` <= now): it stays PRINTING, ``claimed_by`` = ``worker_id`` (no timeline row:
        this repeats until the delivery ends). Else the next QUEUED job whose ``retry_at`` is not
        in the future and whose printer is not paused: it moves to RENDERING with ``attempts`` + 1,
        ``claimed_by`` = ``worker_id`` and ``claimed_at`` = now (timeline: claimed). Order: Print
        Priority HIGH, then MED, then LOW; within a priority the oldest job first. A job is claimed
        by exactly one worker, also across processes and nodes.
        """
        at = stamp(now) if now is not None else _now()
        with self.db.read("looking for queued jobs") as connection:  # an idle worker only reads
            if connection.execute(_ANY_CLAIMABLE, {"at": at}).first() is None:
                return None
        with self.db.write("claiming a job") as connection:
            claim = {"at": at, "worker": worker_id, "claimed": _now()}
            row = connection.execute(self._take_printing, claim).first()
            if row is not None:  # follow a delivery: no new attempt, no timeline row
                return _job(row)
            row = connection.execute(self._take_queued, claim).first()
            if row is None:
                return None
            job = _job(row)
            self._record(connection, job.job_id, claim["claimed"], JobEventKind.CLAIMED,
                         job.state, worker_id, f"attempt {job.attempts}")
            return job

    def start_printing(self, job_id: str, worker_id: str, references: Sequence[str],
                       films: Sequence[FilmRecord], follow_at: datetime, message: str) -> Job:
        """RENDERING → PRINTING: the output accepted the job as ``references`` (e.g. CUPS job ids).

        The films are recorded, the worker lets go of the job (``claimed_by`` empty) and a worker
        asks the output about it again at ``follow_at``. Timeline: printing, with the references.
        Raises :class:`ClaimLostError`.
        """
        refs = " ".join(references)
        with self.db.write(f"recording job {job_id} PRINTING") as connection:
            at = _now()
            job = self._held(connection, job_id, worker_id, (_RENDERING.value,), "PRINTING", {
                "state": _PRINTING.value, "output_ref": refs, "printing_at": at,
                "claimed_by": "", "retry_at": stamp(follow_at), "message": message,
                "updated_at": at})
            self._replace_films(connection, job_id, films)
            self._record(connection, job_id, at, JobEventKind.PRINTING, job.state, worker_id,
                         f"output references: {refs or '(none)'}" + (f"; {message}" if message
                                                                     else ""))
        return job

    def keep_printing(self, job_id: str, worker_id: str, follow_at: datetime,
                      message: str) -> Job:
        """A PRINTING job the worker asked about is not finished: let go of it until ``follow_at``
        (no timeline row: this repeats every few seconds)."""
        with self.db.write(f"recording job {job_id} still PRINTING") as connection:
            return self._held(connection, job_id, worker_id, (_PRINTING.value,), "still PRINTING",
                              {"claimed_by": "", "retry_at": stamp(follow_at),
                               "message": message, "updated_at": _now()})

    def postpone(self, job_id: str, worker_id: str, retry_at: datetime, message: str) -> Job:
        """RENDERING → QUEUED because the output is unavailable: ``retries`` + 1, not claimed
        before ``retry_at``. Timeline: waiting. Raises :class:`ClaimLostError`."""
        with self.db.write(f"putting job {job_id} back to waiting") as connection:
            at = _now()
            job = self._held(connection, job_id, worker_id, (_RENDERING.value,), "waiting", {
                "state": _QUEUED.value, "retries": jobs.c.retries + 1,
                "retry_at": stamp(retry_at), "claimed_by": "", "message": message,
                "updated_at": at})
            self._record(connection, job_id, at, JobEventKind.WAITING, job.state, worker_id,
                         message)
        return job

    def cancelled(self, job_id: str, worker_id: str, message: str) -> Job:
        """Record a held job CANCELLED (after an operator's request); its films are kept."""
        return self._finish(job_id, worker_id, JobState.CANCELLED, message, None)

    def request_cancel(self, job_id: str, actor: str = "") -> Job:
        """Cancel a job: a QUEUED job at once (CANCELLED); a RENDERING or PRINTING job gets
        ``cancel_requested`` and its worker cancels it at its next step. Timeline: cancelled or
        cancel requested, by ``actor``.

        Raises KeyError for an unknown job, :class:`JobStateError` for a finished one.
        """
        with self.db.write(f"cancelling job {job_id}") as connection:
            row = connection.execute(self._locked_state, {"id": job_id}).first()
            if row is None:
                raise KeyError(job_id)
            at = _now()
            if row.state == _QUEUED.value:
                job = self._update(connection, job_id, {
                    "state": JobState.CANCELLED.value,
                    "message": "cancelled by an operator while waiting",
                    "finished_at": at, "updated_at": at, "retry_at": ""})
                event = JobEventKind.CANCELLED
            elif row.state in _ACTIVE:  # a PRINTING job is asked about at once
                job = self._update(connection, job_id, {
                    "cancel_requested": 1, "updated_at": at,
                    "retry_at": case((jobs.c.state == _PRINTING.value, ""),
                                     else_=jobs.c.retry_at)})
                event = JobEventKind.CANCEL_REQUESTED
            else:
                raise JobStateError(f"job {job_id} is {row.state}: nothing to cancel")
            assert job is not None  # the row is locked
            self._record(connection, job_id, at, event, job.state, actor)
        return job

    def retry(self, job_id: str, actor: str = "") -> Job:
        """FAILED or CANCELLED → QUEUED, attempts and retries reset, films forgotten. Timeline:
        retried, by ``actor``.

        Raises KeyError, or :class:`JobStateError` when the job is not FAILED / CANCELLED or was
        purged."""
        with self.db.write(f"retrying job {job_id}") as connection:
            row = connection.execute(self._locked_state, {"id": job_id}).first()
            if row is None:
                raise KeyError(job_id)
            if row.state not in (JobState.FAILED.value, JobState.CANCELLED.value):
                raise JobStateError(f"job {job_id} is {row.state}: only a FAILED or CANCELLED job "
                                    "can be retried")
            if row.purged_at:
                raise JobStateError(f"job {job_id} was purged at {row.purged_at}: its films are "
                                    "gone")
            at = _now()
            message = f"retried by an operator (was {row.state}: {row.message})"[:500]
            job = self._update(connection, job_id, {
                "state": _QUEUED.value, "attempts": 0, "retries": 0, "retry_at": "",
                "output_ref": "", "printing_at": "", "cancel_requested": 0, "claimed_by": "",
                "claimed_at": "", "finished_at": "", "message": message, "updated_at": at})
            assert job is not None  # the row is locked
            connection.execute(delete(films).where(films.c.job_id == job_id))
            self._record(connection, job_id, at, JobEventKind.RETRIED, job.state, actor,
                         f"was {row.state}")
        return job

    def finished_before(self, cutoff: datetime) -> list[Job]:
        """DONE / FAILED / CANCELLED jobs not yet purged that finished before ``cutoff``."""
        query = (select(jobs).where(jobs.c.state.in_(_FINISHED), jobs.c.purged_at == "",
                                    jobs.c.finished_at != "", jobs.c.finished_at < stamp(cutoff))
                 .order_by(jobs.c.finished_at))
        with self.db.read("listing finished jobs") as connection:
            return [_job(r) for r in connection.execute(query)]

    def mark_purged(self, job_id: str, actor: str = "") -> bool:
        """Record the job purged, only if it is finished and not purged yet; True if recorded.
        Timeline: purged, by ``actor``.

        Retention removes files only after this returned True, so that a job an operator just
        retried is never touched."""
        with self.db.write(f"marking job {job_id} purged") as connection:
            at = _now()
            job = self._update(connection, job_id, {"purged_at": at, "updated_at": at},
                               jobs.c.state.in_(_FINISHED), jobs.c.purged_at == "")
            if job is not None:
                self._record(connection, job_id, at, JobEventKind.PURGED, job.state, actor)
        return job is not None

    # -- printers --------------------------------------------------------------------------------
    def printer_state(self, ae_title: str) -> PrinterState:
        """The stored state of a printer (defaults for a printer never recorded)."""
        with self.db.read(f"reading printer {ae_title}") as connection:
            row = connection.execute(_PRINTER, {"ae": ae_title}).first()
        return _printer(row) if row is not None else PrinterState(ae_title)

    def printer_states(self) -> list[PrinterState]:
        """Every recorded printer state."""
        with self.db.read("reading printers") as connection:
            return [_printer(r) for r in connection.execute(
                select(printers).order_by(printers.c.ae_title))]

    def _change_printer(self, work: str, ae_title: str, values: dict[str, Any],
                        event: PrinterEventKind, actor: str = "") -> PrinterState:
        """Insert or update a printer's row with ``values`` and, when that changed what its
        status history shows (the output status, or paused), add the ``event`` row to the
        history, in the same transaction; nothing is written when nothing would change."""
        upsert = self.db.insert(printers).values(ae_title=ae_title, **values)
        upsert = upsert.on_conflict_do_update(index_elements=[printers.c.ae_title], set_=values)
        with self.db.write(work) as connection:
            row = connection.execute(self._locked_printer, {"ae": ae_title}).first()
            before = _printer(row) if row is not None else PrinterState(ae_title)
            if all(getattr(before, name) == value for name, value in values.items()
                   if not name.endswith("_at")):
                return before
            after = _printer(connection.execute(upsert.returning(*printers.c)).one())
            if _shown(after) != _shown(before):
                connection.execute(_INSERT_PRINTER_EVENT, {
                    "ae_title": ae_title, "at": _now(), "event": event.value,
                    "paused": int(after.paused), "output_status": after.output_status,
                    "output_status_info": after.output_status_info, "message": after.message,
                    "actor": actor})
        return after

    def set_paused(self, ae_title: str, paused: bool, actor: str = "") -> PrinterState:
        """Pause (its queued jobs wait) or resume a printer; ``actor`` is kept as ``paused_by``.
        History: paused or resumed, by ``actor``, when the printer was not already so."""
        return self._change_printer(
            f"{'pausing' if paused else 'resuming'} printer {ae_title}", ae_title,
            {"paused": int(paused), "paused_at": _now() if paused else "",
             "paused_by": actor if paused else ""},
            PrinterEventKind.PAUSED if paused else PrinterEventKind.RESUMED, actor)

    def set_output_status(self, ae_title: str, status: str, status_info: str,
                          message: str = "", actor: str = "") -> PrinterState:
        """Record the state of a printer's output device (Printer Status / Status Info terms);
        nothing is written when it did not change. History: output, by ``actor`` (the worker or
        probe that saw it)."""
        current = self.printer_state(ae_title)
        if (current.output_status, current.output_status_info, current.message) == (
                status, status_info, message[:500]):
            return current  # the common case: one read, no write transaction
        return self._change_printer(f"recording the status of printer {ae_title}", ae_title, {
            "output_status": status, "output_status_info": status_info,
            "message": message[:500], "updated_at": _now()}, PrinterEventKind.OUTPUT, actor)

    def printer_history(self, ae_title: str, limit: int = 50,
                        cursor: str | None = None) -> PrinterEventPage:
        """A page of a printer's status history (pauses, resumes, output status changes), newest
        first; keyset pagination as :meth:`page`.

        Raises
        ------
        ValueError
            ``limit`` outside 1 … :data:`MAX_PAGE`, or a ``cursor`` that is not one a page gave.
        """
        cursors.check_limit(limit, MAX_PAGE)
        query = select(printer_events).where(printer_events.c.ae_title == ae_title)
        if cursor is not None:
            (last,) = cursors.decode(cursor, (int,))
            query = query.where(printer_events.c.id < last)
        query = query.order_by(printer_events.c.id.desc()).limit(limit + 1)
        with self.db.read(f"reading the status history of printer {ae_title}") as connection:
            rows = [_printer_event(r) for r in connection.execute(query)]
        page = rows[:limit]
        return PrinterEventPage(page, cursors.encode(page[-1].id) if len(rows) > limit else None)

    def queue_lengths(self) -> dict[str, int]:
        """Printer AE title → number of its unfinished jobs (QUEUED, RENDERING, PRINTING)."""
        with self.db.read("counting queued jobs") as connection:
            return {printer: int(count) for printer, count in connection.execute(_QUEUE_LENGTHS)}

    # -- the dashboard's counts ------------------------------------------------------------------
    def overview(self, printer_titles: Sequence[str], since: datetime,
                 recent: int = 10) -> JobOverview:
        """What the dashboard shows, in one snapshot and a handful of statements: the jobs
        created since ``since`` per state and per printer, every printer's queue length, the
        newest FAILED job and stored state of each of ``printer_titles``, the ``recent`` newest
        jobs.

        Each count is one range of an index, as small as the jobs it counts (a count over the
        whole history would read an entry per job ever printed); each printer's newest FAILED job
        one index lookup.
        """
        titles = list(printer_titles)
        states_of = [s.value for s in JobState]
        by_state = {"since": stamp(since), **{f"v{i}": v for i, v in enumerate(states_of)}}
        by_printer = {"since": stamp(since), **{f"v{i}": v for i, v in enumerate(titles)}}
        with self.db.read("reading the dashboard's counts", snapshot=True) as connection:
            states = {state: int(n) for state, n in connection.execute(
                self._built(_counts_since, "state", len(states_of)), by_state)}
            queues = {ae: int(n) for ae, n in connection.execute(_QUEUE_LENGTHS)}
            created, last_failed, stored = {}, {}, {}
            if titles:
                created = {ae: int(n) for ae, n in connection.execute(
                    self._built(_counts_since, "printer", len(titles)), by_printer)}
                last_failed = {job.printer: job for job in map(_job, connection.execute(
                    self._built(_last_failed, len(titles)), by_printer))}
                stored = {row.ae_title: _printer(row) for row in connection.execute(
                    _PRINTERS_OF, {"titles": titles})}
            newest = ([_job(r) for r in connection.execute(_NEWEST, {"limit": recent})]
                      if recent > 0 else [])
        return JobOverview(states, queues, created, last_failed,
                           {ae: stored.get(ae, PrinterState(ae)) for ae in titles}, newest)

    def _built(self, build: Any, *shape: Any) -> Any:
        """The statement ``build(*shape)``, built once per shape (building a union of a dozen
        SELECTs costs more than running it)."""
        key = (build, *shape)
        statement = self._statements.get(key)
        if statement is None:
            statement = self._statements[key] = build(*shape)
        return statement

    # -- workers that stopped, nodes -------------------------------------------------------------
    def requeue_stale(self, claimed_by: Iterable[str] | None = None,
                      max_attempts: int | None = None) -> list[Job]:
        """Put RENDERING jobs whose worker is gone back to QUEUED; return them. Timeline: requeued
        (or failed).

        A PRINTING job whose output already accepted it (``output_ref``) is never rendered again:
        it stays PRINTING and is let go, so that another worker follows its delivery (a job
        printed twice is worse than a job followed late).

        Parameters
        ----------
        claimed_by
            Only jobs claimed by these workers; None: every RENDERING / PRINTING job (at start-up of
            a single node, when no worker of a previous run can still be alive).
        max_attempts
            Jobs whose worker died this many times (claims not ended by an unavailable output)
            go to FAILED instead (a job that kills its worker must not do so forever).
        """
        query = select(jobs.c.job_id, jobs.c.state, jobs.c.attempts, jobs.c.retries,
                       jobs.c.claimed_by, jobs.c.output_ref).where(jobs.c.state.in_(_ACTIVE))
        if claimed_by is not None:
            workers = [*claimed_by]
            if not workers:
                return []
            query = query.where(jobs.c.claimed_by.in_(workers))
        query = self.db.lock(query.order_by(jobs.c.job_id))
        requeued: list[Job] = []
        with self.db.write("requeueing stale jobs") as connection:
            at = _now()
            for job_id, state, attempts, retries, worker, output_ref in connection.execute(
                    query).all():
                worker = worker or "unknown"
                if state == _PRINTING.value and output_ref:
                    if worker == "unknown":
                        continue  # no worker holds it: nothing to do
                    values = {"claimed_by": "", "retry_at": "", "updated_at": at}
                    event, message = JobEventKind.REQUEUED, (
                        f"worker {worker} stopped; another worker follows the delivery")
                elif max_attempts is not None and attempts - retries >= max_attempts:
                    message = (f"gave up after {attempts} attempts: the worker stopped while "
                               f"rendering (last {worker})")
                    values = {"state": JobState.FAILED.value, "message": message,
                              "updated_at": at, "finished_at": at}
                    event = JobEventKind.FAILED
                else:
                    message = f"requeued: worker {worker} stopped during attempt {attempts}"
                    values = {"state": _QUEUED.value, "message": message, "updated_at": at}
                    event = JobEventKind.REQUEUED
                job = self._update(connection, job_id, values)
                assert job is not None  # the row is locked
                self._record(connection, job_id, at, event, job.state, "", message)
                requeued.append(job)
        return requeued

    def requeue_orphaned(self, max_attempts: int | None = None) -> list[Job]:
        """Requeue the RENDERING / PRINTING jobs held by workers of nodes without a live lease.

        As :meth:`requeue_stale` for those workers (a PRINTING job is let go, not rendered again).
        Run by every live node every few seconds; two nodes doing it at once requeue each job once.
        """
        live = set(self.live_nodes())
        gone = {job.claimed_by for job in self.list([_RENDERING, _PRINTING])
                if job.claimed_by and node_of(job.claimed_by) not in live}
        return self.requeue_stale(sorted(gone), max_attempts) if gone else []

    def heartbeat(self, node_id: str, lease_seconds: float) -> bool:
        """Take or renew the lease of a node until now + ``lease_seconds`` (database clock).

        Returns True when the node held its lease without a break, False when it had none (first
        call) or it had expired: then its jobs may have been requeued, and the claim checks of
        :meth:`complete` and the like refuse what its workers still report about them.
        """
        with self.db.write(f"renewing the lease of node {node_id}") as connection:
            clock = self.db.clock(connection)
            at, until = stamp(clock), stamp(clock + timedelta(seconds=lease_seconds))
            renewed = connection.execute(
                update(nodes).where(nodes.c.node_id == node_id, nodes.c.expires_at > at)
                .values(renewed_at=at, expires_at=until))
            if renewed.rowcount == 1:
                return True
            lease = {"started_at": at, "renewed_at": at, "expires_at": until}
            connection.execute(self.db.insert(nodes).values(node_id=node_id, **lease)
                               .on_conflict_do_update(index_elements=[nodes.c.node_id],
                                                      set_=lease))
            return False

    def live_nodes(self) -> list[str]:
        """Ids of the nodes whose lease has not expired (expired leases are removed)."""
        with self.db.write("reading the nodes' leases") as connection:
            at = stamp(self.db.clock(connection))
            connection.execute(delete(nodes).where(nodes.c.expires_at <= at))
            return [*connection.execute(select(nodes.c.node_id).order_by(nodes.c.node_id))
                    .scalars()]

    def leave(self, node_id: str) -> None:
        """End a node's lease (at a clean stop, once its workers are stopped)."""
        with self.db.write(f"ending the lease of node {node_id}") as connection:
            connection.execute(delete(nodes).where(nodes.c.node_id == node_id))

    # -- finishing -------------------------------------------------------------------------------
    def _finish(self, job_id: str, worker_id: str, state: JobState, message: str,
                records: Sequence[FilmRecord] | None) -> Job:
        """Record a held job finished; ``records`` None keeps the films already recorded."""
        with self.db.write(f"recording job {job_id} {state.value}") as connection:
            at = _now()
            job = self._held(connection, job_id, worker_id, _ACTIVE, state.value, {
                "state": state.value, "message": message, "updated_at": at, "finished_at": at})
            if records is not None:
                self._replace_films(connection, job_id, records)
            self._record(connection, job_id, at, _FINISH_EVENTS[state], state, worker_id, message)
        return job

    def complete(self, job_id: str, worker_id: str, films: Sequence[FilmRecord],
                 message: str = "") -> Job:
        """Record the job DONE together with its films, in one transaction.

        Raises :class:`ClaimLostError` when the job is no longer RENDERING / PRINTING for
        ``worker_id`` (then nothing is recorded).
        """
        return self._finish(job_id, worker_id, JobState.DONE, message, films)

    def fail(self, job_id: str, worker_id: str, message: str) -> Job:
        """Record the job FAILED with a readable ``message`` (same claim check as complete)."""
        return self._finish(job_id, worker_id, JobState.FAILED, message, ())

    # -- films, timeline -------------------------------------------------------------------------
    def films(self, job_id: str) -> list[FilmRecord]:
        """The finished films of a job, film order (empty unless DONE)."""
        with self.db.read(f"reading the films of job {job_id}") as connection:
            return [_film(r) for r in connection.execute(_FILMS, {"id": job_id})]

    @staticmethod
    def _films_of(connection: Connection, job_ids: Sequence[str]) -> dict[str, list[FilmRecord]]:
        found: dict[str, list[FilmRecord]] = {job_id: [] for job_id in job_ids}
        if found:
            for row in connection.execute(_FILMS_OF, {"ids": [*found]}):
                found[row.job_id].append(_film(row))
        return found

    def films_of(self, job_ids: Iterable[str]) -> dict[str, list[FilmRecord]]:
        """Job id → its films in film order, for each of ``job_ids`` (one query; an empty list
        for a job without films or unknown)."""
        with self.db.read("reading films") as connection:
            return self._films_of(connection, [*dict.fromkeys(job_ids)])

    def timeline(self, job_id: str) -> list[JobEvent]:
        """The transitions of a job, oldest first (empty for an unknown job)."""
        with self.db.read(f"reading the timeline of job {job_id}") as connection:
            return [_event(r) for r in connection.execute(
                select(job_events).where(job_events.c.job_id == job_id)
                .order_by(job_events.c.id))]

    def job_dict(self, job: Job) -> dict:
        """A job as the CLI and the JSON API show it: its row (state, message, attempts, times)
        and ``films``, each with its output files (:meth:`FilmRecord.to_dict`)."""
        return {**job.to_dict(), "films": [f.to_dict() for f in self.films(job.job_id)]}

    def close(self) -> None:
        """Release the database's connections."""
        self.db.close()

    def __enter__(self) -> JobStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_job_store(config: Config) -> JobStore:
    """Open the job store of a configuration: SQLite in ``data_dir`` unless ``database_url``
    names one (``sqlite:///PATH``) or a PostgreSQL database (``postgresql://`` or
    ``postgres://user@host:port/db``).

    Raises :class:`JobStoreError` when the database is not at the schema's head revision (the
    message says which ``printserver db upgrade`` to run), :class:`ConfigError` for a URL of
    another kind or a PostgreSQL URL without the ``postgresql`` extra installed.
    """
    database = Database.for_config(config)
    try:
        migrate.check(database, config)
    except BaseException:
        database.close()
        raise
    return JobStore(database)
