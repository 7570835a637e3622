"""The render worker: claims QUEUED jobs and turns each into finished films.

One pass (:meth:`Worker.run_once`): claim the next job (:meth:`JobStore.claim_next`: RENDERING),
load its manifest and pixels from the spool, hand it to the printer's output (for ``pdf``:
:func:`printserver.layout.job_render.render_job` into the PDF folder), and record DONE with its
films, or FAILED with a readable reason.

Outputs whose device can be down or prints later (CUPS):

* the output raises :class:`~printserver.outputs.base.OutputUnavailable` (queue stopped or missing,
  server down): the job goes back to QUEUED with ``retry_at`` = now + a back-off
  (``[workers] retry_delay`` doubled per unavailable attempt up to ``retry_max_delay``), and the
  printer's output status becomes the error's Printer Status / Status Info (PS3.3 C.13.9.1); it
  returns to NORMAL when the output delivers again;
* the output accepted the job but has not printed it (``RenderedJob.references``, e.g. CUPS job
  ids): the job goes PRINTING, the worker lets go of it, and every ``[workers] follow_interval``
  a worker claims it again to ask the output (:meth:`Output.follow`) until DONE, FAILED or
  CANCELLED;
* an operator's cancel of a RENDERING / PRINTING job is carried out at the worker's next step: the
  device's jobs are cancelled (:meth:`Output.cancel`) and the job recorded CANCELLED. Bad input never stops the worker: a
:class:`~printserver.layout.status.LayoutError` (image larger than its box with FAIL, unknown film
size or display format), a corrupt or missing spool file, an output that cannot be written or is
not implemented, and any unexpected exception (logged with its traceback) fail that job only, and
the loop goes on with the next one.

:meth:`Worker.run` loops until a stop event is set, sleeping ``poll_interval`` seconds while the
queue is empty. ``printserver serve`` runs workers in their own processes
(:mod:`printserver.jobs.pool`); tests run a worker in their own process.

With ``PRINTSERVER_HOLD_DIR`` set (a test and diagnostic hook, :mod:`printserver.jobs.hold`), a
worker holds each job it claims for rendering at RENDERING until the job is released.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np

from printserver.config import Config, PrinterConfig, WorkersConfig
from printserver.errors import PrintserverError
from printserver.jobs.hold import HoldPoint
from printserver.jobs.manifest import read_manifest
from printserver.jobs.model import FilmRecord, Job, JobState
from printserver.jobs.printer_calibrations import CALIBRATION_KEY, PrinterCalibrations
from printserver.jobs.spool import MANIFEST_NAME, Spool
from printserver.jobs.store import ClaimLostError, JobStore, JobStoreError
from printserver.layout.film_layout import plan_film
from printserver.layout.job_render import RenderedJob, film_spec
from printserver.layout.status import LayoutError
from printserver.outputs import open_output
from printserver.outputs.base import (DeliveryState, DeviceStatus, Output, OutputError,
                                      OutputUnavailable)
from printserver.vocabulary import PrinterStatus

log = logging.getLogger(__name__)

#: longest failure message kept on the job record
MAX_MESSAGE = 500


class JobFailure(PrintserverError):
    """A job that cannot be finished; the message is what the job record shows."""


def retry_delay(retries: int, workers: WorkersConfig) -> float:
    """Seconds a job waits after its output was unavailable ``retries`` + 1 times in a row.

    Exponential back-off: ``retry_delay · 2^retries``, capped at ``retry_max_delay``.
    """
    return min(workers.retry_max_delay, workers.retry_delay * 2.0 ** min(retries, 30))


def _after(seconds: float) -> datetime:
    return datetime.now(timezone.utc) + timedelta(seconds=seconds)


@dataclass
class Worker:
    """Turns queued jobs into finished films, one at a time.

    Parameters
    ----------
    config
        Printers, data folder and ``[workers]`` settings.
    store
        The job store (this worker's own connection).
    spool
        The spool the jobs' manifests and pixels are in.
    worker_id
        Name recorded as ``claimed_by``; unique per worker and per run (host, pid, number).
    hold
        Where claimed jobs wait before rendering (:mod:`printserver.jobs.hold`); by default the
        folder ``PRINTSERVER_HOLD_DIR`` names, normally none.
    """

    config: Config
    store: JobStore
    spool: Spool
    worker_id: str
    hold: HoldPoint | None = field(default_factory=HoldPoint.from_environment)

    def run(self, stop: threading.Event | Any) -> None:
        """Process jobs until ``stop`` (anything with ``is_set`` / ``wait``) is set."""
        log.info("worker %s started", self.worker_id)
        if self.hold is not None:
            log.warning("worker %s: every job it claims waits at RENDERING until released in %s "
                        "(PRINTSERVER_HOLD_DIR, a test and diagnostic hook)", self.worker_id,
                        self.hold.folder)
        interval = self.config.workers.poll_interval
        while not stop.is_set():
            try:
                job = self.run_once(stop)
            except JobStoreError as exc:  # database busy or gone: keep trying, slowly
                log.error("worker %s: job store: %s", self.worker_id, exc)
                stop.wait(max(interval, 1.0))
                continue
            except Exception:  # e.g. a raw sqlite3 error: logged, and the loop goes on
                log.exception("worker %s: unexpected error outside a job", self.worker_id)
                stop.wait(max(interval, 1.0))
                continue
            if job is None:
                stop.wait(interval)
        log.info("worker %s stopped", self.worker_id)

    def run_once(self, stop: threading.Event | Any = None) -> Job | None:
        """Claim and process one job; return it as recorded (None when the queue was empty).

        ``stop`` (the loop's stop event, if any) also ends a hold (:mod:`printserver.jobs.hold`).

        Raises
        ------
        JobStoreError
            The job store could not be read or written (the job, if claimed, stays RENDERING and
            is requeued when serve restarts).
        """
        job = self.store.claim_next(self.worker_id)
        if job is None:
            return None
        if job.state is JobState.PRINTING:
            return self.follow(job)
        if self.hold is not None:
            self.hold.hold(job.job_id, job.attempts, self.worker_id, stop)
        return self.process(job)

    def process(self, job: Job) -> Job:
        """Render and deliver a claimed job, then record DONE, PRINTING, waiting or FAILED."""
        log.info("job %s: rendering (attempt %d, printer %s, %d film(s) x %d)", job.job_id,
                 job.attempts, job.printer, job.film_count, job.copies)
        start = time.perf_counter()
        try:
            output = self._output(job)
            films, rendered = self._render(job, output)
        except JobStoreError:
            raise
        except OutputUnavailable as exc:
            return self._postpone(job, exc)
        except PrintserverError as exc:  # LayoutError, OutputError, spool errors: readable
            return self._fail(job, str(exc))
        except Exception as exc:  # a bug must fail the job, not the worker
            log.exception("job %s: unexpected error while rendering", job.job_id)
            return self._fail(job, f"internal error: {type(exc).__name__}: {exc}")
        seconds = time.perf_counter() - start
        warnings = sum(len(f.warnings) for f in films)
        message = f"{len(films)} film(s) rendered in {seconds:.2f} s" + (
            f", {warnings} warning(s)" if warnings else "")
        if rendered.delivery:  # what a PACS or film printer answered
            message += "; " + "; ".join(rendered.delivery)
            message = message if len(message) <= MAX_MESSAGE else message[:MAX_MESSAGE - 3] + "..."
        self._record_device(job.printer, DeviceStatus())
        try:
            current = self.store.get(job.job_id)
            if current is not None and current.cancel_requested:
                try:
                    return self._cancel(job, output, rendered.references, "while rendering")
                except OutputError as exc:  # PRINTING below; following it cancels again
                    log.warning("job %s: cancelling %s failed: %s", job.job_id,
                                " ".join(rendered.references), exc)
            if rendered.references:
                printing = self.store.start_printing(
                    job.job_id, self.worker_id, rendered.references, films,
                    _after(self.config.workers.follow_interval),
                    f"{message}; sent to the printer as {' '.join(rendered.references)}")
                log.info("job %s: PRINTING as %s", job.job_id, " ".join(rendered.references))
                return printing
            done = self.store.complete(job.job_id, self.worker_id, films, message)
        except ClaimLostError as exc:
            log.warning("job %s: %s", job.job_id, exc)
            return self.store.get(job.job_id) or job
        log.info("job %s: DONE, rendered %d film(s) in %.2f s -> %s", job.job_id, len(films),
                 seconds, ", ".join(str(p) for p in rendered.pdf_files))
        return done

    def follow(self, job: Job) -> Job:
        """Ask the output about a PRINTING job; record DONE / FAILED / CANCELLED or let it wait."""
        references = job.output_ref.split()
        follow_at = _after(self.config.workers.follow_interval)
        try:
            output = self._output(job)
            status = output.follow(references)
            if job.cancel_requested and status.state is DeliveryState.PENDING:
                return self._cancel(job, output, references, "while printing")
            if status.state is DeliveryState.PENDING:
                self._record_device(job.printer, output.check())
                return self.store.keep_printing(job.job_id, self.worker_id, follow_at,
                                                status.message or "printing")
            if status.state is DeliveryState.DONE:
                self._record_device(job.printer, DeviceStatus())
                message = f"printed as {job.output_ref}" + (
                    f"; {status.message}" if status.message else "") + (
                    "; the cancel request came too late" if job.cancel_requested else "")
                done = self.store.complete(job.job_id, self.worker_id,
                                           self.store.films(job.job_id), message)
                log.info("job %s: DONE, printed as %s", job.job_id, job.output_ref)
                return done
            if status.state is DeliveryState.CANCELLED:
                return self.store.cancelled(job.job_id, self.worker_id,
                                            f"cancelled at the printer: {status.message}")
            return self._fail(job, f"the printer gave up on {job.output_ref}: {status.message}")
        except ClaimLostError as exc:
            log.warning("job %s: %s", job.job_id, exc)
            return self.store.get(job.job_id) or job
        except JobStoreError:
            raise
        except OutputUnavailable as exc:  # the device cannot be asked now: ask again later
            self._record_device(job.printer, DeviceStatus.unavailable(exc))
            log.warning("job %s: printer %s unavailable while printing: %s", job.job_id,
                        job.printer, exc)
            return self.store.keep_printing(job.job_id, self.worker_id, follow_at,
                                            f"waiting for the printer: {exc}")
        except PrintserverError as exc:
            return self._fail(job, str(exc))
        except Exception as exc:  # a bug must fail the job, not the worker
            log.exception("job %s: unexpected error while following its delivery", job.job_id)
            return self._fail(job, f"internal error: {type(exc).__name__}: {exc}")

    def _cancel(self, job: Job, output: Output, references: tuple[str, ...] | list[str],
                when: str) -> Job:
        """Carry out an operator's cancel: the device's jobs first, then the record."""
        if references:
            output.cancel(references)
        message = f"cancelled by an operator {when}" + (
            f" (printer jobs {' '.join(references)} cancelled)" if references else "")
        log.info("job %s: CANCELLED %s", job.job_id, when)
        return self.store.cancelled(job.job_id, self.worker_id, message)

    def _postpone(self, job: Job, exc: OutputUnavailable) -> Job:
        """The output cannot take the job now: record the printer's status, wait, retry."""
        self._record_device(job.printer, DeviceStatus.unavailable(exc))
        delay = retry_delay(job.retries, self.config.workers)
        reason = str(exc)[:MAX_MESSAGE - 60]
        log.warning("job %s: printer %s unavailable (%s); retry in %.0f s", job.job_id,
                    job.printer, reason, delay)
        try:
            return self.store.postpone(job.job_id, self.worker_id, _after(delay),
                                       f"waiting for the printer (retry {job.retries + 1} in "
                                       f"{delay:.0f} s): {reason}")
        except ClaimLostError as lost:
            log.warning("job %s: %s", job.job_id, lost)
            return self.store.get(job.job_id) or job

    def _record_device(self, printer: str, status: DeviceStatus) -> None:
        """Record the printer's output status (a write only when it changed)."""
        before = self.store.printer_state(printer)
        if (before.output_status, before.output_status_info) != (status.status,
                                                                 status.status_info):
            log.log(logging.INFO if status.status == PrinterStatus.NORMAL else logging.WARNING,
                    "printer %s: %s / %s %s", printer, status.status, status.status_info,
                    status.message)
        self.store.set_output_status(printer, status.status, status.status_info, status.message)

    def _output(self, job: Job) -> Output:
        printer = self.config.printer(job.printer)
        if printer is None:
            raise JobFailure(f"printer {job.printer} is not configured any more")
        return open_output(printer, self.config)

    def _render(self, job: Job, output: Output) -> tuple[list[FilmRecord], RenderedJob]:
        printer = self.config.printer(job.printer)
        assert printer is not None  # checked by _output
        manifest = self._manifest(job)
        # the printer's stored calibration, read now: applied from the next job after it is stored
        calibration = PrinterCalibrations(self.store.db).for_render(job.printer,
                                                                    job.film_session_label)
        if calibration is not None:
            manifest = {**manifest, CALIBRATION_KEY: calibration}

        def load(film: int, position: int) -> np.ndarray:
            return self.spool.load_pixels(job, film, position, manifest)

        rendered = output.deliver(manifest, load)
        sizes = _film_sizes(manifest, printer)
        copies = max(1, int(manifest.get("copies", 1) or 1))
        films = []
        for film in rendered.films:
            width, height, dpi = sizes[film.film]
            films.append(FilmRecord(
                job_id=job.job_id, film=film.film, copies=copies,
                pdf_files=tuple(str(p.resolve()) for p in film.pdf_files),
                preview=str(film.preview.resolve()) if film.preview else "",
                width_mm=width, height_mm=height, dpi=dpi,
                render_seconds=round(float(film.timing.get("total", 0.0)), 3),
                warnings=tuple(str(w) for w in film.warnings), calibration=rendered.calibration))
        return films, rendered

    def _manifest(self, job: Job) -> Mapping[str, Any]:
        """The job's manifest, checked against the SHA-256 the job row recorded."""
        path = self.spool.job_dir(job) / MANIFEST_NAME
        try:
            manifest = read_manifest(self.spool, job)
        except PrintserverError as exc:
            raise JobFailure(f"spool: {exc}") from exc
        except (OSError, ValueError) as exc:
            raise JobFailure(f"spool: {path}: unreadable ({type(exc).__name__}: {exc})") from exc
        if not isinstance(manifest, dict):
            raise JobFailure(f"spool: {path}: not a job manifest")
        if job.manifest_sha256 and _sha256(path) != job.manifest_sha256:
            raise JobFailure(f"spool: {path}: SHA-256 does not match the job record")
        return manifest

    def _fail(self, job: Job, reason: str) -> Job:
        reason = reason if len(reason) <= MAX_MESSAGE else reason[:MAX_MESSAGE - 3] + "..."
        log.warning("job %s: FAILED: %s", job.job_id, reason)
        try:
            return self.store.fail(job.job_id, self.worker_id, reason)
        except ClaimLostError as exc:
            log.warning("job %s: %s", job.job_id, exc)
            return self.store.get(job.job_id) or job


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _film_sizes(manifest: Mapping[str, Any], printer: PrinterConfig
                ) -> dict[int, tuple[float, float, float]]:
    """Film number → (width mm, height mm, dpi) as the layout plans it (no pixels loaded)."""
    try:
        films = manifest["films"]
        sizes = {}
        for number, entry in enumerate(films, start=1):
            geometry = plan_film(film_spec(entry, manifest), printer).geometry
            sizes[number] = (round(geometry.width_mm, 3), round(geometry.height_mm, 3),
                             float(geometry.dpi))
        return sizes
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, LayoutError):
            raise
        raise LayoutError(f"job manifest: missing or malformed value "
                          f"({type(exc).__name__}: {exc})") from exc
