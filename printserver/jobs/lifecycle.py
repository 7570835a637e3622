"""Operator actions on print jobs: cancel, retry, reprint.

The rules behind ``printserver jobs cancel|retry|reprint`` and the web's buttons, which reach them
through :class:`printserver.jobs.services.JobService`:

* **cancel**: a QUEUED (also a waiting) job is CANCELLED at once; a RENDERING or PRINTING job is
  marked and its worker cancels it at its next step, the device's jobs (CUPS) included
  (:meth:`JobStore.request_cancel`, :class:`printserver.jobs.worker.Worker`).
* **retry**: a FAILED or CANCELLED job goes back to QUEUED with its counters reset
  (:meth:`JobStore.retry`).
* **reprint**: a NEW job from the same spooled films (the pixel files hard-linked, the manifest
  copied with a new job id and Print Job SOP Instance UID and ``reprint_of``); the original job is
  not touched. Any finished or unfinished job can be reprinted until retention purged its spool.

``actor`` names who asked (an operator's user name, "cli"); it is logged with the action.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timezone

from printserver.jobs.ids import new_job_id, new_uid
from printserver.jobs.manifest import Manifest, read_manifest
from printserver.jobs.model import Job, JobState
from printserver.jobs.spool import MANIFEST_NAME, Spool, SpoolError, StagedFile
from printserver.jobs.store import JobStateError, JobStore
from printserver.jobs.writer import JobWriter

log = logging.getLogger(__name__)

#: the row fields a reprint keeps from the original job
_KEPT_FIELDS = ("printer", "calling_ae", "called_ae", "film_session_label", "print_priority",
                "film_count", "copies")


class UnknownJobError(JobStateError, LookupError):
    """No job has this id (a :class:`JobStateError`: the action cannot be done)."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        super().__init__(f"no job {job_id!r}")


def known(store: JobStore, job_id: str) -> Job:
    """The job ``job_id``; raises :class:`UnknownJobError` when there is none."""
    job = store.get(job_id)
    if job is None:
        raise UnknownJobError(job_id)
    return job


def _by(actor: str | None) -> str:
    return f" by {actor}" if actor else ""


def cancel(store: JobStore, job_id: str, actor: str | None = None) -> Job:
    """Cancel a job (see the module docstring); returns it as recorded.

    Raises
    ------
    UnknownJobError
    JobStateError
        The job is finished already.
    """
    known(store, job_id)
    job = store.request_cancel(job_id, actor=actor or "")
    log.info("job %s: cancel requested%s (%s)", job_id, _by(actor), job.state.value)
    return job


def retry(store: JobStore, job_id: str, actor: str | None = None) -> Job:
    """FAILED / CANCELLED → QUEUED; returns the job as recorded.

    Raises
    ------
    UnknownJobError
    JobStateError
        The job is not FAILED or CANCELLED, or was purged.
    """
    known(store, job_id)
    job = store.retry(job_id, actor=actor or "")
    log.info("job %s: retried%s", job_id, _by(actor) or " by an operator")
    return job


def reprint(store: JobStore, spool: Spool, job_id: str, now: datetime | None = None,
            actor: str | None = None) -> Job:
    """Queue a new job printing the same spooled films as ``job_id``; returns the new job.

    Raises
    ------
    UnknownJobError
    JobStateError
        The job's spool was purged, or is unreadable, or its manifest no longer matches the job
        record.
    """
    original = known(store, job_id)
    if original.purged_at:
        raise JobStateError(f"job {job_id} was purged at {original.purged_at}: its films are gone")
    folder = spool.job_dir(original)
    try:
        manifest = read_manifest(spool, original)
        text = (folder / MANIFEST_NAME).read_bytes()
    except (SpoolError, OSError, ValueError) as exc:
        raise JobStateError(f"job {job_id}: spool unreadable: {exc}") from exc
    if original.manifest_sha256 and hashlib.sha256(text).hexdigest() != original.manifest_sha256:
        raise JobStateError(f"job {job_id}: {folder / MANIFEST_NAME} does not match the job record")
    now = now or datetime.now(timezone.utc)
    new_id, uid = new_job_id(now), new_uid()
    files = {}
    for film in manifest["films"]:
        for box in film["image_boxes"]:
            image = box["image"]
            if image:
                path = folder / image["file"]
                if not path.is_file():
                    raise JobStateError(f"job {job_id}: spooled pixels {path} missing")
                files[image["file"]] = StagedFile(path, path.stat().st_size, image["sha256"])
    stamp = now.isoformat(timespec="milliseconds")
    copy: Manifest = {**manifest, "job_id": new_id, "print_job_uid": uid, "created_at": stamp,
            "reprint_of": original.job_id}
    row = Job(**{name: getattr(original, name) for name in _KEPT_FIELDS}, job_id=new_id,
              print_job_uid=uid, state=JobState.QUEUED, created_at=stamp, updated_at=stamp,
              spool_dir=new_id, manifest_sha256="", message=f"reprint of job {original.job_id}")
    job = JobWriter(spool, store).submit(row, copy, files, actor=actor or "")
    log.info("job %s: reprint of job %s queued%s", job.job_id, original.job_id, _by(actor))
    return job
