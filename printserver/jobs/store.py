"""The job store interface and how to open the configured one.

:class:`JobStore` is what the SCP, the workers, the CLI and the web use. The only implementation
today is SQLite (:class:`printserver.jobs.sqlite_store.SQLiteJobStore`, all SQL in that module);
a PostgreSQL store for several nodes implements the same methods.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable

from printserver.config import Config
from printserver.errors import ConfigError, PrintserverError
from printserver.jobs.model import Job, JobState


class JobStoreError(PrintserverError):
    """The job store could not do what was asked (database unavailable, full, corrupt …)."""


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
    def close(self) -> None:
        """Release the connection."""

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
