"""The job store interface and how to open the configured one.

:class:`JobStore` is what the SCP, the workers, the CLI and the web use. Two implementations
with the same semantics: SQLite (:class:`printserver.jobs.sqlite_store.SQLiteJobStore`, the
default, one node) and PostgreSQL (:class:`printserver.jobs.postgres_store.PostgresJobStore`, one
queue shared by several ``printserver serve`` nodes); all SQL of each lives in its module.

Nodes: every serve that runs workers is a *node* with an id (:func:`node_id`) and a lease in the
store (:meth:`JobStore.heartbeat`, renewed every few seconds). Its workers' ids start with the
node id (``<node id>/w1.1``), so that the node holding a claimed job is known. When a node's lease
expires (it died, or stalled longer than the lease), any live node puts its jobs back in the queue
(:meth:`JobStore.requeue_orphaned`).
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Sequence
import os
import socket
from datetime import datetime, timezone

from printserver.config import Config
from printserver.errors import ConfigError, PrintserverError
from printserver.jobs.model import FilmRecord, Job, JobState, PrinterState


class JobStoreError(PrintserverError):
    """The job store could not do what was asked (database unavailable, full, corrupt …)."""


class ClaimLostError(JobStoreError):
    """A worker tried to finish a job it no longer holds (requeued, cancelled or re-claimed)."""


class DuplicateJobError(JobStoreError):
    """A job with this job id or Print Job SOP Instance UID is already stored."""


class JobStateError(PrintserverError):
    """An operator action that the job's state does not allow (cancel a DONE job, retry a QUEUED
    one, reprint a purged one)."""


def node_id() -> str:
    """A new id for this process as a node: host, process id and start time (UTC)."""
    return (f"{socket.gethostname()}:{os.getpid()}:"
            f"{datetime.now(timezone.utc):%Y%m%dT%H%M%S.%f}")


def node_of(worker_id: str) -> str:
    """The node a worker id belongs to (``<node id>/<worker>``)."""
    return worker_id.split("/", 1)[0]


class JobStore(abc.ABC):
    """Durable table of print jobs. Every method commits before it returns."""

    #: several nodes may share this store (False: one serve at a time, e.g. an SQLite file)
    shared: bool = False

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
    def claim_next(self, worker_id: str, now: datetime | None = None) -> Job | None:
        """Atomically claim the next job for ``worker_id`` and return it, or None.

        First a PRINTING job whose delivery is due to be asked about (not held by a worker,
        ``retry_at`` <= now): it stays PRINTING, ``claimed_by`` = ``worker_id``. Else the next
        QUEUED job whose ``retry_at`` is not in the future and whose printer is not paused: it moves
        to RENDERING with ``attempts`` + 1, ``claimed_by`` = ``worker_id`` and ``claimed_at`` = now.
        Order: Print Priority HIGH, then MED, then LOW; within a priority the oldest job first. A job
        is claimed by exactly one worker, also across processes.
        """

    @abc.abstractmethod
    def start_printing(self, job_id: str, worker_id: str, references: Sequence[str],
                       films: Sequence[FilmRecord], follow_at: datetime, message: str) -> Job:
        """RENDERING → PRINTING: the output accepted the job as ``references`` (e.g. CUPS job ids).

        The films are recorded, the worker lets go of the job (``claimed_by`` empty) and a worker
        asks the output about it again at ``follow_at``. Raises :class:`ClaimLostError`.
        """

    @abc.abstractmethod
    def keep_printing(self, job_id: str, worker_id: str, follow_at: datetime,
                      message: str) -> Job:
        """A PRINTING job the worker asked about is not finished: let go of it until ``follow_at``."""

    @abc.abstractmethod
    def postpone(self, job_id: str, worker_id: str, retry_at: datetime, message: str) -> Job:
        """RENDERING → QUEUED because the output is unavailable: ``retries`` + 1, not claimed
        before ``retry_at``. Raises :class:`ClaimLostError`."""

    @abc.abstractmethod
    def cancelled(self, job_id: str, worker_id: str, message: str) -> Job:
        """Record a held job CANCELLED (after an operator's request); its films are kept."""

    @abc.abstractmethod
    def request_cancel(self, job_id: str) -> Job:
        """Cancel a job: a QUEUED job at once (CANCELLED); a RENDERING or PRINTING job gets
        ``cancel_requested`` and its worker cancels it at its next step.

        Raises KeyError for an unknown job, :class:`JobStateError` for a finished one.
        """

    @abc.abstractmethod
    def retry(self, job_id: str) -> Job:
        """FAILED or CANCELLED → QUEUED, attempts and retries reset, films forgotten.

        Raises KeyError, or :class:`JobStateError` when the job is not FAILED / CANCELLED or was
        purged."""

    @abc.abstractmethod
    def finished_before(self, cutoff: datetime) -> list[Job]:
        """DONE / FAILED / CANCELLED jobs not yet purged that finished before ``cutoff``."""

    @abc.abstractmethod
    def mark_purged(self, job_id: str) -> bool:
        """Record the job purged, only if it is finished and not purged yet; True if recorded.

        Retention removes files only after this returned True, so that a job an operator just
        retried is never touched."""

    @abc.abstractmethod
    def printer_state(self, ae_title: str) -> PrinterState:
        """The stored state of a printer (defaults for a printer never recorded)."""

    @abc.abstractmethod
    def printer_states(self) -> list[PrinterState]:
        """Every recorded printer state."""

    @abc.abstractmethod
    def set_paused(self, ae_title: str, paused: bool) -> PrinterState:
        """Pause (its queued jobs wait) or resume a printer."""

    @abc.abstractmethod
    def set_output_status(self, ae_title: str, status: str, status_info: str,
                          message: str = "") -> PrinterState:
        """Record the state of a printer's output device (Printer Status / Status Info terms)."""

    @abc.abstractmethod
    def queue_lengths(self) -> dict[str, int]:
        """Printer AE title → number of its unfinished jobs (QUEUED, RENDERING, PRINTING)."""

    @abc.abstractmethod
    def requeue_stale(self, claimed_by: Iterable[str] | None = None,
                      max_attempts: int | None = None) -> list[Job]:
        """Put RENDERING jobs whose worker is gone back to QUEUED; return them.

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

    @abc.abstractmethod
    def heartbeat(self, node_id: str, lease_seconds: float) -> bool:
        """Take or renew the lease of a node until now + ``lease_seconds``.

        Returns True when the node held its lease without a break, False when it had none (first
        call) or it had expired: then its jobs may have been requeued, and the claim checks of
        :meth:`complete` and the like refuse what its workers still report about them.
        """

    @abc.abstractmethod
    def live_nodes(self) -> list[str]:
        """Ids of the nodes whose lease has not expired (expired leases are removed)."""

    @abc.abstractmethod
    def leave(self, node_id: str) -> None:
        """End a node's lease (at a clean stop, once its workers are stopped)."""

    def requeue_orphaned(self, max_attempts: int | None = None) -> list[Job]:
        """Requeue the RENDERING / PRINTING jobs held by workers of nodes without a live lease.

        As :meth:`requeue_stale` for those workers (a PRINTING job is let go, not rendered again).
        Run by every live node every few seconds; two nodes doing it at once requeue each job once.
        """
        live = set(self.live_nodes())
        gone = {job.claimed_by for job in self.list([JobState.RENDERING, JobState.PRINTING])
                if job.claimed_by and node_of(job.claimed_by) not in live}
        return self.requeue_stale(sorted(gone), max_attempts) if gone else []

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
    """Open the job store of a configuration: SQLite in ``data_dir`` unless ``database_url``
    names one (``sqlite:///PATH``) or a PostgreSQL database (``postgresql://`` or
    ``postgres://user@host:port/db``)."""
    from printserver.jobs.sqlite_store import SQLiteJobStore

    url = config.database_url
    if not url:
        return SQLiteJobStore(config.sqlite_path)
    if url.startswith("sqlite:///"):
        return SQLiteJobStore(url[len("sqlite:///"):])
    if url.startswith(("postgresql://", "postgres://")):
        from printserver.jobs.postgres_store import PostgresJobStore

        return PostgresJobStore(url)
    raise ConfigError(f"database_url {url.split('@')[-1]!r}: expected sqlite:///PATH or "
                      "postgresql://user@host:port/database")
