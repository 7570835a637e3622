"""Operator actions on print jobs: cancel, retry, reprint (``printserver jobs cancel|retry|reprint``).

* **cancel**: a QUEUED (also a waiting) job is CANCELLED at once; a RENDERING or PRINTING job is
  marked and its worker cancels it at its next step, the device's jobs (CUPS) included
  (:meth:`JobStore.request_cancel`, :class:`printserver.jobs.worker.Worker`).
* **retry**: a FAILED or CANCELLED job goes back to QUEUED with its counters reset
  (:meth:`JobStore.retry`).
* **reprint**: a NEW job from the same spooled films (the pixel files hard-linked, the manifest
  copied with a new job id and Print Job SOP Instance UID and ``reprint_of``); the original job is
  not touched. Any finished or unfinished job can be reprinted until retention purged its spool.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import replace
from datetime import datetime, timezone

from pydicom.uid import generate_uid

from printserver.jobs.model import Job, JobState
from printserver.jobs.spool import MANIFEST_NAME, Spool, SpoolError, StagedFile
from printserver.jobs.store import JobStateError, JobStore

log = logging.getLogger(__name__)


def _known(store: JobStore, job_id: str) -> Job:
    job = store.get(job_id)
    if job is None:
        raise JobStateError(f"no job {job_id!r}")
    return job


def cancel(store: JobStore, job_id: str) -> Job:
    """Cancel a job (see the module docstring); returns it as recorded."""
    _known(store, job_id)
    job = store.request_cancel(job_id)
    log.info("job %s: cancel requested (%s)", job_id, job.state.value)
    return job


def retry(store: JobStore, job_id: str) -> Job:
    """FAILED / CANCELLED → QUEUED; returns the job as recorded."""
    _known(store, job_id)
    job = store.retry(job_id)
    log.info("job %s: retried by an operator", job_id)
    return job


def reprint(store: JobStore, spool: Spool, job_id: str, now: datetime | None = None) -> Job:
    """Queue a new job printing the same spooled films as ``job_id``; returns the new job.

    Raises
    ------
    JobStateError
        Unknown job, or its spool was purged, or its manifest no longer matches the job record.
    """
    from printserver.scp.association import UID_PREFIX  # the SCP's own job writing and UIDs
    from printserver.scp.print_job import JobWriter, new_job_id

    original = _known(store, job_id)
    if original.purged_at:
        raise JobStateError(f"job {job_id} was purged at {original.purged_at}: its films are gone")
    folder = spool.job_dir(original)
    try:
        manifest = spool.load_manifest(original)
        text = (folder / MANIFEST_NAME).read_bytes()
    except (SpoolError, OSError, ValueError) as exc:
        raise JobStateError(f"job {job_id}: spool unreadable: {exc}") from exc
    if original.manifest_sha256 and hashlib.sha256(text).hexdigest() != original.manifest_sha256:
        raise JobStateError(f"job {job_id}: {folder / MANIFEST_NAME} does not match the job record")
    now = now or datetime.now(timezone.utc)
    new_id, uid = new_job_id(now), generate_uid(prefix=UID_PREFIX)
    files = {}
    for film in manifest["films"]:
        for box in film["image_boxes"]:
            image = box.get("image")
            if image:
                path = folder / image["file"]
                if not path.is_file():
                    raise JobStateError(f"job {job_id}: spooled pixels {path} missing")
                files[image["file"]] = StagedFile(path, path.stat().st_size, image["sha256"])
    stamp = now.isoformat(timespec="milliseconds")
    manifest = {**manifest, "job_id": new_id, "print_job_uid": uid, "created_at": stamp,
                "reprint_of": original.job_id}
    row = replace(Job(**{name: getattr(original, name) for name in (
        "printer", "calling_ae", "called_ae", "film_session_label", "print_priority",
        "film_count", "copies")}, job_id=new_id, print_job_uid=uid, state=JobState.QUEUED,
        created_at=stamp, updated_at=stamp, spool_dir=new_id, manifest_sha256=""),
        message=f"reprint of job {original.job_id}")
    job = JobWriter(spool, store).submit(row, manifest, files)
    log.info("job %s: reprint of job %s queued", job.job_id, original.job_id)
    return job
