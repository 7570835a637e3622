"""SQLite job store: WAL journal, ``synchronous=FULL`` so that a committed job survives power loss.

All SQL of the SQLite job store lives in this module (the PostgreSQL store's in
:mod:`printserver.jobs.postgres_store`). An SQLite file serves one ``printserver serve`` at a time
(``shared`` is False): at start-up serve requeues every job a previous run left RENDERING.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TypeVar

from printserver.jobs.model import FilmRecord, Job, JobState, PrinterState
from printserver.jobs.store import (ClaimLostError, DuplicateJobError, JobStateError, JobStore,
                                    JobStoreError)

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    print_job_uid TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    printer TEXT NOT NULL,
    calling_ae TEXT NOT NULL,
    called_ae TEXT NOT NULL,
    film_session_label TEXT NOT NULL,
    print_priority TEXT NOT NULL,
    film_count INTEGER NOT NULL,
    copies INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    spool_dir TEXT NOT NULL,
    manifest_sha256 TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state, created_at);
CREATE TABLE IF NOT EXISTS films (
    job_id TEXT NOT NULL REFERENCES jobs (job_id),
    film INTEGER NOT NULL,
    copies INTEGER NOT NULL,
    pdf_files TEXT NOT NULL,
    preview TEXT NOT NULL,
    width_mm REAL NOT NULL,
    height_mm REAL NOT NULL,
    dpi REAL NOT NULL,
    render_seconds REAL NOT NULL,
    warnings TEXT NOT NULL,
    PRIMARY KEY (job_id, film)
);
CREATE TABLE IF NOT EXISTS printers (
    ae_title TEXT PRIMARY KEY,
    paused INTEGER NOT NULL DEFAULT 0,
    paused_at TEXT NOT NULL DEFAULT '',
    output_status TEXT NOT NULL DEFAULT 'NORMAL',
    output_status_info TEXT NOT NULL DEFAULT 'NORMAL',
    message TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS nodes (
    node_id TEXT PRIMARY KEY,
    renewed_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
"""

#: columns added to ``jobs`` after its first release: (name, declaration), applied when missing
MIGRATIONS = (
    ("attempts", "INTEGER NOT NULL DEFAULT 0"),
    ("claimed_by", "TEXT NOT NULL DEFAULT ''"),
    ("claimed_at", "TEXT NOT NULL DEFAULT ''"),
    ("finished_at", "TEXT NOT NULL DEFAULT ''"),
    ("retry_at", "TEXT NOT NULL DEFAULT ''"),
    ("retries", "INTEGER NOT NULL DEFAULT 0"),
    ("output_ref", "TEXT NOT NULL DEFAULT ''"),
    ("printing_at", "TEXT NOT NULL DEFAULT ''"),
    ("cancel_requested", "INTEGER NOT NULL DEFAULT 0"),
    ("purged_at", "TEXT NOT NULL DEFAULT ''"),
)

#: Print Priority (2000,0020) order of claiming: HIGH, then MED, then LOW
_PRIORITY_ORDER = ("CASE print_priority WHEN 'HIGH' THEN 0 WHEN 'LOW' THEN 2 ELSE 1 END, "
                   "created_at, job_id")
_ACTIVE = (JobState.RENDERING.value, JobState.PRINTING.value)
_FINISHED = (JobState.DONE.value, JobState.FAILED.value, JobState.CANCELLED.value)
_UNFINISHED = (JobState.QUEUED.value, *_ACTIVE)
#: a QUEUED job a worker may take now: due and its printer not paused (arguments: now)
_CLAIMABLE_QUEUED = ("state = 'QUEUED' AND retry_at <= ? AND printer NOT IN "
                     "(SELECT ae_title FROM printers WHERE paused = 1)")
#: a PRINTING job no worker holds whose delivery is due to be asked about (arguments: now)
_DUE_PRINTING = "state = 'PRINTING' AND claimed_by = '' AND retry_at <= ?"

_COLUMNS = [f.name for f in dataclasses.fields(Job)]
_INSERT = f"INSERT INTO jobs ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)})"
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM jobs"


_PRINTER_COLUMNS = [f.name for f in dataclasses.fields(PrinterState)]
_SELECT_PRINTER = f"SELECT {', '.join(_PRINTER_COLUMNS)} FROM printers"

_FILM_COLUMNS = [f.name for f in dataclasses.fields(FilmRecord)]
_INSERT_FILM = (f"INSERT INTO films ({', '.join(_FILM_COLUMNS)}) "
                f"VALUES ({', '.join('?' for _ in _FILM_COLUMNS)})")


