"""The ``dicom`` output: films forwarded to a DICOM film printer, as a Print SCU.

The films travel as **P-values** (PS3.4 H.2.1.2, PS3.14): the film printer applies its own
GSDF calibration for the Min/Max Density it is asked for, as the standard intends. The flow is the
one of :class:`printserver.scu.session.PrintSCU` (PS3.4 Annex H: N-GET Printer, N-CREATE Film
Session, per film N-CREATE Film Box, N-SET Image Boxes, N-ACTION Print, N-DELETE Film Box, then
N-DELETE Film Session and A-RELEASE). Two modes, ``output.mode``:

``composed`` (default)
    Each film is composed here exactly as the other outputs print it (image boxes, borders, empty
    boxes, annotations, trim: :func:`printserver.layout.compose.render_film`), mapped from OD to
    12-bit P-values for the film's Min/Max Density and viewing conditions
    (:mod:`printserver.outputs.pvalue_films`) and sent as *one* image in ``STANDARD\\1,1`` on a
    film of the same Film Size ID and Film Orientation, with the film's Min/Max Density and no
    Presentation LUT (the default is IDENTITY, PS3.4 H.4.9: the values are P-values). The image
    is the film raster at the printer's configured resolution, or scaled down to fit
    ``output.rows`` × ``output.columns`` (set these to the film printer's pixel matrix; its
    Printer Configuration Retrieval SOP Class, where it has one, tells them). Consecutive films
    with the same film options share one film session.
    The film box's Configuration Information goes with it unchanged (image-box-level values
    cannot: the image boxes are composed into one image).

``boxes``
    The image boxes as received, one film session per film: the film box's Image Display Format,
    Film Size ID, Film Orientation, Magnification Type, Min/Max Density, Medium Type and Number of
    Copies are forwarded; each image box's pixels go to the same position, MONOCHROME1 and
    Polarity REVERSE applied here (sent as MONOCHROME2 / NORMAL). The Presentation LUT is applied
    here too and the P-values are sent at 12 bits under the printer's default IDENTITY, except
    ``LIN OD``, which defines densities rather than P-values and is forwarded as the Presentation
    LUT Shape LIN OD with the stored values. An empty box between filled ones is sent as a flat
    image at the Empty Image Density, so that every image keeps its position. Configuration
    Information of the film box and of each image box is forwarded unchanged. Not forwarded
    (the Print SCU library does not send them): image-box-level magnification, densities and
    Requested Image Size, Border / Empty Image Density, Trim, annotation boxes.

**Statuses.** Every response is logged; the job's message gets one line per film session with
the films printed and the status codes answered (``RenderedJob.delivery``).

**Failures.** A printer that cannot be reached, rejects the association, or aborts / stops
answering before any film was printed raises :class:`OutputUnavailable`: nothing was printed,
the job waits and is retried. A printer without a SOP class the print needs (Basic Grayscale
Print Management Meta; Presentation LUT for LIN OD), a failure status (named with its meaning
and where it happened), or an abort after a film was printed raise :class:`OutputError` (a
retry would print the films already printed a second time).

**Printer status.** :meth:`DicomPrinterOutput.check` (serve's printer status probe) asks the film
printer for its Printer Status and Printer Status Info, so that our own Printer SOP instance
passes on the film printer's state (e.g. FAILURE / FILM JAM), or PRINTER DOWN when it cannot be
reached.

**Capabilities.** :meth:`DicomPrinterOutput.ask_capabilities` asks the film printer for all its
Printer attributes and its Printer Configuration Retrieval answer (PS3.4 H.4.6.2, H.4.11), for a
printer whose ``profile`` is ``downstream`` (:mod:`printserver.profiles.downstream`).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.dataset import Dataset
from pynetdicom import build_context
from pynetdicom.association import Association
from pynetdicom.sop_class import (BasicGrayscalePrintManagementMeta, Printer,
                                  PrinterConfigurationRetrieval,
                                  PrinterConfigurationRetrievalInstance, PrinterInstance)

from printserver.config import Config, PrinterConfig
from printserver.gsdf.pipeline import od_to_pvalues
from printserver.gsdf.plut import PresentationLUT
from printserver.layout.densities import effective_range, named_density
from printserver.layout.film_layout import plan_film
from printserver.layout.job_render import FilmOutput, PixelLoader, RenderedJob, iter_films
from printserver.layout.preview import write_png_preview
from printserver.layout.spec import FilmSpec, ImageSpec
from printserver.outputs.base import DeviceStatus, Output, OutputError, OutputUnavailable
from printserver.outputs.dicom_peer import output_peer, peer_unavailable
from printserver.outputs.pvalue_films import (PVALUE_BITS, forward_values, image_box_pvalues,
                                              pvalue_films, rescale)
from printserver.profiles.downstream import DownstreamAnswer
from printserver.scu.images import ImageSource, PrintImage
from printserver.scu.peer import AssociationError, ContextsRefused, connect
from printserver.scu.result import SUCCESS, WARNING, PrintResult, status_category
from printserver.scu.session import (PRINTER_STATUS_TAGS, TRANSFER_SYNTAXES, FilmOptions,
                                     PrintSCU)
from printserver.vocabulary import PresentationLUTShape, PrinterStatus, PrinterStatusInfo

log = logging.getLogger(__name__)

MODES = ("composed", "boxes")
META_NAME = "Basic Grayscale Print Management Meta"
#: side of the flat image sent for an empty image box between filled ones (``boxes`` mode)
EMPTY_BOX_SIZE = 16


@dataclass
class FilmSend:
    """What one film becomes on the wire: its film options and its images in box order."""

    number: int
    options: FilmOptions
    images: list[PrintImage] = field(default_factory=list)


def _configuration(attributes: Mapping[str, Any]) -> str | None:
    """Configuration Information (2010,0150) as received: the film printer is the one that
    understands it (ST, forwarded byte for byte)."""
    value = attributes.get("ConfigurationInformation")
    return str(value) if value else None


def _film_attributes(manifest: Mapping[str, Any], number: int) -> Mapping[str, Any]:
    return manifest["films"][number - 1].get("attributes", {})


def _box_configuration(manifest: Mapping[str, Any], number: int, position: int) -> str | None:
    boxes = manifest["films"][number - 1].get("image_boxes", [])
    return next((_configuration(b.get("attributes", {})) for b in boxes
                 if b.get("position") == position), None)


def _session_options(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """Film session attributes forwarded (PS3.4 Table H.4-2)."""
    a = manifest.get("film_session", {}).get("attributes", {})
    label = str(a.get("FilmSessionLabel", "") or "").strip()
    return {"number_of_copies": max(1, int(manifest.get("copies", 1) or 1)),
            "medium_type": a.get("MediumType") or None,
            "film_session_label": label or None}


def composed_sends(manifest: Mapping[str, Any], load: PixelLoader, printer: PrinterConfig,
                   rows: int, columns: int, preview_folder: Path
                   ) -> tuple[list[FilmSend], list[FilmOutput]]:
    """``composed`` mode: each film as one 12-bit P-value image in STANDARD\\1,1.

    Returns the sends and the films for the job record; each film's PNG preview is written to
    ``preview_folder`` as it is rendered, so that only its P-values stay in memory."""
    session = _session_options(manifest)
    job_id = str(manifest.get("job_id", "job"))
    preview_folder.mkdir(parents=True, exist_ok=True)
    sends, films = [], []
    for film in pvalue_films(manifest, load, printer, rows, columns):
        geometry = film.rendered.layout.geometry
        density = film.rendered.density
        options = FilmOptions(
            image_display_format="STANDARD\\1,1",
            film_size_id=geometry.film_size.film_size_id,
            film_orientation=geometry.orientation.value,
            min_density=int(round(density.min_density * 100)),
            max_density=int(round(density.max_density * 100)),
            configuration_information=_configuration(_film_attributes(manifest, film.number)),
            **session)
        image = PrintImage(film.pvalues, PVALUE_BITS, f"film {film.number} (composed)")
        sends.append(FilmSend(film.number, options, [image]))
        preview = write_png_preview(preview_folder / f"{job_id}_film{film.number:02d}.png",
                                    film.rendered)
        films.append(FilmOutput(film.number, (), preview, film.rendered.warnings,
                                dict(film.rendered.timing)))
    return sends, films


def _effective_plut(image: ImageSpec, film: FilmSpec) -> PresentationLUT | None:
    return image.presentation_lut or film.presentation_lut


def _empty_box_pvalue(film: FilmSpec, printer: PrinterConfig) -> int:
    """The P-value of the film's Empty Image Density for its density range."""
    illumination = film.illumination if film.illumination is not None else printer.illumination
    ambient = (film.reflected_ambient_light if film.reflected_ambient_light is not None
               else printer.reflected_ambient_light)
    film_range, _ = effective_range(film.min_density, film.max_density, printer, illumination,
                                    ambient)
    od, _ = named_density(film.empty_image_density, "Empty Image Density", film_range, printer)
    return int(od_to_pvalues(np.array([od]), PVALUE_BITS, film_range.min_density,
                             film_range.max_density, film_range.illumination,
                             film_range.reflected_ambient_light)[0])


