"""What the job store raises: one error type for every failure of its database, and the refusals
of its transitions."""

from __future__ import annotations

from printserver.errors import PrintserverError


class JobStoreError(PrintserverError):
    """The job store could not do what was asked (database unavailable, locked, full, corrupt, not
    upgraded …). No exception of a database driver leaves the job store in any other form."""


class ClaimLostError(JobStoreError):
    """A worker tried to finish a job it no longer holds (requeued, cancelled or re-claimed)."""


class DuplicateJobError(JobStoreError):
    """A job with this job id or Print Job SOP Instance UID is already stored."""


class JobStateError(PrintserverError):
    """An operator action that the job's state does not allow (cancel a DONE job, retry a QUEUED
    one, reprint a purged one)."""
