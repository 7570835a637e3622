"""A queued print job → finished films: the spool manifest mapped to the renderer's inputs.

The Print SCP freezes every film box of a job into the spool (``manifest.json`` plus one pixel
file per image box, see :mod:`printserver.scp.print_job`); attributes are kept by DICOM keyword as
received or defaulted. This module turns that manifest into :class:`FilmSpec` / :class:`ImageSpec`
records, renders each film, and writes its PDF(s) and PNG preview. Anything wrong with the job
(unknown film size or display format that slipped through, an image larger than its box with FAIL,
a missing or corrupt spool file) raises :class:`LayoutError` with a readable reason, so the worker
can mark the job FAILED and go on with the next one.

PDF files are named by the printer's ``output.filename_template`` (fields ``{job_id} {film} {copy}
{printer} {calling_aet} {date}``): a template without ``{copy}`` puts all copies of a film in one
file, one without ``{film}`` all films of the job in one file (pages collated).

The output device profile (densities → drive values), in this order of precedence:

1. the manifest's :data:`CALIBRATION_KEY` entry, which the worker adds at render time from the job
   store (never written to the spool; :mod:`printserver.jobs.printer_calibrations`): the printer's
   newest stored calibration (``mode`` ``"curve"``: its measured curve, as a
   :class:`~printserver.layout.device.MeasuredPrinterProfile`), or, for a calibration step wedge,
   the uncalibrated device (``mode`` ``"uncalibrated"``:
   :class:`~printserver.layout.device.PValueDriveProfile`);
2. the printer's ``characteristic_file``;
3. the default: a light box seen in sRGB (:class:`~printserver.layout.device.LightBoxSRGB`).

``RenderedJob.calibration`` says which stored calibration was applied (its ``label``), for the
job's films.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from printserver.config import PrinterConfig
from printserver.errors import PrintserverError
from printserver.gsdf.plut import PresentationLUT
from printserver.layout.compose import RenderedFilm, render_film
from printserver.layout.device import DeviceProfile, MeasuredPrinterProfile, PValueDriveProfile
from printserver.layout.pdf import write_pdf
from printserver.layout.preview import write_png_preview
from printserver.layout.spec import FilmSpec, ImageSpec
from printserver.layout.status import LayoutError, RenderWarning
from printserver.vocabulary import Polarity

log = logging.getLogger(__name__)

#: loads the pixels of (film number, Image Box Position) from the spool
PixelLoader = Callable[[int, int], np.ndarray]

#: manifest key of the printer calibration to apply, set by the worker at render time (module
#: docstring): ``{"mode": "curve", "label", "ddl", "od", "max_ddl", "illumination", "ambient"}``
#: or ``{"mode": "uncalibrated", "label"}``
CALIBRATION_KEY = "printer_calibration"


@dataclass(frozen=True)
class FilmOutput:
    """What one film of a job became."""

    film: int
    pdf_files: tuple[Path, ...]
    preview: Path | None
    warnings: tuple[RenderWarning, ...]
    timing: Mapping[str, float]


@dataclass(frozen=True)
class RenderedJob:
    """The films of a job with their files, warnings and timing, for the job record."""

    job_id: str
    films: tuple[FilmOutput, ...]
    pdf_files: tuple[Path, ...]
    seconds: float
    warnings: tuple[RenderWarning, ...] = field(default=())
    #: what the output's device answered, one line each (a PACS's C-STORE statuses, a film
    #: printer's DIMSE statuses); empty for outputs that only write files
    delivery: tuple[str, ...] = field(default=())
    #: what the device still has to print, e.g. CUPS job ids (see printserver.outputs.base);
    #: empty when the films are delivered
    references: tuple[str, ...] = field(default=())
    #: the stored printer calibration the films were rendered through (its label; empty: none)
    calibration: str = ""


def presentation_lut(entry: Mapping[str, Any] | None) -> PresentationLUT | None:
    """A manifest's Presentation LUT entry (a shape, or descriptor + data) as a PresentationLUT."""
    if not entry:
        return None
    try:
        if entry.get("shape"):
            return PresentationLUT.from_shape(entry["shape"])
        return PresentationLUT.from_table(entry["descriptor"], entry["data"],
                                          entry.get("explanation", ""))
    except (PrintserverError, KeyError, ValueError) as exc:
        raise LayoutError(f"Presentation LUT {entry.get('uid', '')}: {exc}") from exc


def _optional_int(value: Any) -> int | None:
    return None if value is None or value == "" else int(value)


