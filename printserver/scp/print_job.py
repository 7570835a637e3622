"""Print jobs made at N-ACTION, and the Print Job SOP class N-GET and events (PS3.4 H.4.5).

:func:`print_films` freezes the film boxes into a job: every film session, film box, image box,
annotation and presentation LUT attribute as received or defaulted goes into the job's manifest
(:mod:`printserver.jobs.manifest` declares its form; this module only translates the session's
objects into it), the pixels into one file per image box, both written durably to the spool, then
the job row is committed to the job store (:class:`printserver.jobs.writer.JobWriter`), and only
then does the SCU get its answer (with the Referenced Print Job Sequence (2100,0500) when the
Print Job class was negotiated). The queued job is a copy: later N-SETs and the end of the
association do not change it.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from datetime import datetime, timezone

from pydicom.dataset import Dataset

from printserver.jobs.ids import new_job_id
from printserver.jobs.manifest import (MANIFEST_FORMAT, AnnotationEntry, FilmEntry, ImageBoxEntry,
                                       Manifest, PixelFile, PresentationLUTEntry)
from printserver.jobs.model import Job, JobState
from printserver.jobs.printer_status import queue_full
from printserver.jobs.spool import SpoolError, StagedFile
from printserver.jobs.store import JobStore, JobStoreError
from printserver.scp.association import PrintAssociation
from printserver.scp.model import PRINT_JOB, FilmBox, ImageBox, PresentationLUTRecord
from printserver.scp.status import DimseError, Reply
from printserver.vocabulary import (PRINT_JOB_EVENT_TYPES, ExecutionStatus, ExecutionStatusInfo,
                                    Status)

log = logging.getLogger(__name__)


def _plut(state: PrintAssociation, uid: str | None) -> PresentationLUTEntry | None:
    record: PresentationLUTRecord | None = state.presentation_luts.get(uid) if uid else None
    return record.to_manifest() if record else None


def _image_box(state: PrintAssociation, film: FilmBox, box: ImageBox, film_number: int,
               files: dict[str, bytes | StagedFile]) -> ImageBoxEntry:
    entry = ImageBoxEntry(
        uid=box.uid,
        sop_class_uid=box.sop_class_uid,
        index=box.index,
        position=box.position,
        attributes=dict(box.attributes),
        presentation_lut=_plut(state, box.attributes.get("ReferencedPresentationLUTSequence")
                               or film.attributes.get("ReferencedPresentationLUTSequence")),
        image=None,
    )
    if box.image is not None:
        image = box.image
        name = f"film{film_number:03d}_box{box.position:03d}.raw"
        if image.staged is not None:  # already durable in the staging folder: link it
            staged: StagedFile = image.staged.result()
            files[name], sha256 = staged, staged.sha256
        else:
            files[name], sha256 = image.pixel_data, hashlib.sha256(image.pixel_data).hexdigest()
        entry["image"] = PixelFile(
            file=name,
            rows=image.rows,
            columns=image.columns,
            bits_allocated=image.bits_allocated,
            bits_stored=image.bits_stored,
            high_bit=image.high_bit,
            pixel_representation=image.pixel_representation,
            photometric_interpretation=image.photometric_interpretation,
            samples_per_pixel=image.samples_per_pixel,
            pixel_aspect_ratio=image.pixel_aspect_ratio,
            byte_order="little",
            nbytes=image.nbytes,
            sha256=sha256,
        )
    return entry


def build_manifest(state: PrintAssociation, films: Sequence[FilmBox], action: str, job_id: str,
                   print_job_uid: str, now: datetime
                   ) -> tuple[Manifest, dict[str, bytes | StagedFile]]:
    """The manifest and pixel files of a job made of ``films`` (a snapshot of the state).

    Raises OSError when an image could not be staged (e.g. disk full).
    """
    session = state.film_session
    assert session is not None
    files: dict[str, bytes | StagedFile] = {}
    film_entries = []
    for n, film in enumerate(films, start=1):
        boxes = sorted(film.image_boxes, key=lambda b: (b.position is None, b.position or b.index))
        film_entries.append(FilmEntry(
            film_box_uid=film.uid,
            attributes=dict(film.attributes),
            image_display_format={"kind": film.display_format.kind,
                                  "counts": list(film.display_format.counts),
                                  "text": film.display_format.text},
            presentation_lut=_plut(state, film.attributes.get("ReferencedPresentationLUTSequence")),
            image_boxes=[_image_box(state, film, b, n, files) for b in boxes],
            annotation_boxes=[AnnotationEntry(uid=a.uid, index=a.index, position=a.position,
                                              text=a.text) for a in film.annotation_boxes],
        ))
    manifest = Manifest(
        format=MANIFEST_FORMAT,
        job_id=job_id,
        print_job_uid=print_job_uid,
        action=action,
        created_at=now.isoformat(timespec="milliseconds"),
        calling_ae=state.calling_ae,
        called_ae=state.called_ae,
        printer={"ae_title": state.printer.ae_title, "name": state.printer.name},
        copies=int(session.attributes.get("NumberOfCopies", 1)),
        collated=True,
        film_session={"uid": session.uid, "attributes": dict(session.attributes)},
        presentation_luts={uid: r.to_manifest() for uid, r in state.presentation_luts.items()},
        films=film_entries,
    )
    return manifest, files


def print_films(state: PrintAssociation, films: Sequence[FilmBox], action: str) -> Reply:
    """Freeze ``films`` into a durable QUEUED print job and build the N-ACTION reply.

    Raises
    ------
    DimseError
        0110 when the job cannot be written (disk full, database error): nothing is queued.
    """
    if state.jobs is None:
        raise DimseError(Status.PROCESSING_FAILURE, "no job store")
    session = state.film_session
    assert session is not None
    limit = state.limits.max_queued_jobs
    if queue_full(state.jobs.store, state.printer.ae_title, limit):
        # PS3.4 H.4.1.2.4 / H.4.2.2.4: C601 (film session) / C602 (film box) print queue full;
        # the SCU keeps its film session and may print again later
        log.warning("print for %s refused: the queue of %s holds %d jobs", state.calling_ae,
                    state.printer.ae_title, limit)
        raise DimseError(Status.QUEUE_FULL_SESSION if action == "FILM_SESSION"
                         else Status.QUEUE_FULL_FILM_BOX,
                         f"print queue full ({limit} jobs waiting), try again later")
    now = datetime.now(timezone.utc)
    job_id, uid = new_job_id(now), state.new_uid()
    try:
        if state.staging is not None:
            state.staging.run_deferred()  # images not staged yet are written now
        manifest, files = build_manifest(state, films, action, job_id, uid, now)
    except OSError as exc:
        log.error("print job for %s: pixels could not be spooled: %s", state.calling_ae, exc)
        raise DimseError(Status.PROCESSING_FAILURE, f"pixels not spooled: {exc}"[:64]) from exc
    stamp = now.isoformat(timespec="milliseconds")
    job = Job(job_id=job_id, print_job_uid=uid, state=JobState.QUEUED,
              printer=state.printer.ae_title, calling_ae=state.calling_ae,
              called_ae=state.called_ae,
              film_session_label=str(session.attributes.get("FilmSessionLabel", "")),
              print_priority=str(session.attributes.get("PrintPriority", "MED")),
              film_count=len(films), copies=manifest["copies"], created_at=stamp,
              updated_at=stamp, spool_dir=job_id, manifest_sha256="")
    try:
        job = state.jobs.submit(job, manifest, files)
    except (OSError, SpoolError, JobStoreError) as exc:
        log.error("print job for %s could not be written: %s", state.calling_ae, exc)
        raise DimseError(Status.PROCESSING_FAILURE, f"print job not stored: {exc}"[:64]) from exc
    for film in films:
        film.printed = True
    state.queued_jobs.append(job.job_id)
    log.info("print job %s queued: %d film(s) x %d copies, printer %s, from %s (%s N-ACTION)",
             job.job_id, job.film_count, job.copies, job.printer, job.calling_ae, action)
    if not state.has_context(PRINT_JOB):
        return Reply()
    item = Dataset()
    item.ReferencedSOPClassUID = PRINT_JOB
    item.ReferencedSOPInstanceUID = uid
    reply = Dataset()
    # (2100,0500) Referenced Print Job Sequence; pydicom names it ...PullStoredPrint (pitfall P3)
    reply.add_new(0x21000500, "SQ", [item])
    return Reply(dataset=reply, instance_uid=uid)


def print_job_event(execution_status: ExecutionStatus, status_info: ExecutionStatusInfo,
                    film_session_label: str, printer_name: str) -> tuple[int, Dataset]:
    """Event Type ID and Event Information of a Print Job N-EVENT-REPORT (PS3.4 H.4.5.1.1,
    Table H.4-14): Execution Status Info (2100,0030), Film Session Label (2000,0050) when the
    session had one, Printer Name (2110,0030)."""
    info = Dataset()
    info.ExecutionStatusInfo = status_info.value
    if film_session_label:
        info.FilmSessionLabel = film_session_label
    info.PrinterName = printer_name
    return PRINT_JOB_EVENT_TYPES[execution_status], info


def job_event(job: Job, printer_name: str) -> tuple[int, Dataset]:
    """The Print Job event a job's state calls for (:attr:`JobState.execution_status`: QUEUED →
    PENDING / QUEUED, RENDERING and PRINTING → PRINTING / NORMAL, DONE → DONE / NORMAL, FAILED and
    CANCELLED → FAILURE / UNKNOWN)."""
    status, info = job.state.execution_status
    return print_job_event(status, info, job.film_session_label, printer_name)


def get_print_job(store: JobStore, uid: str | None, requested: Sequence[int] | None,
                  printer_name: str) -> Reply:
    """N-GET of a Print Job (PS3.4 H.4.5.2.2, Table H.4-15) from the job store; unknown → 0112."""
    job = store.get_by_uid(uid or "")
    if job is None:
        raise DimseError(Status.NO_SUCH_SOP_INSTANCE, f"no print job {uid}")
    status, info = job.state.execution_status
    created = datetime.fromisoformat(job.created_at)
    ds = Dataset()
    ds.ExecutionStatus = status.value
    ds.ExecutionStatusInfo = info.value
    ds.PrintPriority = job.print_priority
    ds.CreationDate = f"{created:%Y%m%d}"
    ds.CreationTime = f"{created:%H%M%S}"
    ds.PrinterName = printer_name
    ds.Originator = job.calling_ae
    if requested:
        from pydicom.tag import Tag

        keep = {Tag(t) for t in requested}
        for tag in [e.tag for e in ds if e.tag not in keep]:
            del ds[tag]
    return Reply(dataset=ds)
