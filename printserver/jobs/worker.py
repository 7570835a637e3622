"""The render worker: claims QUEUED jobs and turns each into finished films.

One pass (:meth:`Worker.run_once`): claim the next job (:meth:`JobStore.claim_next`: RENDERING),
load its manifest and pixels from the spool, hand it to the printer's output (for ``pdf``:
:func:`printserver.layout.job_render.render_job` into the PDF folder), and record DONE with its
films, or FAILED with a readable reason. Bad input never stops the worker: a
:class:`~printserver.layout.status.LayoutError` (image larger than its box with FAIL, unknown film
size or display format), a corrupt or missing spool file, an output that cannot be written or is
not implemented, and any unexpected exception (logged with its traceback) fail that job only, and
the loop goes on with the next one.

:meth:`Worker.run` loops until a stop event is set, sleeping ``poll_interval`` seconds while the
queue is empty. ``printserver serve`` runs workers in their own processes
(:mod:`printserver.jobs.pool`); tests run a worker in their own process.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from printserver.config import Config, PrinterConfig
from printserver.errors import PrintserverError
from printserver.jobs.model import FilmRecord, Job
from printserver.jobs.spool import MANIFEST_NAME, Spool
from printserver.jobs.store import ClaimLostError, JobStore, JobStoreError
from printserver.layout.film_layout import plan_film
from printserver.layout.job_render import RenderedJob, film_spec
from printserver.layout.status import LayoutError
from printserver.outputs import open_output

log = logging.getLogger(__name__)

#: longest failure message kept on the job record
MAX_MESSAGE = 500


class JobFailure(PrintserverError):
    """A job that cannot be finished; the message is what the job record shows."""


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
    """

    config: Config
    store: JobStore
    spool: Spool
    worker_id: str

    def run(self, stop: threading.Event | Any) -> None:
        """Process jobs until ``stop`` (anything with ``is_set`` / ``wait``) is set."""
        log.info("worker %s started", self.worker_id)
        interval = self.config.workers.poll_interval
        while not stop.is_set():
            try:
                job = self.run_once()
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

    def run_once(self) -> Job | None:
        """Claim and process one job; return it as recorded (None when the queue was empty).

        Raises
        ------
        JobStoreError
            The job store could not be read or written (the job, if claimed, stays RENDERING and
            is requeued when serve restarts).
        """
        job = self.store.claim_next(self.worker_id)
        if job is None:
            return None
        return self.process(job)

    def process(self, job: Job) -> Job:
        """Render and deliver a claimed job, then record DONE or FAILED."""
        log.info("job %s: rendering (attempt %d, printer %s, %d film(s) x %d)", job.job_id,
                 job.attempts, job.printer, job.film_count, job.copies)
        start = time.perf_counter()
        try:
            films, rendered = self._render(job)
        except JobStoreError:
            raise
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
        try:
            done = self.store.complete(job.job_id, self.worker_id, films, message)
        except ClaimLostError as exc:
            log.warning("job %s: %s", job.job_id, exc)
            return self.store.get(job.job_id) or job
        log.info("job %s: DONE, rendered %d film(s) in %.2f s -> %s", job.job_id, len(films),
                 seconds, ", ".join(str(p) for p in rendered.pdf_files))
        return done

    def _render(self, job: Job) -> tuple[list[FilmRecord], RenderedJob]:
        printer = self.config.printer(job.printer)
        if printer is None:
            raise JobFailure(f"printer {job.printer} is not configured any more")
        output = open_output(printer, self.config)
        manifest = self._manifest(job)

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
                warnings=tuple(str(w) for w in film.warnings)))
        return films, rendered

    def _manifest(self, job: Job) -> Mapping[str, Any]:
        """The job's manifest, checked against the SHA-256 the job row recorded."""
        path = self.spool.job_dir(job) / MANIFEST_NAME
        try:
            manifest = self.spool.load_manifest(job)
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