def _stamp(when: datetime) -> str:
    """ISO 8601 UTC with milliseconds: such strings sort as the times they name."""
    return when.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def _now() -> str:
    return _stamp(datetime.now(timezone.utc))


def _row_to_job(row: tuple) -> Job:
    values = dict(zip(_COLUMNS, row))
    values["state"] = JobState(values["state"])
    values["cancel_requested"] = bool(values["cancel_requested"])
    return Job(**values)


def _row_to_printer(row: tuple) -> PrinterState:
    values = dict(zip(_PRINTER_COLUMNS, row))
    values["paused"] = bool(values["paused"])
    return PrinterState(**values)


def _film_row(film: FilmRecord) -> tuple:
    values = dataclasses.asdict(film)
    values["pdf_files"] = json.dumps(list(film.pdf_files))
    values["warnings"] = json.dumps(list(film.warnings))
    return tuple(values[c] for c in _FILM_COLUMNS)


def _row_to_film(row: tuple) -> FilmRecord:
    values = dict(zip(_FILM_COLUMNS, row))
    values["pdf_files"] = tuple(json.loads(values["pdf_files"]))
    values["warnings"] = tuple(json.loads(values["warnings"]))
    return FilmRecord(**values)


class SQLiteJobStore(JobStore):
    """Job store in one SQLite file.

    Parameters
    ----------
    path : Path
        Database file; its folder is created when missing.
    synchronous : str
        SQLite ``PRAGMA synchronous``; ``FULL`` (default) fsyncs the WAL at every commit.
    """

    def __init__(self, path: str | Path, synchronous: str = "FULL") -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None,
                                   timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={synchronous}")
        self._db.executescript(SCHEMA)
        self._migrate()

    def _migrate(self) -> None:
        """Add the columns of :data:`MIGRATIONS` a database of an older release lacks."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                have = {row[1] for row in self._db.execute("PRAGMA table_info(jobs)")}
                for name, declaration in MIGRATIONS:
                    if name not in have:
                        self._db.execute(f"ALTER TABLE jobs ADD COLUMN {name} {declaration}")
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._db.execute("ROLLBACK")
                raise JobStoreError(f"{self.path}: schema migration failed: {exc}") from exc

    def _write(self, work: str, statements: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``statements(db)`` in one ``BEGIN IMMEDIATE`` transaction; errors → JobStoreError.

        ``statements`` returns the result; raising :class:`ClaimLostError` rolls back.
        """
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    result = statements(self._db)
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
                return result
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise JobStoreError(f"{self.path}: {work}: {exc}") from exc

    def add(self, job: Job) -> None:
        values = job.to_dict()
        row = tuple(values[c] for c in _COLUMNS)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(_INSERT, row)
                self._db.execute("COMMIT")
            except sqlite3.IntegrityError as exc:
                self._db.execute("ROLLBACK")
                raise DuplicateJobError(f"{self.path}: job {job.job_id} exists: {exc}") from exc
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise JobStoreError(f"{self.path}: job {job.job_id} not stored: {exc}") from exc

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            row = self._db.execute(f"{_SELECT} WHERE job_id = ?", (job_id,)).fetchone()
        return _row_to_job(row) if row else None

    def get_by_uid(self, print_job_uid: str) -> Job | None:
        with self._lock:
            row = self._db.execute(f"{_SELECT} WHERE print_job_uid = ?",
                                   (print_job_uid,)).fetchone()
        return _row_to_job(row) if row else None

    def list(self, states: Iterable[JobState] | None = None, limit: int | None = None) -> list[Job]:
        sql, args = _SELECT, []
        if states is not None:
            states = [JobState(s).value for s in states]
            sql += f" WHERE state IN ({', '.join('?' for _ in states)})"
            args.extend(states)
        sql += " ORDER BY created_at, job_id"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(int(limit))
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [_row_to_job(r) for r in rows]

    def set_state(self, job_id: str, state: JobState, message: str = "") -> Job:
        now = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        with self._lock:
            cur = self._db.execute(
                "UPDATE jobs SET state = ?, message = ?, updated_at = ? WHERE job_id = ?",
                (JobState(state).value, message, now, job_id))
        if cur.rowcount != 1:
            raise KeyError(job_id)
        job = self.get(job_id)
        assert job is not None
        return job

    def claim_next(self, worker_id: str, now: datetime | None = None) -> Job | None:
        at = _stamp(now) if now is not None else _now()
        with self._lock:  # a read first, so that an idle worker never takes the write lock
            try:
                waiting = self._db.execute(
                    f"SELECT 1 FROM jobs WHERE ({_DUE_PRINTING}) OR ({_CLAIMABLE_QUEUED}) LIMIT 1",
                    (at, at)).fetchone()
            except sqlite3.Error as exc:
                raise JobStoreError(f"{self.path}: looking for queued jobs: {exc}") from exc
        if waiting is None:
            return None

        def claim(db: sqlite3.Connection) -> str | None:
            stamp = _now()
            row = db.execute(f"SELECT job_id FROM jobs WHERE {_DUE_PRINTING} "
                             "ORDER BY retry_at, job_id LIMIT 1", (at,)).fetchone()
            if row is not None:  # follow a delivery: no new attempt
                cur = db.execute(
                    "UPDATE jobs SET claimed_by = ?, claimed_at = ?, updated_at = ? "
                    "WHERE job_id = ? AND state = 'PRINTING' AND claimed_by = ''",
                    (worker_id, stamp, stamp, row[0]))
                return row[0] if cur.rowcount == 1 else None
            row = db.execute(f"SELECT job_id FROM jobs WHERE {_CLAIMABLE_QUEUED} "
                             f"ORDER BY {_PRIORITY_ORDER} LIMIT 1", (at,)).fetchone()
            if row is None:
                return None
            cur = db.execute(
                "UPDATE jobs SET state = ?, attempts = attempts + 1, claimed_by = ?, "
                "claimed_at = ?, updated_at = ?, retry_at = '' WHERE job_id = ? AND state = ?",
                (JobState.RENDERING.value, worker_id, stamp, stamp, row[0],
                 JobState.QUEUED.value))
            return row[0] if cur.rowcount == 1 else None

        job_id = self._write("claiming a job", claim)
        return self.get(job_id) if job_id else None

    def _held(self, db: sqlite3.Connection, job_id: str, worker_id: str, states: Sequence[str],
              what: str, assignments: str, args: Sequence) -> None:
        """UPDATE a job held by ``worker_id`` in one of ``states``; else :class:`ClaimLostError`."""
        cur = db.execute(
            f"UPDATE jobs SET {assignments} WHERE job_id = ? AND claimed_by = ? "
            f"AND state IN ({', '.join('?' for _ in states)})",
            (*args, job_id, worker_id, *states))
        if cur.rowcount != 1:
            raise ClaimLostError(f"job {job_id} is no longer held by worker {worker_id}; "
                                 f"not recorded {what}")

    def _get(self, job_id: str) -> Job:
        job = self.get(job_id)
        if job is None:
            raise KeyError(job_id)
        return job

    def start_printing(self, job_id: str, worker_id: str, references: Sequence[str],
                       films: Sequence[FilmRecord], follow_at: datetime, message: str) -> Job:
        def record(db: sqlite3.Connection) -> None:
            now = _now()
            self._held(db, job_id, worker_id, (JobState.RENDERING.value,), "PRINTING",
                       "state = 'PRINTING', output_ref = ?, printing_at = ?, claimed_by = '', "
                       "retry_at = ?, message = ?, updated_at = ?",
                       (" ".join(references), now, _stamp(follow_at), message, now))
            db.execute("DELETE FROM films WHERE job_id = ?", (job_id,))
            db.executemany(_INSERT_FILM, [_film_row(f) for f in films])

        self._write(f"recording job {job_id} PRINTING", record)
        return self._get(job_id)

    def keep_printing(self, job_id: str, worker_id: str, follow_at: datetime,
                      message: str) -> Job:
        def record(db: sqlite3.Connection) -> None:
            self._held(db, job_id, worker_id, (JobState.PRINTING.value,), "still PRINTING",
                       "claimed_by = '', retry_at = ?, message = ?, updated_at = ?",
                       (_stamp(follow_at), message, _now()))

        self._write(f"recording job {job_id} still PRINTING", record)
        return self._get(job_id)

    def postpone(self, job_id: str, worker_id: str, retry_at: datetime, message: str) -> Job:
        def record(db: sqlite3.Connection) -> None:
            self._held(db, job_id, worker_id, (JobState.RENDERING.value,), "waiting",
                       "state = 'QUEUED', retries = retries + 1, retry_at = ?, claimed_by = '', "
                       "message = ?, updated_at = ?", (_stamp(retry_at), message, _now()))

        self._write(f"putting job {job_id} back to waiting", record)
        return self._get(job_id)

    def cancelled(self, job_id: str, worker_id: str, message: str) -> Job:
        return self._finish(job_id, worker_id, JobState.CANCELLED, message, None)

    def request_cancel(self, job_id: str) -> Job:
        def cancel(db: sqlite3.Connection) -> None:
            row = db.execute("SELECT state FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
            if row is None:
                raise KeyError(job_id)
            now = _now()
            if row[0] == JobState.QUEUED.value:
                db.execute("UPDATE jobs SET state = 'CANCELLED', message = ?, finished_at = ?, "
                           "updated_at = ?, retry_at = '' WHERE job_id = ?",
                           ("cancelled by an operator while waiting", now, now, job_id))
            elif row[0] in _ACTIVE:  # a PRINTING job is asked about at once
                db.execute("UPDATE jobs SET cancel_requested = 1, updated_at = ?, "
                           "retry_at = CASE WHEN state = 'PRINTING' THEN '' ELSE retry_at END "
                           "WHERE job_id = ?", (now, job_id))
            else:
                raise JobStateError(f"job {job_id} is {row[0]}: nothing to cancel")

        self._write(f"cancelling job {job_id}", cancel)
        return self._get(job_id)

    def retry(self, job_id: str) -> Job:
        def retry(db: sqlite3.Connection) -> None:
            row = db.execute("SELECT state, purged_at, message FROM jobs WHERE job_id = ?",
                             (job_id,)).fetchone()
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
                "claimed_at = '', finished_at = '', message = ?, updated_at = ? WHERE job_id = ?",
                (f"retried by an operator (was {state}: {message})"[:500], _now(), job_id))
            db.execute("DELETE FROM films WHERE job_id = ?", (job_id,))

        self._write(f"retrying job {job_id}", retry)
        return self._get(job_id)

    def finished_before(self, cutoff: datetime) -> list[Job]:
        with self._lock:
            rows = self._db.execute(
                f"{_SELECT} WHERE state IN (?, ?, ?) AND purged_at = '' AND finished_at != '' "
                "AND finished_at < ? ORDER BY finished_at", (*_FINISHED, _stamp(cutoff))).fetchall()
        return [_row_to_job(r) for r in rows]

    def mark_purged(self, job_id: str) -> bool:
        def mark(db: sqlite3.Connection) -> bool:
            now = _now()
            cur = db.execute("UPDATE jobs SET purged_at = ?, updated_at = ? WHERE job_id = ? "
                             "AND state IN (?, ?, ?) AND purged_at = ''",
                             (now, now, job_id, *_FINISHED))
            return cur.rowcount == 1

        return self._write(f"marking job {job_id} purged", mark)

    def printer_state(self, ae_title: str) -> PrinterState:
        with self._lock:
            row = self._db.execute(f"{_SELECT_PRINTER} WHERE ae_title = ?",
                                   (ae_title,)).fetchone()
        return _row_to_printer(row) if row else PrinterState(ae_title)

    def printer_states(self) -> list[PrinterState]:
        with self._lock:
            rows = self._db.execute(f"{_SELECT_PRINTER} ORDER BY ae_title").fetchall()
        return [_row_to_printer(r) for r in rows]

    def set_paused(self, ae_title: str, paused: bool) -> PrinterState:
        def record(db: sqlite3.Connection) -> None:
            db.execute("INSERT INTO printers (ae_title) VALUES (?) ON CONFLICT DO NOTHING",
                       (ae_title,))
            db.execute("UPDATE printers SET paused = ?, paused_at = ? WHERE ae_title = ?",
                       (int(paused), _now() if paused else "", ae_title))

        self._write(f"{'pausing' if paused else 'resuming'} printer {ae_title}", record)
        return self.printer_state(ae_title)

    def set_output_status(self, ae_title: str, status: str, status_info: str,
                          message: str = "") -> PrinterState:
        current = self.printer_state(ae_title)
        if (current.output_status, current.output_status_info, current.message) == (
                status, status_info, message):
            return current  # nothing changed: no write

        def record(db: sqlite3.Connection) -> None:
            db.execute("INSERT INTO printers (ae_title) VALUES (?) ON CONFLICT DO NOTHING",
                       (ae_title,))
            db.execute("UPDATE printers SET output_status = ?, output_status_info = ?, "
                       "message = ?, updated_at = ? WHERE ae_title = ?",
                       (status, status_info, message[:500], _now(), ae_title))

        self._write(f"recording the status of printer {ae_title}", record)
        return self.printer_state(ae_title)

    def queue_lengths(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT printer, COUNT(*) FROM jobs WHERE state IN (?, ?, ?) "
                                    "GROUP BY printer", _UNFINISHED).fetchall()
        return {printer: count for printer, count in rows}

    def requeue_stale(self, claimed_by: Iterable[str] | None = None,
                      max_attempts: int | None = None) -> list[Job]:
        sql = ("SELECT job_id, state, attempts, retries, claimed_by, output_ref FROM jobs "
               "WHERE state IN (?, ?)")
        args: list = list(_ACTIVE)
        if claimed_by is not None:
            workers = list(claimed_by)
            sql += f" AND claimed_by IN ({', '.join('?' for _ in workers)})"
            args += workers

        def requeue(db: sqlite3.Connection) -> list[str]:
            now = _now()
            ids = []
            for job_id, state, attempts, retries, worker, output_ref in db.execute(
                    sql, args).fetchall():
                if state == JobState.PRINTING.value and output_ref:
                    if not worker:
                        continue  # no worker holds it: nothing to do
                    db.execute("UPDATE jobs SET claimed_by = '', retry_at = '', updated_at = ? "
                               "WHERE job_id = ?", (now, job_id))
                elif max_attempts is not None and attempts - retries >= max_attempts:
                    db.execute("UPDATE jobs SET state = ?, message = ?, updated_at = ?, "
                               "finished_at = ? WHERE job_id = ?",
                               (JobState.FAILED.value, f"gave up after {attempts} attempts: the "
                                f"worker stopped while rendering (last {worker or 'unknown'})",
                                now, now, job_id))
                else:
                    db.execute("UPDATE jobs SET state = ?, message = ?, updated_at = ? "
                               "WHERE job_id = ?",
                               (JobState.QUEUED.value, f"requeued: worker {worker or 'unknown'} "
                                f"stopped during attempt {attempts}", now, job_id))
                ids.append(job_id)
            return ids

        ids = self._write("requeueing stale jobs", requeue)
        return [job for job in (self.get(i) for i in ids) if job is not None]

    def heartbeat(self, node_id: str, lease_seconds: float) -> bool:
        def renew(db: sqlite3.Connection) -> bool:
            now = datetime.now(timezone.utc)
            row = db.execute("SELECT expires_at FROM nodes WHERE node_id = ?",
                             (node_id,)).fetchone()
            db.execute("INSERT INTO nodes (node_id, renewed_at, expires_at) VALUES (?, ?, ?) "
                       "ON CONFLICT (node_id) DO UPDATE SET renewed_at = excluded.renewed_at, "
                       "expires_at = excluded.expires_at",
                       (node_id, _stamp(now), _stamp(now + timedelta(seconds=lease_seconds))))
            return row is not None and row[0] > _stamp(now)

        return self._write(f"renewing the lease of node {node_id}", renew)

    def live_nodes(self) -> list[str]:
        def expire(db: sqlite3.Connection) -> list[str]:
            db.execute("DELETE FROM nodes WHERE expires_at <= ?", (_now(),))
            return [r[0] for r in db.execute("SELECT node_id FROM nodes ORDER BY node_id")]

        return self._write("reading the nodes' leases", expire)

    def leave(self, node_id: str) -> None:
        self._write(f"ending the lease of node {node_id}",
                    lambda db: db.execute("DELETE FROM nodes WHERE node_id = ?", (node_id,)))

    def _finish(self, job_id: str, worker_id: str, state: JobState, message: str,
                films: Sequence[FilmRecord] | None) -> Job:
        """Record a held job finished; ``films`` None keeps the films already recorded."""
        def finish(db: sqlite3.Connection) -> None:
            now = _now()
            cur = db.execute(
                "UPDATE jobs SET state = ?, message = ?, updated_at = ?, finished_at = ? "
                "WHERE job_id = ? AND claimed_by = ? AND state IN (?, ?)",
                (state.value, message, now, now, job_id, worker_id, *_ACTIVE))
            if cur.rowcount != 1:
                raise ClaimLostError(f"job {job_id} is no longer held by worker {worker_id}; "
                                     f"not recorded {state.value}")
            if films is not None:
                db.execute("DELETE FROM films WHERE job_id = ?", (job_id,))
                db.executemany(_INSERT_FILM, [_film_row(f) for f in films])

        self._write(f"recording job {job_id} {state.value}", finish)
        job = self.get(job_id)
        assert job is not None
        return job

    def complete(self, job_id: str, worker_id: str, films: Sequence[FilmRecord],
                 message: str = "") -> Job:
        return self._finish(job_id, worker_id, JobState.DONE, message, films)

    def fail(self, job_id: str, worker_id: str, message: str) -> Job:
        return self._finish(job_id, worker_id, JobState.FAILED, message, ())

    def films(self, job_id: str) -> list[FilmRecord]:
        with self._lock:
            rows = self._db.execute(f"SELECT {', '.join(_FILM_COLUMNS)} FROM films "
                                    "WHERE job_id = ? ORDER BY film", (job_id,)).fetchall()
        return [_row_to_film(r) for r in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