def box_sends(manifest: Mapping[str, Any], load: PixelLoader, printer: PrinterConfig
              ) -> list[FilmSend]:
    """``boxes`` mode: each film with its original image boxes (see the module docstring)."""
    session = _session_options(manifest)
    sends = []
    for number, film, images in iter_films(manifest, load):
        boxes = len(plan_film(film, printer).image_boxes)
        lin_od = [i for i in images if (p := _effective_plut(i, film)) is not None
                  and p.shape is PresentationLUTShape.LIN_OD]
        if lin_od and len(lin_od) != len(images):
            log.warning("job %s film %d: image boxes with and without LIN OD; all are sent "
                        "with LIN OD", manifest.get("job_id"), number)
        options = FilmOptions(
            image_display_format=film.image_display_format,
            film_size_id=film.film_size_id, film_orientation=film.film_orientation,
            magnification_type=film.magnification_type, min_density=film.min_density,
            max_density=film.max_density,
            presentation_lut_shape="LIN OD" if lin_od else None,
            configuration_information=_configuration(_film_attributes(manifest, number)),
            **session)
        by_position = {i.image_box_position: i for i in images if i.image_box_position <= boxes}
        last = max(by_position, default=0)
        gap = None
        send = FilmSend(number, options)
        for position in range(1, last + 1):
            image = by_position.get(position)
            if image is None:
                if gap is None:
                    gap = np.full((EMPTY_BOX_SIZE, EMPTY_BOX_SIZE),
                                  _empty_box_pvalue(film, printer), np.uint16)
                send.images.append(PrintImage(gap, PVALUE_BITS, f"empty box {position}"))
                continue
            if lin_od:
                values, bits = forward_values(image)
                pixels = rescale(values, bits)
            else:
                pixels = image_box_pvalues(image, _effective_plut(image, film))
            aspect = image.pixel_aspect_ratio
            send.images.append(PrintImage(
                pixels, PVALUE_BITS, f"film {number} box {position}",
                aspect_ratio=None if aspect[0] == aspect[1] else aspect,
                configuration_information=_box_configuration(manifest, number, position)))
        if send.images:
            sends.append(send)
    return sends


