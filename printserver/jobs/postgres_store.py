"""PostgreSQL job store: one queue shared by several ``printserver serve`` nodes.

All SQL of the PostgreSQL store lives in this module. It has the semantics of
:class:`printserver.jobs.sqlite_store.SQLiteJobStore` (same tables, same columns, times as ISO 8601
UTC text that sorts as the times it names); what differs:

* every write method is one transaction (``READ COMMITTED``); a claim takes its row with
  ``SELECT … FOR UPDATE SKIP LOCKED``, so that two workers of two nodes never take the same job and
  never wait for each other;
* the ``nodes`` table holds each serve's lease (:meth:`PostgresJobStore.heartbeat`), timed by the
  database's clock, so that the clocks of the nodes do not matter;
* the schema is created, and migrated forward, under an advisory lock: nodes starting together
  do not race.

A lost connection is reopened at the next call; the call that found it lost raises
:class:`~printserver.jobs.store.JobStoreError`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from typing import Any, TypeVar

import psycopg

from printserver.jobs.model import FilmRecord, Job, JobState, PrinterState
from printserver.jobs.store import (ClaimLostError, DuplicateJobError, JobStateError, JobStore,
                                    JobStoreError)

log = logging.getLogger(__name__)

T = TypeVar("T")

#: advisory lock key held while the schema is created or migrated ("printsrv" in ASCII)
_SCHEMA_LOCK = 0x7072696E74737276

#: times and ids are compared and sorted as text: byte order (COLLATE "C"), whatever the
#: database's locale
SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT COLLATE "C" PRIMARY KEY,
    print_job_uid TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    printer TEXT NOT NULL,
    calling_ae TEXT NOT NULL,
    called_ae TEXT NOT NULL,
    film_session_label TEXT NOT NULL,
    print_priority TEXT NOT NULL,
    film_count INTEGER NOT NULL,
    copies INTEGER NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL,
    updated_at TEXT COLLATE "C" NOT NULL,
    spool_dir TEXT NOT NULL,
    manifest_sha256 TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state, created_at);
CREATE TABLE IF NOT EXISTS films (
    job_id TEXT COLLATE "C" NOT NULL REFERENCES jobs (job_id),
    film INTEGER NOT NULL,
    copies INTEGER NOT NULL,
    pdf_files TEXT NOT NULL,
    preview TEXT NOT NULL,
    width_mm DOUBLE PRECISION NOT NULL,
    height_mm DOUBLE PRECISION NOT NULL,
    dpi DOUBLE PRECISION NOT NULL,
    render_seconds DOUBLE PRECISION NOT NULL,
    warnings TEXT NOT NULL,
    PRIMARY KEY (job_id, film)
);
CREATE TABLE IF NOT EXISTS printers (
    ae_title TEXT COLLATE "C" PRIMARY KEY,
    paused INTEGER NOT NULL DEFAULT 0,
    paused_at TEXT NOT NULL DEFAULT '',
    output_status TEXT NOT NULL DEFAULT 'NORMAL',
    output_status_info TEXT NOT NULL DEFAULT 'NORMAL',
    message TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS nodes (
    node_id TEXT PRIMARY KEY,
    started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    renewed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ NOT NULL
);
"""

#: columns of ``jobs`` beyond the first release, as in the SQLite store (applied when missing)
MIGRATIONS = (
    ("attempts", "INTEGER NOT NULL DEFAULT 0"),
    ("claimed_by", "TEXT NOT NULL DEFAULT ''"),
    ("claimed_at", "TEXT COLLATE \"C\" NOT NULL DEFAULT ''"),
    ("finished_at", "TEXT COLLATE \"C\" NOT NULL DEFAULT ''"),
    ("retry_at", "TEXT COLLATE \"C\" NOT NULL DEFAULT ''"),
    ("retries", "INTEGER NOT NULL DEFAULT 0"),
    ("output_ref", "TEXT NOT NULL DEFAULT ''"),
    ("printing_at", "TEXT NOT NULL DEFAULT ''"),
    ("cancel_requested", "INTEGER NOT NULL DEFAULT 0"),
    ("purged_at", "TEXT NOT NULL DEFAULT ''"),
)

_PRIORITY_ORDER = ("CASE print_priority WHEN 'HIGH' THEN 0 WHEN 'LOW' THEN 2 ELSE 1 END, "
                   "created_at, job_id")