def film_spec(entry: Mapping[str, Any], manifest: Mapping[str, Any]) -> FilmSpec:
    """The Film Box of a manifest film entry (PS3.3 C.13.3 keywords) as a :class:`FilmSpec`."""
    a = entry.get("attributes", {})
    plut_entry = entry.get("presentation_lut")
    if plut_entry is None:  # a session-level Presentation LUT (pre-CP-173 SCUs)
        uid = manifest.get("film_session", {}).get("attributes", {}).get(
            "ReferencedPresentationLUTSequence")
        plut_entry = manifest.get("presentation_luts", {}).get(uid) if uid else None
    annotations = {}
    for box in entry.get("annotation_boxes", []):
        position = box.get("position") or box.get("index")
        if box.get("text"):
            annotations[int(position)] = str(box["text"])
    fmt = entry.get("image_display_format", {}).get("text") or a.get("ImageDisplayFormat", "")
    return FilmSpec(
        image_display_format=str(fmt),
        film_size_id=a.get("FilmSizeID"),
        film_orientation=a.get("FilmOrientation"),
        magnification_type=a.get("MagnificationType"),
        smoothing_type=a.get("SmoothingType"),
        border_density=a.get("BorderDensity", "BLACK"),
        empty_image_density=a.get("EmptyImageDensity", "BLACK"),
        min_density=_optional_int(a.get("MinDensity")),
        max_density=_optional_int(a.get("MaxDensity")),
        trim=a.get("Trim") or "NO",
        illumination=_optional_int(a.get("Illumination")),
        reflected_ambient_light=_optional_int(a.get("ReflectedAmbientLight")),
        requested_resolution_id=a.get("RequestedResolutionID"),
        annotation_display_format_id=a.get("AnnotationDisplayFormatID"),
        annotations=annotations,
        presentation_lut=presentation_lut(plut_entry),
    )


def image_specs(entry: Mapping[str, Any], film_number: int, load: PixelLoader) -> list[ImageSpec]:
    """The Image Boxes with an image of a manifest film entry, pixels loaded through ``load``."""
    specs = []
    for box in entry.get("image_boxes", []):
        image = box.get("image")
        if image is None or box.get("position") is None:
            continue
        position = int(box["position"])
        a = box.get("attributes", {})
        try:
            pixels = load(film_number, position)
        except (PrintserverError, OSError, ValueError, KeyError) as exc:
            raise LayoutError(f"film {film_number}, image box {position}: pixels unreadable: "
                              f"{exc}", image_box_position=position) from exc
        aspect = image.get("pixel_aspect_ratio") or (1, 1)
        size = a.get("RequestedImageSize")
        specs.append(ImageSpec(
            image_box_position=position,
            pixels=pixels,
            bits_stored=int(image["bits_stored"]),
            photometric_interpretation=image.get("photometric_interpretation", "MONOCHROME2"),
            polarity=a.get("Polarity") or Polarity.NORMAL.value,
            magnification_type=a.get("MagnificationType"),
            smoothing_type=a.get("SmoothingType"),
            min_density=_optional_int(a.get("MinDensity")),
            max_density=_optional_int(a.get("MaxDensity")),
            requested_image_size=None if size in (None, "") else float(size),
            requested_decimate_crop_behavior=a.get("RequestedDecimateCropBehavior"),
            pixel_aspect_ratio=(int(aspect[0]), int(aspect[1])),
            presentation_lut=presentation_lut(box.get("presentation_lut")),
        ))
    return specs


def iter_films(manifest: Mapping[str, Any], load: PixelLoader
               ) -> Iterator[tuple[int, FilmSpec, list[ImageSpec]]]:
    """``(film number, film, images)`` for every film of a manifest, loading pixels lazily."""
    try:
        films = manifest["films"]
    except KeyError:
        raise LayoutError("job manifest has no films") from None
    for number, entry in enumerate(films, start=1):
        try:
            film, images = film_spec(entry, manifest), image_specs(entry, number, load)
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, LayoutError):
                raise
            raise LayoutError(f"job manifest, film {number}: missing or malformed value "
                              f"({type(exc).__name__}: {exc})") from exc
        yield number, film, images


def calibration_profile(entry: Mapping[str, Any]) -> MeasuredPrinterProfile:
    """The profile of a stored calibration's curve (a :data:`CALIBRATION_KEY` entry of mode
    ``"curve"``)."""
    from printserver.gsdf.curves import PRINTER, CharacteristicCurve

    try:
        curve = CharacteristicCurve(PRINTER, entry["ddl"], entry["od"], int(entry["max_ddl"]),
                                    ambient=float(entry["ambient"]),
                                    illumination=float(entry["illumination"]),
                                    source=f"printer calibration {entry.get('label', '')}")
    except (PrintserverError, KeyError, TypeError, ValueError) as exc:
        raise LayoutError(f"printer calibration {entry.get('label', '')}: {exc}") from exc
    return MeasuredPrinterProfile(curve, f"printer calibration {entry.get('label', '')}")