def _summary(result: PrintResult) -> str:
    """One line: films printed and the status codes answered, warnings and failures named."""
    counts = Counter("none" if r.status is None else f"0x{r.status:04X}" for r in result.responses)
    line = (f"{result.called_aet}: {result.films_printed} film(s) printed, statuses "
            + ", ".join(f"{code} ({n})" for code, n in sorted(counts.items())))
    notable = [f"{r.operation} {r.sop_class} {r.context}: 0x{r.status:04X} {r.meaning}"
               + (f" ({r.error_comment})" if r.error_comment else "")
               for r in result.responses if r.status not in (None, 0x0000)]
    if notable:
        line += " [" + "; ".join(notable) + "]"
    return line


class DicomPrinterOutput(Output):
    """Films forwarded to a DICOM film printer (see the module docstring).

    Parameters
    ----------
    printer
        The printer whose ``output`` (kind ``dicom``) names the film printer: ``host``, ``port``,
        ``called_aet``, ``calling_aet``, ``timeout``, ``mode``, ``rows`` / ``columns``.
    config
        For ``films_dir``: PNG previews of composed films go to ``films_dir/previews``.
    """

    kind = "dicom"

    def __init__(self, printer: PrinterConfig, config: Config) -> None:
        self.printer = printer
        self.output = printer.output
        self.peer = output_peer(printer, "film printer")
        self.mode = self.output.mode.strip().lower()
        if self.mode not in MODES:
            raise OutputError(f"printer {printer.ae_title}: output.mode {self.output.mode!r} "
                              f"is not one of {', '.join(MODES)}")
        self.preview_folder = Path(config.films_dir) / "previews"

    @property
    def where(self) -> str:
        return self.peer.where

    def deliver(self, manifest: Mapping[str, Any], load: PixelLoader) -> RenderedJob:
        """Compose (or collect) the films, then print them on the film printer.

        Returns
        -------
        RenderedJob
            The films (a PNG preview each in ``composed`` mode) and, in ``delivery``, one line
            per film session with the films printed and the statuses answered.

        Raises
        ------
        LayoutError
            The job cannot be rendered (nothing is sent).
        OutputUnavailable
            The film printer cannot be reached or stopped answering before a film was printed.
        OutputError
            The film printer answered a failure status, or failed after printing some films.
        """
        start = time.perf_counter()
        job_id = str(manifest.get("job_id", "job"))
        if self.mode == "composed":
            sends, films = composed_sends(manifest, load, self.printer, self.output.rows,
                                          self.output.columns, self.preview_folder)
        else:
            sends = box_sends(manifest, load, self.printer)
            films = [FilmOutput(s.number, (), None, (), {}) for s in sends]
        if not sends:
            raise OutputError(f"job {job_id}: no film has an image to print")
        delivery, printed = [], 0
        for group in self._sessions(sends):
            result = self._print(group, printed)
            printed += result.films_printed
            delivery.append(_summary(result))
        seconds = time.perf_counter() - start
        log.info("job %s: %d film(s) printed on %s in %.2f s", job_id, printed, self.where,
                 seconds)
        return RenderedJob(job_id, tuple(films), (), seconds,
                           tuple(w for f in films for w in f.warnings), delivery=tuple(delivery))

    def check(self) -> DeviceStatus:
        """The film printer's own Printer Status and Printer Status Info (N-GET of the Printer
        SOP instance, PS3.4 H.4.6.2), for the printer status; unreachable or refused → FAILURE,
        PRINTER DOWN / PRINTER OFFLINE."""
        try:
            assoc = connect(self.peer, [build_context(BasicGrayscalePrintManagementMeta,
                                                      TRANSFER_SYNTAXES)],
                            required={BasicGrayscalePrintManagementMeta: META_NAME})
        except AssociationError as exc:
            return DeviceStatus.unavailable(peer_unavailable(exc))
        try:
            status, reply = assoc.send_n_get(PRINTER_STATUS_TAGS, Printer, PrinterInstance,
                                             meta_uid=BasicGrayscalePrintManagementMeta)
        finally:
            if assoc.is_established:
                assoc.release()
        code = int(status.Status) if status is not None and "Status" in status else None
        if code is None or status_category(code) not in (SUCCESS, WARNING) or reply is None:
            return DeviceStatus(PrinterStatus.FAILURE, PrinterStatusInfo.PRINTER_DOWN,
                                f"{self.where}: N-GET Printer answered "
                                + ("nothing" if code is None else f"0x{code:04X}"))
        # the film printer's own terms (e.g. FAILURE / FILM JAM) are passed on as it sent them
        printer_status = str(reply.get("PrinterStatus", "") or PrinterStatus.NORMAL)
        info = str(reply.get("PrinterStatusInfo", "") or printer_status)
        return DeviceStatus(printer_status, info, "" if printer_status == PrinterStatus.NORMAL
                            else f"{self.where} reports {printer_status} {info}")

    def ask_capabilities(self) -> DownstreamAnswer:
        """N-GET of the film printer's Printer SOP instance (all attributes) and, when it accepts
        the context, of its Printer Configuration Retrieval instance (PS3.4 H.4.6.2, H.4.11).

        Returns
        -------
        DownstreamAnswer
            Both answers; ``problem`` says what the film printer did not answer (e.g. it refused
            the Printer Configuration Retrieval context, as DCMTK's dcmprscp does).

        Raises
        ------
        OutputUnavailable
            No connection, association rejected, or no answer to the N-GETs.
        """
        contexts = [build_context(BasicGrayscalePrintManagementMeta, TRANSFER_SYNTAXES),
                    build_context(PrinterConfigurationRetrieval, TRANSFER_SYNTAXES)]
        try:
            assoc = connect(self.peer, contexts,
                            required={BasicGrayscalePrintManagementMeta: META_NAME})
        except AssociationError as exc:
            raise peer_unavailable(exc) from exc
        problems = []
        try:
            printer = self._get(assoc, Printer, PrinterInstance,
                                BasicGrayscalePrintManagementMeta, "Printer", problems)
            configuration = None
            if any(str(cx.abstract_syntax) == PrinterConfigurationRetrieval
                   for cx in assoc.accepted_contexts):
                configuration = self._get(assoc, PrinterConfigurationRetrieval,
                                          PrinterConfigurationRetrievalInstance, None,
                                          "Printer Configuration Retrieval", problems)
            else:
                problems.append("Printer Configuration Retrieval not supported (context refused)")
        finally:
            if assoc.is_established:
                assoc.release()
        for problem in problems:
            log.warning("printer %s: %s: %s", self.printer.ae_title, self.where, problem)
        return DownstreamAnswer.from_datasets(self.printer.ae_title, self.where, printer,
                                              configuration, "; ".join(problems))

    def _get(self, assoc: Association, class_uid: str, instance_uid: str, meta: str | None,
             what: str, problems: list[str]) -> Dataset | None:
        """N-GET every attribute of one instance; a failure is noted in ``problems``."""
        status, reply = assoc.send_n_get([], class_uid, instance_uid, meta_uid=meta)
        code = int(status.Status) if status is not None and "Status" in status else None
        if code is None:
            raise OutputUnavailable(f"{self.where} is unavailable: no answer to N-GET {what}",
                                    PrinterStatusInfo.PRINTER_DOWN)
        if status_category(code) not in (SUCCESS, WARNING) or reply is None:
            problems.append(f"N-GET {what} answered 0x{code:04X}")
            return None
        return reply

    def _sessions(self, sends: Sequence[FilmSend]) -> list[list[FilmSend]]:
        """Film sessions to open: consecutive one-image films with equal options share one."""
        groups: list[list[FilmSend]] = []
        for send in sends:
            if (self.mode == "composed" and groups
                    and groups[-1][-1].options == send.options):
                groups[-1].append(send)
            else:
                groups.append([send])
        return groups

    def _print(self, group: Sequence[FilmSend], printed_before: int) -> PrintResult:
        """One association: print the films of ``group``; raise on anything but success."""
        films = ", ".join(str(s.number) for s in group)
        peer = self.peer
        scu = PrintSCU(peer.host, peer.port, peer.called_aet, peer.calling_aet,
                       timeout=peer.timeout, kind=peer.kind)
        sources = [ImageSource(image.source, lambda i=image: i)
                   for send in group for image in send.images]
        try:
            result = scu.print(sources, group[0].options)
        except AssociationError as exc:
            if isinstance(exc, ContextsRefused):
                # it answered, but lacks a SOP class this print needs (Basic Grayscale Print
                # Management Meta, or Presentation LUT for LIN OD): waiting will not help
                raise OutputError(str(exc)) from exc
            if printed_before:
                raise OutputError(f"{self.where}: film(s) {films} not printed after "
                                  f"{printed_before} film(s) were: {exc.detail}") from exc
            raise peer_unavailable(exc) from exc
        for response in result.responses:
            log.info("%s: %s %s %s: %s %s%s", self.where, response.operation, response.sop_class,
                     response.context, "none" if response.status is None else
                     f"0x{response.status:04X}", response.meaning,
                     f" ({response.error_comment})" if response.error_comment else "")
        failures = [r for r in result.failures if r.status is not None]
        if failures:
            r = failures[0]
            raise OutputError(f"{self.where}: {r.operation} {r.sop_class} ({r.context}) failed "
                              f"with status 0x{r.status:04X} {r.meaning}"
                              + (f": {r.error_comment}" if r.error_comment else "")
                              + f"; {printed_before + result.films_printed} film(s) printed")
        if result.problem:
            if printed_before or result.films_printed:
                raise OutputError(f"{self.where}: {result.problem} after "
                                  f"{printed_before + result.films_printed} film(s) were printed")
            raise OutputUnavailable(f"{self.where} is unavailable: {result.problem}",
                                    PrinterStatusInfo.PRINTER_DOWN)
        return result
