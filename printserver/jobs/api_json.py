"""The JSON of the API (``../shared/DESIGN.md`` "Web and JSON API"), made from the services'
records in one place, so that ``/api`` and the pages' live updates show the same objects.

* a **job**: :func:`job_json`: ``job_id``, ``state``, ``printer``, ``calling_ae``,
  ``called_ae``, ``film_session_label``, ``print_priority``, ``film_count``, ``copies``,
  ``created_at``, ``updated_at``, ``finished_at``, ``message``, ``attempts``,
  ``cancel_requested``, ``purged``; with its films, ``films``;
* a **film**: :func:`film_json`: ``film``, ``copies``, ``width_mm``, ``height_mm``, ``dpi``,
  ``warnings``, ``files`` (one ``{"kind": "pdf", "index", "name", "url"}`` per PDF), ``preview``
  (``{"kind": "preview", "index": 0, "name", "url"}`` or null) and ``preview_url``. File names
  are the base names only (never a path of the server). URLs are the web's business: it passes
  a :data:`FileUrl` (its ``url_for``); without one they are null;
* a **job list**: :func:`job_page_json`: ``{"jobs": [job, ...], "next": cursor-or-null}``;
* a **job's detail**: :func:`job_detail_json`: the job with ``films``, ``timeline`` (state
  changes with times and actors), ``film_session`` (its attributes), ``film_boxes`` (each box's
  attributes, image display format, image boxes and annotations) and, when the manifest cannot
  be read, ``manifest_error``;
* a **printer**: :func:`printer_json`: ``ae_title``, ``name``, ``status``, ``status_info``,
  ``queue_length``, ``output_kind``, ``paused`` and what else :class:`PrinterView` knows;
  :func:`printers_json` ``{"printers": [...]}``.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable, Sequence
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from printserver.jobs.manifest import Manifest
from printserver.jobs.model import FilmRecord, Job, JobPage

if TYPE_CHECKING:  # pragma: no cover
    from printserver.jobs.services import JobDetail, PrinterView

#: the URL of a film's file: (job id, film number, kind ``pdf`` | ``preview``, index) → URL
FileUrl = Callable[[str, int, str, int], str]

#: the keys of a job object, in order (DESIGN.md's eight first)
JOB_KEYS = ("job_id", "state", "printer", "calling_ae", "created_at", "updated_at", "film_count",
            "message", "called_ae", "film_session_label", "print_priority", "copies",
            "finished_at", "attempts", "cancel_requested")

_job_values = attrgetter(*JOB_KEYS)


def _file(job_id: str, film: int, kind: str, index: int, path: str,
          file_url: FileUrl | None) -> dict[str, Any]:
    return {"kind": kind, "index": index, "name": posixpath.basename(path),
            "url": file_url(job_id, film, kind, index) if file_url is not None else None}


def film_json(film: FilmRecord, file_url: FileUrl | None = None) -> dict[str, Any]:
    """A finished film with its files (module docstring)."""
    preview = (_file(film.job_id, film.film, "preview", 0, film.preview, file_url)
               if film.preview else None)
    return {"film": film.film, "copies": film.copies, "width_mm": film.width_mm,
            "height_mm": film.height_mm, "dpi": film.dpi, "warnings": list(film.warnings),
            "files": [_file(film.job_id, film.film, "pdf", i, name, file_url)
                      for i, name in enumerate(film.pdf_files)],
            "preview": preview, "preview_url": preview["url"] if preview else None}


def job_json(job: Job, films: Sequence[FilmRecord] | None = None,
             file_url: FileUrl | None = None) -> dict[str, Any]:
    """A job object; with ``films`` (its finished films) also ``films``."""
    out: dict[str, Any] = dict(zip(JOB_KEYS, _job_values(job)))
    out["state"] = job.state.value
    out["purged"] = bool(job.purged_at)
    if films is not None:
        out["films"] = [film_json(f, file_url) for f in films]
    return out


def job_page_json(page: JobPage, file_url: FileUrl | None = None) -> dict[str, Any]:
    """``{"jobs": [job with films, ...], "next": cursor-or-null}``."""
    return {"jobs": [job_json(j, page.films.get(j.job_id, []), file_url) for j in page.jobs],
            "next": page.next_cursor}


def _film_boxes(manifest: Manifest) -> list[dict[str, Any]]:
    boxes = []
    for number, film in enumerate(manifest["films"], start=1):
        boxes.append({
            "film": number, "attributes": film["attributes"],
            "image_display_format": film["image_display_format"]["text"],
            "image_boxes": [
                {"position": b["position"], "attributes": b["attributes"],
                 "image": None if b["image"] is None else {
                     key: b["image"][key] for key in ("rows", "columns", "bits_stored",
                                                      "photometric_interpretation")}}
                for b in film["image_boxes"]],
            "annotations": [{"position": a["position"], "text": a["text"]}
                            for a in film["annotation_boxes"]]})
    return boxes


def job_detail_json(detail: JobDetail, file_url: FileUrl | None = None) -> dict[str, Any]:
    """One job with everything known about it (module docstring)."""
    out = job_json(detail.job, detail.films, file_url)
    out["timeline"] = [e.to_dict() for e in detail.timeline]
    manifest = detail.manifest
    out["film_session"] = manifest["film_session"]["attributes"] if manifest else None
    out["film_boxes"] = _film_boxes(manifest) if manifest else []
    if manifest is None:
        out["manifest_error"] = detail.manifest_error
    return out


def printer_json(view: PrinterView) -> dict[str, Any]:
    """A printer object: DESIGN.md's keys first, then the rest of :class:`PrinterView`."""
    first = {key: getattr(view, key) for key in ("ae_title", "name", "status", "status_info",
                                                 "queue_length", "output_kind", "paused")}
    return {**first, **view.to_dict()}


def printers_json(views: Iterable[PrinterView]) -> dict[str, Any]:
    """``{"printers": [printer, ...]}``."""
    return {"printers": [printer_json(v) for v in views]}