def output_profile(printer: PrinterConfig, base_dir: Path,
                   calibration: Mapping[str, Any] | None = None) -> DeviceProfile | None:
    """The device profile of a printer (module docstring: a stored calibration's curve, else the
    characteristic file, else None for the light box). An ``"uncalibrated"`` calibration gives
    None here: its profile depends on each film (:class:`PValueDriveProfile`)."""
    if calibration is not None and calibration.get("mode") == "curve":
        return calibration_profile(calibration)
    if calibration is not None and calibration.get("mode") == "uncalibrated":
        return None
    if not printer.characteristic_file:
        return None
    path = Path(printer.characteristic_file)
    try:
        return MeasuredPrinterProfile.from_file(path if path.is_absolute() else base_dir / path)
    except PrintserverError as exc:
        raise LayoutError(f"printer {printer.ae_title} characteristic file: {exc}") from exc


def render_job(manifest: Mapping[str, Any], load: PixelLoader, printer: PrinterConfig,
               output_dir: Path, *, base_dir: Path | None = None,
               preview_dir: Path | None = None) -> RenderedJob:
    """Render every film of a job and write its PDF file(s) and a PNG preview per film.

    Parameters
    ----------
    manifest
        The job's spool manifest (:meth:`printserver.jobs.spool.Spool.load_manifest`).
    load
        ``load(film, position)`` → pixels, e.g. ``partial(spool.load_pixels, job)`` adapted.
    printer
        The printer the job was sent to.
    output_dir
        Folder of the PDF files (created if missing).
    base_dir
        Folder relative characteristic file paths are taken from (default: ``output_dir``).
    preview_dir
        Folder of the PNG previews (default: ``output_dir``), named ``<job>_film<NN>.png``.

    Raises
    ------
    LayoutError
        The job cannot be printed; the message says why.
    """
    start = time.perf_counter()
    output_dir.mkdir(parents=True, exist_ok=True)
    preview_dir = preview_dir or output_dir
    preview_dir.mkdir(parents=True, exist_ok=True)
    job_id = str(manifest.get("job_id", "job"))
    copies = max(1, int(manifest.get("copies", 1)))
    template = printer.output.filename_template
    fields = {"job_id": job_id, "printer": printer.ae_title,
              "calling_aet": manifest.get("calling_ae", ""),
              "date": str(manifest.get("created_at", ""))[:10].replace("-", "")}
    calibration = manifest.get(CALIBRATION_KEY)
    profile = output_profile(printer, base_dir or output_dir, calibration)
    uncalibrated = calibration is not None and calibration.get("mode") == "uncalibrated"
    title = f"print job {job_id} on {printer.ae_title} ({printer.name})"
    per_film = "{film}" in template
    per_copy = "{copy}" in template
    outputs: list[FilmOutput] = []
    held: list[RenderedFilm] = []
    pdf_files: list[Path] = []

    def name(film: int | str, copy: int | str) -> Path:
        try:
            return output_dir / template.format(film=film, copy=copy, **fields)
        except (KeyError, IndexError, ValueError) as exc:
            raise LayoutError(f"output filename_template {template!r}: {exc}") from exc

    def write(films: list[RenderedFilm], film_label: int | str) -> list[Path]:
        if per_copy:
            return [write_pdf(name(film_label, c), films, title=title, author=printer.name,
                              subject=f"copy {c} of {copies}", profile=profile)
                    for c in range(1, copies + 1)]
        return [write_pdf(name(film_label, "all"), films, copies=copies, title=title,
                          author=printer.name, profile=profile)]

    for number, film, images in iter_films(manifest, load):
        rendered = render_film(film, images, printer)
        del images
        if uncalibrated and profile is None:  # the first film's densities (a wedge has one film)
            profile = PValueDriveProfile(rendered.density)
        preview = write_png_preview(preview_dir / f"{job_id}_film{number:02d}.png", rendered)
        files = write([rendered], number) if per_film else []
        if not per_film:
            held.append(rendered)
        pdf_files += files
        outputs.append(FilmOutput(number, tuple(files), preview, rendered.warnings,
                                  dict(rendered.timing)))
        for w in rendered.warnings:
            log.info("job %s film %d: %s", job_id, number, w)
    if held:
        pdf_files += write(held, "all")
    seconds = time.perf_counter() - start
    log.info("job %s: %d film(s) rendered in %.2f s", job_id, len(outputs), seconds)
    return RenderedJob(job_id, tuple(outputs), tuple(pdf_files), seconds,
                       tuple(w for o in outputs for w in o.warnings),
                       calibration=str(calibration.get("label", "")) if calibration else "")