_ACTIVE = (JobState.RENDERING.value, JobState.PRINTING.value)
_FINISHED = (JobState.DONE.value, JobState.FAILED.value, JobState.CANCELLED.value)
_UNFINISHED = (JobState.QUEUED.value, *_ACTIVE)
_CLAIMABLE_QUEUED = ("state = 'QUEUED' AND retry_at <= %s AND printer NOT IN "
                     "(SELECT ae_title FROM printers WHERE paused = 1)")
_DUE_PRINTING = "state = 'PRINTING' AND claimed_by = '' AND retry_at <= %s"

_COLUMNS = [f.name for f in dataclasses.fields(Job)]
_INSERT = f"INSERT INTO jobs ({', '.join(_COLUMNS)}) VALUES ({', '.join('%s' for _ in _COLUMNS)})"
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM jobs"

_PRINTER_COLUMNS = [f.name for f in dataclasses.fields(PrinterState)]
_SELECT_PRINTER = f"SELECT {', '.join(_PRINTER_COLUMNS)} FROM printers"

_FILM_COLUMNS = [f.name for f in dataclasses.fields(FilmRecord)]
_INSERT_FILM = (f"INSERT INTO films ({', '.join(_FILM_COLUMNS)}) "
                f"VALUES ({', '.join('%s' for _ in _FILM_COLUMNS)})")


def _stamp(when: datetime) -> str:
    """ISO 8601 UTC with milliseconds: such strings sort as the times they name."""
    return when.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def _now() -> str:
    return _stamp(datetime.now(timezone.utc))


def _in(values: Sequence[Any]) -> str:
    """``(%s, %s, …)`` for ``values`` (never empty)."""
    return f"({', '.join('%s' for _ in values)})"


def _row_to_job(row: Sequence[Any]) -> Job:
    values = dict(zip(_COLUMNS, row))
    values["state"] = JobState(values["state"])
    values["cancel_requested"] = bool(values["cancel_requested"])
    return Job(**values)


def _row_to_printer(row: Sequence[Any]) -> PrinterState:
    values = dict(zip(_PRINTER_COLUMNS, row))
    values["paused"] = bool(values["paused"])
    return PrinterState(**values)


def _film_row(film: FilmRecord) -> tuple:
    values = dataclasses.asdict(film)
    values["pdf_files"] = json.dumps(list(film.pdf_files))
    values["warnings"] = json.dumps(list(film.warnings))
    return tuple(values[c] for c in _FILM_COLUMNS)


def _row_to_film(row: Sequence[Any]) -> FilmRecord:
    values = dict(zip(_FILM_COLUMNS, row))
    values["pdf_files"] = tuple(json.loads(values["pdf_files"]))
    values["warnings"] = tuple(json.loads(values["warnings"]))
    return FilmRecord(**values)


