"""SQLite job store: WAL journal, ``synchronous=FULL`` so that a committed job survives power loss.

All SQL of the job store lives in this module.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

from printserver.jobs.model import Job, JobState
from printserver.jobs.store import JobStore, JobStoreError

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
"""

_COLUMNS = [f.name for f in dataclasses.fields(Job)]
_INSERT = f"INSERT INTO jobs ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)})"
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM jobs"


def _row_to_job(row: tuple) -> Job:
    values = dict(zip(_COLUMNS, row))
    values["state"] = JobState(values["state"])
    return Job(**values)


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

    def add(self, job: Job) -> None:
        row = tuple(job.to_dict()[c] for c in _COLUMNS)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(_INSERT, row)
                self._db.execute("COMMIT")
            except sqlite3.IntegrityError:
                self._db.execute("ROLLBACK")
                raise
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

    def close(self) -> None:
        with self._lock:
            self._db.close()
