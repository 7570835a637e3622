"""The job store interface and how to open the configured one.

:class:`JobStore` is what the SCP, the workers, the CLI and the web use. The only implementation
today is SQLite (:class:`printserver.jobs.sqlite_store.SQLiteJobStore`, all SQL in that module);
a PostgreSQL store for several nodes implements the same methods.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Sequence

from printserver.config import Config
from printserver.errors import ConfigError, PrintserverError
from printserver.jobs.model import FilmRecord, Job, JobState


class JobStoreError(PrintserverError):
    """The job store could not do what was asked (database unavailable, full, corrupt …)."""


class ClaimLostError(JobStoreError):
    """A worker tried to finish a job it no longer holds (requeued, cancelled or re-claimed)."""


class JobStore(abc.ABC):
    """Durable table of print jobs. Every method commits before it returns."""

    @abc.abstractmethod
    def add(self, job: Job) -> None:
        """Insert a new job; durable when this returns. Raises :class:`JobStoreError`."""

    @abc.abstractmethod
    def get(self, job_id: str) -> Job | None:
        """The job with this id, or None."""

    @abc.abstractmethod
    def get_by_uid(self, print_job_uid: str) -> Job | None:
        """The job with this Print Job SOP Instance UID, or None."""

    @abc.abstractmethod
    def list(self, states: Iterable[JobState] | None = None, limit: int | None = None) -> list[Job]:
        """Jobs, oldest first, optionally only those in ``states``."""

    @abc.abstractmethod
    def set_state(self, job_id: str, state: JobState, message: str = "") -> Job:
        """Move a job to ``state``; raises KeyError for an unknown job."""

    @abc.abstractmethod
    def claim_next(self, worker_id: str) -> Job | None:
        """Atomically claim the next QUEUED job for ``worker_id`` and return it, or None.

        The job moves to RENDERING with ``attempts`` + 1, ``claimed_by`` = ``worker_id`` and
        ``claimed_at`` = now. Order: Print Priority HIGH, then MED, then LOW; within a priority the
        oldest job first. A job is claimed by exactly one worker, also across processes.
        """

    @abc.abstractmethod
    def requeue_stale(self, claimed_by: Iterable[str] | None = None,
                      max_attempts: int | None = None) -> list[Job]:
        """Put RENDERING / PRINTING jobs whose worker is gone back to QUEUED; return them.

        Parameters
        ----------
        claimed_by
            Only jobs claimed by these workers; None: every RENDERING / PRINTING job (at start-up of
            a single node, when no worker of a previous run can still be alive).
        max_attempts
            Jobs already claimed this many times go to FAILED instead (a job that kills its
            worker must not do so forever).
        """

    @abc.abstractmethod
    def complete(self, job_id: str, worker_id: str, films: Sequence[FilmRecord],
                 message: str = "") -> Job:
        """Record the job DONE together with its films, in one transaction.

        Raises :class:`ClaimLostError` when the job is no longer RENDERING / PRINTING for
        ``worker_id`` (then nothing is recorded).
        """

    @abc.abstractmethod
    def fail(self, job_id: str, worker_id: str, message: str) -> Job:
        """Record the job FAILED with a readable ``message`` (same claim check as complete)."""

    @abc.abstractmethod
    def films(self, job_id: str) -> list[FilmRecord]:
        """The finished films of a job, film order (empty unless DONE)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the connection."""

    def job_dict(self, job: Job) -> dict:
        """A job as the CLI and the JSON API show it: its row (state, message, attempts, times)
        and ``films``, each with its output files (:meth:`FilmRecord.to_dict`)."""
        return {**job.to_dict(), "films": [f.to_dict() for f in self.films(job.job_id)]}

    def __enter__(self) -> JobStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_job_store(config: Config) -> JobStore:
    """Open the job store of a configuration (SQLite in ``data_dir`` unless ``database_url``)."""
    from printserver.jobs.sqlite_store import SQLiteJobStore

    url = config.database_url
    if not url:
        return SQLiteJobStore(config.sqlite_path)
    if url.startswith("sqlite:///"):
        return SQLiteJobStore(url[len("sqlite:///"):])
    raise ConfigError(f"database_url {url!r}: only SQLite is implemented so far")