def _redacted(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "postgresql://…"
    return (f"postgresql://{info.get('user', '')}@{info.get('host', '')}:{info.get('port', '')}"
            f"/{info.get('dbname', '')}")


class PostgresJobStore(JobStore):
    """Job store in a PostgreSQL database, shared by every node that names it.

    Parameters
    ----------
    url : str
        ``postgresql://user[:password]@host[:port]/database`` (``postgres://`` too); libpq's
        environment (``PGPASSWORD``, ``~/.pgpass``, ``PGSSLMODE`` …) applies.
    connect_timeout : int
        Seconds to wait for the server when connecting.
    """

    shared = True

    def __init__(self, url: str, connect_timeout: int = 10) -> None:
        self.url = url
        self.where = _redacted(url)
        self._connect_timeout = connect_timeout
        self._lock = threading.Lock()
        self._db: psycopg.Connection | None = None
        with self._lock:
            self._connection()
        self._create_schema()

    # -- connection and transactions -------------------------------------------------------------
    def _connection(self) -> psycopg.Connection:
        """The open connection, reopened when it was lost (call with the lock held)."""
        if self._db is None or self._db.closed or self._db.broken:
            if self._db is not None:
                log.warning("job store %s: connection lost; reconnecting", self.where)
                self._db.close()
            try:
                self._db = psycopg.connect(self.url, autocommit=True,
                                           connect_timeout=self._connect_timeout,
                                           application_name="printserver")
            except psycopg.Error as exc:
                self._db = None
                raise JobStoreError(f"{self.where}: cannot connect: {exc}") from exc
        return self._db

    def _create_schema(self) -> None:
        """Create the tables and add the columns of :data:`MIGRATIONS` an older database lacks."""
        def create(db: psycopg.Connection) -> None:
            db.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            db.execute(SCHEMA)
            for name, declaration in MIGRATIONS:
                db.execute(f"ALTER TABLE jobs ADD COLUMN IF NOT EXISTS {name} {declaration}")

        self._write("creating the schema", create)

    def _write(self, work: str, statements: Callable[[psycopg.Connection], T]) -> T:
        """Run ``statements(db)`` in one transaction; database errors → JobStoreError (a unique
        key violated → :class:`DuplicateJobError`).

        ``statements`` returns the result; any exception it raises rolls back.
        """
        with self._lock:
            db = self._connection()
            try:
                with db.transaction():
                    return statements(db)
            except psycopg.errors.UniqueViolation as exc:  # a job id or Print Job UID again
                raise DuplicateJobError(f"{self.where}: {work}: {exc}") from exc
            except psycopg.Error as exc:
                raise JobStoreError(f"{self.where}: {work}: {exc}") from exc

    def _read(self, work: str, sql: str, args: Sequence[Any] = ()) -> list[tuple]:
        """Rows of one query (autocommit: a transaction of its own)."""
        with self._lock:
            db = self._connection()
            try:
                return db.execute(sql, args).fetchall()
            except psycopg.Error as exc:
                raise JobStoreError(f"{self.where}: {work}: {exc}") from exc

    # -- jobs ------------------------------------------------------------------------------------
    def add(self, job: Job) -> None:
        values = {**job.to_dict(), "cancel_requested": int(job.cancel_requested)}
        row = tuple(values[c] for c in _COLUMNS)
        self._write(f"job {job.job_id} not stored", lambda db: db.execute(_INSERT, row))

    def get(self, job_id: str) -> Job | None:
        rows = self._read(f"reading job {job_id}", f"{_SELECT} WHERE job_id = %s", (job_id,))
        return _row_to_job(rows[0]) if rows else None

    def _get(self, job_id: str) -> Job:
        job = self.get(job_id)
        if job is None:
            raise KeyError(job_id)
        return job

    def get_by_uid(self, print_job_uid: str) -> Job | None:
        rows = self._read("reading a job", f"{_SELECT} WHERE print_job_uid = %s", (print_job_uid,))
        return _row_to_job(rows[0]) if rows else None

    def list(self, states: Iterable[JobState] | None = None, limit: int | None = None) -> list[Job]:
        sql, args = _SELECT, []
        if states is not None:
            values = [JobState(s).value for s in states]
            if not values:
                return []
            sql += f" WHERE state IN {_in(values)}"
            args.extend(values)
        sql += " ORDER BY created_at, job_id"
        if limit is not None:
            sql += " LIMIT %s"
            args.append(int(limit))
        return [_row_to_job(r) for r in self._read("listing jobs", sql, args)]

    def set_state(self, job_id: str, state: JobState, message: str = "") -> Job:
        def update(db: psycopg.Connection) -> int:
            return db.execute("UPDATE jobs SET state = %s, message = %s, updated_at = %s "
                              "WHERE job_id = %s",
                              (JobState(state).value, message, _now(), job_id)).rowcount

        if self._write(f"setting job {job_id} {state}", update) != 1:
            raise KeyError(job_id)
        return self._get(job_id)

    def claim_next(self, worker_id: str, now: datetime | None = None) -> Job | None:
        at = _stamp(now) if now is not None else _now()

        def claim(db: psycopg.Connection) -> tuple | None:
            stamp = _now()
            row = db.execute(
                f"UPDATE jobs SET claimed_by = %s, claimed_at = %s, updated_at = %s "
                f"WHERE job_id = (SELECT job_id FROM jobs WHERE {_DUE_PRINTING} "
                f"ORDER BY retry_at, job_id LIMIT 1 FOR UPDATE SKIP LOCKED) "
                f"RETURNING {', '.join(_COLUMNS)}", (worker_id, stamp, stamp, at)).fetchone()
            if row is not None:  # follow a delivery: no new attempt
                return row
            return db.execute(
                f"UPDATE jobs SET state = 'RENDERING', attempts = attempts + 1, claimed_by = %s, "
                f"claimed_at = %s, updated_at = %s, retry_at = '' "
                f"WHERE job_id = (SELECT job_id FROM jobs WHERE {_CLAIMABLE_QUEUED} "
                f"ORDER BY {_PRIORITY_ORDER} LIMIT 1 FOR UPDATE SKIP LOCKED) "
                f"RETURNING {', '.join(_COLUMNS)}", (worker_id, stamp, stamp, at)).fetchone()

        row = self._write("claiming a job", claim)
        return _row_to_job(row) if row else None

    @staticmethod
    def _held(db: psycopg.Connection, job_id: str, worker_id: str, states: Sequence[str],
              what: str, assignments: str, args: Sequence[Any]) -> None:
        """UPDATE a job held by ``worker_id`` in one of ``states``; else :class:`ClaimLostError`."""
        cur = db.execute(f"UPDATE jobs SET {assignments} WHERE job_id = %s AND claimed_by = %s "
                         f"AND state IN {_in(states)}", (*args, job_id, worker_id, *states))
        if cur.rowcount != 1:
            raise ClaimLostError(f"job {job_id} is no longer held by worker {worker_id}; "
                                 f"not recorded {what}")

    @staticmethod
    def _replace_films(db: psycopg.Connection, job_id: str, films: Sequence[FilmRecord]) -> None:
        db.execute("DELETE FROM films WHERE job_id = %s", (job_id,))
        if films:
            with db.cursor() as cur:
                cur.executemany(_INSERT_FILM, [_film_row(f) for f in films])

    def start_printing(self, job_id: str, worker_id: str, references: Sequence[str],
                       films: Sequence[FilmRecord], follow_at: datetime, message: str) -> Job:
        def record(db: psycopg.Connection) -> None:
            now = _now()
            self._held(db, job_id, worker_id, (JobState.RENDERING.value,), "PRINTING",
                       "state = 'PRINTING', output_ref = %s, printing_at = %s, claimed_by = '', "
                       "retry_at = %s, message = %s, updated_at = %s",
                       (" ".join(references), now, _stamp(follow_at), message, now))
            self._replace_films(db, job_id, films)

        self._write(f"recording job {job_id} PRINTING", record)
        return self._get(job_id)

    def keep_printing(self, job_id: str, worker_id: str, follow_at: datetime,
                      message: str) -> Job:
        def record(db: psycopg.Connection) -> None:
            self._held(db, job_id, worker_id, (JobState.PRINTING.value,), "still PRINTING",
                       "claimed_by = '', retry_at = %s, message = %s, updated_at = %s",
                       (_stamp(follow_at), message, _now()))

        self._write(f"recording job {job_id} still PRINTING", record)
        return self._get(job_id)

    def postpone(self, job_id: str, worker_id: str, retry_at: datetime, message: str) -> Job:
        def record(db: psycopg.Connection) -> None:
            self._held(db, job_id, worker_id, (JobState.RENDERING.value,), "waiting",
                       "state = 'QUEUED', retries = retries + 1, retry_at = %s, claimed_by = '', "
                       "message = %s, updated_at = %s", (_stamp(retry_at), message, _now()))

        self._write(f"putting job {job_id} back to waiting", record)
        return self._get(job_id)

    def cancelled(self, job_id: str, worker_id: str, message: str) -> Job:
        return self._finish(job_id, worker_id, JobState.CANCELLED, message, None)

    def request_cancel(self, job_id: str) -> Job:
        def cancel(db: psycopg.Connection) -> None:
            row = db.execute("SELECT state FROM jobs WHERE job_id = %s FOR UPDATE",
                             (job_id,)).fetchone()
            if row is None:
                raise KeyError(job_id)
            now = _now()
            if row[0] == JobState.QUEUED.value:
                db.execute("UPDATE jobs SET state = 'CANCELLED', message = %s, finished_at = %s, "
                           "updated_at = %s, retry_at = '' WHERE job_id = %s",
                           ("cancelled by an operator while waiting", now, now, job_id))
            elif row[0] in _ACTIVE:  # a PRINTING job is asked about at once
                db.execute("UPDATE jobs SET cancel_requested = 1, updated_at = %s, "
                           "retry_at = CASE WHEN state = 'PRINTING' THEN '' ELSE retry_at END "
                           "WHERE job_id = %s", (now, job_id))
            else:
                raise JobStateError(f"job {job_id} is {row[0]}: nothing to cancel")

        self._write(f"cancelling job {job_id}", cancel)
        return self._get(job_id)

    def retry(self, job_id: str) -> Job:
        def retry(db: psycopg.Connection) -> None:
            row = db.execute("SELECT state, purged_at, message FROM jobs WHERE job_id = %s "
                             "FOR UPDATE", (job_id,)).fetchone()
            if row is None:
                raise KeyError(job_id)
            state, purged_at, message = row
            if state not in (JobState.FAILED.value, JobState.CANCELLED.value):
                raise JobStateError(f"job {job_id} is {state}: only a FAILED or CANCELLED job "
                                    "can be retried")
            if purged_at:
                raise JobStateError(f"job {job_id} was purged at {purged_at}: its films are gone")
            db.execute(
                "UPDATE jobs SET state = 'QUEUED', attempts = 0, retries = 0, retry_at = '', "
                "output_ref = '', printing_at = '', cancel_requested = 0, claimed_by = '', "
                "claimed_at = '', finished_at = '', message = %s, updated_at = %s "
                "WHERE job_id = %s",
                (f"retried by an operator (was {state}: {message})"[:500], _now(), job_id))
            db.execute("DELETE FROM films WHERE job_id = %s", (job_id,))

        self._write(f"retrying job {job_id}", retry)
        return self._get(job_id)

    def finished_before(self, cutoff: datetime) -> list[Job]:
        rows = self._read("listing finished jobs",
                          f"{_SELECT} WHERE state IN {_in(_FINISHED)} AND purged_at = '' "
                          "AND finished_at != '' AND finished_at < %s ORDER BY finished_at",
                          (*_FINISHED, _stamp(cutoff)))
        return [_row_to_job(r) for r in rows]

    def mark_purged(self, job_id: str) -> bool:
        def mark(db: psycopg.Connection) -> bool:
            now = _now()
            cur = db.execute("UPDATE jobs SET purged_at = %s, updated_at = %s WHERE job_id = %s "
                             f"AND state IN {_in(_FINISHED)} AND purged_at = ''",
                             (now, now, job_id, *_FINISHED))
            return cur.rowcount == 1

        return self._write(f"marking job {job_id} purged", mark)

    # -- printers --------------------------------------------------------------------------------
    def printer_state(self, ae_title: str) -> PrinterState:
        rows = self._read(f"reading printer {ae_title}", f"{_SELECT_PRINTER} WHERE ae_title = %s",
                          (ae_title,))
        return _row_to_printer(rows[0]) if rows else PrinterState(ae_title)

    def printer_states(self) -> list[PrinterState]:
        rows = self._read("reading printers", f"{_SELECT_PRINTER} ORDER BY ae_title")
        return [_row_to_printer(r) for r in rows]

    def set_paused(self, ae_title: str, paused: bool) -> PrinterState:
        def record(db: psycopg.Connection) -> None:
            db.execute("INSERT INTO printers (ae_title) VALUES (%s) ON CONFLICT DO NOTHING",
                       (ae_title,))
            db.execute("UPDATE printers SET paused = %s, paused_at = %s WHERE ae_title = %s",
                       (int(paused), _now() if paused else "", ae_title))

        self._write(f"{'pausing' if paused else 'resuming'} printer {ae_title}", record)
        return self.printer_state(ae_title)

    def set_output_status(self, ae_title: str, status: str, status_info: str,
                          message: str = "") -> PrinterState:
        current = self.printer_state(ae_title)
        if (current.output_status, current.output_status_info, current.message) == (
                status, status_info, message):
            return current  # nothing changed: no write

        def record(db: psycopg.Connection) -> None:
            db.execute("INSERT INTO printers (ae_title) VALUES (%s) ON CONFLICT DO NOTHING",
                       (ae_title,))
            db.execute("UPDATE printers SET output_status = %s, output_status_info = %s, "
                       "message = %s, updated_at = %s WHERE ae_title = %s",
                       (status, status_info, message[:500], _now(), ae_title))

        self._write(f"recording the status of printer {ae_title}", record)
        return self.printer_state(ae_title)

    def queue_lengths(self) -> dict[str, int]:
        rows = self._read("counting queued jobs",
                          f"SELECT printer, COUNT(*) FROM jobs WHERE state IN {_in(_UNFINISHED)} "
                          "GROUP BY printer", _UNFINISHED)
        return {printer: int(count) for printer, count in rows}

    # -- workers that stopped, nodes -------------------------------------------------------------
    def requeue_stale(self, claimed_by: Iterable[str] | None = None,
                      max_attempts: int | None = None) -> list[Job]:
        sql = ("SELECT job_id, state, attempts, retries, claimed_by, output_ref FROM jobs "
               f"WHERE state IN {_in(_ACTIVE)}")
        args: list[Any] = list(_ACTIVE)
        if claimed_by is not None:
            workers = list(claimed_by)
            if not workers:
                return []
            sql += f" AND claimed_by IN {_in(workers)}"
            args += workers
        sql += " ORDER BY job_id FOR UPDATE"

        def requeue(db: psycopg.Connection) -> list[str]:
            now = _now()
            ids = []
            for job_id, state, attempts, retries, worker, output_ref in db.execute(
                    sql, args).fetchall():
                if state == JobState.PRINTING.value and output_ref:
                    if not worker:
                        continue  # no worker holds it: nothing to do
                    db.execute("UPDATE jobs SET claimed_by = '', retry_at = '', updated_at = %s "
                               "WHERE job_id = %s", (now, job_id))
                elif max_attempts is not None and attempts - retries >= max_attempts:
                    db.execute("UPDATE jobs SET state = %s, message = %s, updated_at = %s, "
                               "finished_at = %s WHERE job_id = %s",
                               (JobState.FAILED.value, f"gave up after {attempts} attempts: the "
                                f"worker stopped while rendering (last {worker or 'unknown'})",
                                now, now, job_id))
                else:
                    db.execute("UPDATE jobs SET state = %s, message = %s, updated_at = %s "
                               "WHERE job_id = %s",
                               (JobState.QUEUED.value, f"requeued: worker {worker or 'unknown'} "
                                f"stopped during attempt {attempts}", now, job_id))
                ids.append(job_id)
            return ids

        ids = self._write("requeueing stale jobs", requeue)
        return [job for job in (self.get(i) for i in ids) if job is not None]

    def heartbeat(self, node_id: str, lease_seconds: float) -> bool:
        def renew(db: psycopg.Connection) -> bool:
            cur = db.execute("UPDATE nodes SET renewed_at = now(), expires_at = now() + "
                             "make_interval(secs => %s) WHERE node_id = %s AND expires_at > now()",
                             (float(lease_seconds), node_id))
            if cur.rowcount == 1:
                return True
            db.execute("INSERT INTO nodes (node_id, expires_at) VALUES "
                       "(%s, now() + make_interval(secs => %s)) ON CONFLICT (node_id) DO UPDATE "
                       "SET renewed_at = now(), expires_at = EXCLUDED.expires_at",
                       (node_id, float(lease_seconds)))
            return False

        return self._write(f"renewing the lease of node {node_id}", renew)

    def live_nodes(self) -> list[str]:
        def expire(db: psycopg.Connection) -> list[str]:
            db.execute("DELETE FROM nodes WHERE expires_at <= now()")
            return [r[0] for r in db.execute("SELECT node_id FROM nodes ORDER BY node_id")]

        return self._write("reading the nodes' leases", expire)

    def leave(self, node_id: str) -> None:
        self._write(f"ending the lease of node {node_id}",
                    lambda db: db.execute("DELETE FROM nodes WHERE node_id = %s", (node_id,)))

    def _finish(self, job_id: str, worker_id: str, state: JobState, message: str,
                films: Sequence[FilmRecord] | None) -> Job:
        """Record a held job finished; ``films`` None keeps the films already recorded."""
        def finish(db: psycopg.Connection) -> None:
            now = _now()
            cur = db.execute(
                "UPDATE jobs SET state = %s, message = %s, updated_at = %s, finished_at = %s "
                f"WHERE job_id = %s AND claimed_by = %s AND state IN {_in(_ACTIVE)}",
                (state.value, message, now, now, job_id, worker_id, *_ACTIVE))
            if cur.rowcount != 1:
                raise ClaimLostError(f"job {job_id} is no longer held by worker {worker_id}; "
                                     f"not recorded {state.value}")
            if films is not None:
                self._replace_films(db, job_id, films)

        self._write(f"recording job {job_id} {state.value}", finish)
        return self._get(job_id)

    def complete(self, job_id: str, worker_id: str, films: Sequence[FilmRecord],
                 message: str = "") -> Job:
        return self._finish(job_id, worker_id, JobState.DONE, message, films)

    def fail(self, job_id: str, worker_id: str, message: str) -> Job:
        return self._finish(job_id, worker_id, JobState.FAILED, message, ())

    def films(self, job_id: str) -> list[FilmRecord]:
        rows = self._read(f"reading the films of job {job_id}",
                          f"SELECT {', '.join(_FILM_COLUMNS)} FROM films WHERE job_id = %s "
                          "ORDER BY film", (job_id,))
        return [_row_to_film(r) for r in rows]

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
