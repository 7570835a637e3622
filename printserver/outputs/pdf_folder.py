"""The ``pdf`` output: finished films as PDF files in a folder, PNG previews beside them.

The folder is the printer's ``output.path`` (relative paths under ``data_dir``; default
``var/films``); previews go to ``data_dir/films/previews/<job>_film<NN>.png``. File names come
from ``output.filename_template`` with the fields ``{printer} {job_id} {film} {copy} {calling_aet}
{date}`` (``date`` is the job's acceptance date, YYYYMMDD). What one file holds follows
:func:`printserver.layout.job_render.render_job` (see ``docs/rendering.md``): with ``{film}`` and
``{copy}`` in the template one file per film and copy (the default), without ``{copy}`` one file per
film with a page per copy, without ``{film}`` one file for the whole job. Field values are reduced
to ``A-Z a-z 0-9 . _ -`` (anything else becomes ``_``), so that an AE title such as ``../CT 1``
cannot leave the folder.

Writes are atomic: the job is rendered into a hidden staging folder inside the output folder
(``.tmp-<job>``), every file is fsync'd and moved to its final name with :func:`os.replace`, then
the folder is fsync'd. A reader never sees half a PDF; rendering a job again (after a crash) replaces
its files instead of adding copies, because names depend only on the job.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from printserver.config import Config, PrinterConfig
from printserver.durable import fsync_path
from printserver.layout.job_render import FilmOutput, PixelLoader, RenderedJob, render_job
from printserver.outputs.base import Output, OutputError

log = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_STAGING_PREFIX = ".tmp-"
#: the label render_job gives a file that holds every film / every copy
ALL = "all"


def safe_name_part(value: Any) -> str:
    """``value`` as a piece of a file name: only ``A-Z a-z 0-9 . _ -``, no leading dot, not empty."""
    text = _UNSAFE.sub("_", str(value).strip()).lstrip(".")
    return text or "_"


def filename_fields(manifest: Mapping[str, Any], printer: PrinterConfig) -> dict[str, str]:
    """The template fields of a job other than ``film`` and ``copy``, made safe for file names."""
    return {
        "printer": safe_name_part(printer.ae_title),
        "job_id": safe_name_part(manifest.get("job_id", "job")),
        "calling_aet": safe_name_part(manifest.get("calling_ae", "")),
        "date": safe_name_part(str(manifest.get("created_at", ""))[:10].replace("-", "")),
    }


def _staging_template(template: str) -> str:
    """A template giving render_job the same files per film / per copy, with parseable names."""
    parts = (["f{film}"] if "{film}" in template else []) + (["c{copy}"] if "{copy}" in template
                                                             else [])
    return "~".join(parts or [ALL]) + ".pdf"


def _labels(staged: Path) -> tuple[str, str]:
    """(film label, copy label) of a staged file name made by :func:`_staging_template`."""
    film, copy = ALL, ALL
    for token in staged.stem.split("~"):
        if token.startswith("f"):
            film = token[1:]
        elif token.startswith("c"):
            copy = token[1:]
    return film, copy


class PdfFolderOutput(Output):
    """Finished films as PDF files in the printer's output folder.

    Parameters
    ----------
    printer
        The printer whose ``output`` (kind ``pdf``) names the folder and file name template.
    config
        For ``data_dir`` (base of a relative ``output.path`` and of a relative characteristic file)
        and ``films_dir`` (the previews go to ``films_dir/previews``).
    """

    kind = "pdf"

    def __init__(self, printer: PrinterConfig, config: Config) -> None:
        self.printer = printer
        self.data_dir = Path(config.data_dir)
        path = Path(printer.output.path)
        self.folder = path if path.is_absolute() else self.data_dir / path
        self.preview_folder = Path(config.films_dir) / "previews"
        self.template = printer.output.filename_template

    def final_name(self, fields: Mapping[str, str], film: str, copy: str) -> str:
        """The file name of one PDF; raises :class:`OutputError` for an unusable template."""
        try:
            name = self.template.format(film=film, copy=copy, **fields)
        except (KeyError, IndexError, ValueError) as exc:
            raise OutputError(f"printer {self.printer.ae_title}: output.filename_template "
                              f"{self.template!r}: {type(exc).__name__}: {exc}") from exc
        if not name or name != Path(name).name or name.startswith(".") or "\\" in name:
            raise OutputError(f"printer {self.printer.ae_title}: output.filename_template "
                              f"{self.template!r} gives {name!r}, not a plain file name")
        return name

    def deliver(self, manifest: Mapping[str, Any], load: PixelLoader) -> RenderedJob:
        """Render the job into a staging folder, then move its PDFs and previews into place.

        Returns
        -------
        RenderedJob
            With the final paths: ``pdf_files`` every file written, and each film's
            ``pdf_files`` the files that hold that film (a whole-job file is listed for every film).

        Raises
        ------
        LayoutError
            From rendering (nothing is published).
        OutputError
            The folder cannot be written, or the template gives no usable or no unique names.
        """
        fields = filename_fields(manifest, self.printer)
        job = fields["job_id"]
        staging = self.folder / f"{_STAGING_PREFIX}{job}"
        preview_staging = self.preview_folder / f"{_STAGING_PREFIX}{job}"
        staged_printer = dataclasses.replace(self.printer, output=dataclasses.replace(
            self.printer.output, filename_template=_staging_template(self.template)))
        try:
            for folder in (staging, preview_staging):
                shutil.rmtree(folder, ignore_errors=True)  # left by an attempt that crashed
                folder.mkdir(parents=True)
        except OSError as exc:
            raise OutputError(f"cannot create {exc.filename or staging}: "
                              f"{exc.strerror or exc}") from exc
        try:
            rendered = render_job(manifest, load, staged_printer, staging, base_dir=self.data_dir,
                                  preview_dir=preview_staging)
            return self._publish(rendered, fields)
        except OSError as exc:
            raise OutputError(f"writing films of job {job} to {self.folder}: "
                              f"{exc.strerror or exc}") from exc
        finally:
            for folder in (staging, preview_staging):
                shutil.rmtree(folder, ignore_errors=True)

    def _publish(self, rendered: RenderedJob, fields: Mapping[str, str]) -> RenderedJob:
        """Move the staged files to their final names (fsync'd, atomic replace)."""
        moves: dict[Path, Path] = {}
        by_film: dict[str, list[Path]] = {}
        for staged in rendered.pdf_files:
            film, copy = _labels(staged)
            final = self.folder / self.final_name(fields, film, copy)
            if final in moves.values():
                raise OutputError(f"printer {self.printer.ae_title}: output.filename_template "
                                  f"{self.template!r} gives {final.name!r} for two files")
            moves[staged] = final
            by_film.setdefault(film, []).append(final)
        films: list[FilmOutput] = []
        for film in rendered.films:
            preview = None
            if film.preview is not None:
                preview = self.preview_folder / film.preview.name
                moves[film.preview] = preview
            files = tuple(by_film.get(str(film.film), []) + by_film.get(ALL, []))
            films.append(dataclasses.replace(film, pdf_files=files, preview=preview))
        for staged, final in moves.items():
            fsync_path(staged)
            os.replace(staged, final)
        for folder in {final.parent for final in moves.values()}:
            fsync_path(folder)
        log.debug("job %s: %d file(s) published to %s", rendered.job_id, len(moves), self.folder)
        return dataclasses.replace(rendered, films=tuple(films),
                                   pdf_files=tuple(moves[p] for p in rendered.pdf_files))
