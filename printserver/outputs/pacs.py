"""The ``pacs`` output: every film of a job stored in a PACS with C-STORE, as the film looks.

**IOD.** Each film is one instance of the **Multi-frame Grayscale Word Secondary Capture Image**
IOD (SOP Class 1.2.840.10008.5.1.4.1.1.7.3, PS3.3 A.8.4) with one frame. It is the IOD whose
pixels *are* P-values: its SC Multi-frame Image Module (PS3.3 C.8.6.3) requires Presentation
LUT Shape (2050,0020) IDENTITY for grayscale, with Rescale Slope 1 / Intercept 0, and allows
Bits Stored 9 … 16 in 16 bits. So the film's 12-bit P-values (MONOCHROME2, Bits Allocated 16,
Bits Stored 12) go in unchanged and a GSDF-calibrated workstation shows the film with the
densities of the light box (``../shared/DESIGN.md``: "a print matches the screen"). The plain
SC Image (1.2.840.10008.5.1.4.1.1.7) has no Presentation LUT Shape, so a viewer would apply
whatever default it likes; the modality grayscale IODs (CR, DX) would claim an acquisition that
never happened; the Hardcopy Grayscale Image IOD of the print service is retired.
Modality is ``HC`` (Hard Copy, PS3.3 C.7.3.1.1.1), Conversion Type ``WSD`` (workstation, PS3.3
C.8.6.1), Nominal Scanned Pixel Spacing the film's printed pixel size.

**Pixels.** The film composed in optical density exactly as the other outputs print it
(:func:`printserver.layout.compose.render_film`), mapped to P-values by PS3.14 §7.2 inverted for
the film's Min/Max Density, Illumination and Reflected Ambient Light
(:mod:`printserver.outputs.pvalue_films`). ``output.rows`` / ``output.columns`` (0 = none)
scale a larger film down, aspect kept.

**Study, series, instance.** One study per film session, one series per printer, one
instance per film (copies of a film are the same image and are not stored twice). The UIDs are
UUID-derived (``2.25.``, PS3.5 B.2) from name-based UUIDs (RFC 4122 version 5), so that they are
the same every time the same job is delivered: a delivery retried after a crash or a network
failure overwrites the instances instead of making a second study:

* Study Instance UID from the Film Session SOP Instance UID and the calling AE title (every job
  of one film session, e.g. one N-ACTION per film box, lands in one study; a reprint too), or
  the worklist's Study Instance UID when the identity came from the Modality Worklist (the film
  joins the patient's study);
* Series Instance UID from the study and the printer's AE title;
* SOP Instance UID from the Print Job SOP Instance UID, the film number and the copy (1).

**Texts kept.** Study Description: the Film Session Label (or "Film session from <AE>");
Series Description: the printer; Image Comments: film number, film size, display format,
the annotation box texts and where the patient identity came from.

**Patient identity**: :mod:`printserver.outputs.patient_identity` (Proposed Study Sequence, else
the Modality Worklist asked with the Accession Number of the label or an annotation
(``output.worklist``, :mod:`printserver.outputs.worklist`), else the Film Session Label through
``output.patient_pattern``, else a placeholder naming the calling AE; never invented). The
job's message says where the identity came from and, when the worklist was asked, what it said.

**Failures.** No connection, a rejected association, a refused presentation context, an aborted
association or no response raise :class:`OutputUnavailable` (Printer Status Info PRINTER DOWN,
or PRINTER OFFLINE when the PACS answered but refused): the job waits and is delivered again
later, with the same UIDs, so instances stored before the failure are overwritten, not
duplicated. A C-STORE failure status raises :class:`OutputError` with the status code and
Error Comment. Warning statuses (e.g. B000 coercion of data elements, PS3.4 B.2.3) are accepted
and recorded. :meth:`PacsOutput.check` (serve's printer status probe) sends a C-ECHO, so that the
printer status shows a PACS that is down, or back, while no job is being delivered.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import build_context
from pynetdicom.association import Association
from pynetdicom.sop_class import MultiFrameGrayscaleWordSecondaryCaptureImageStorage, Verification

from printserver import __version__
from printserver.config import Config, PrinterConfig
from printserver.layout.job_render import FilmOutput, PixelLoader, RenderedJob
from printserver.layout.preview import write_png_preview
from printserver.outputs.base import DeviceStatus, Output, OutputError, OutputUnavailable
from printserver.outputs.dicom_peer import output_peer, peer_unavailable
from printserver.outputs.patient_identity import (IdentitySource, PatientIdentity, compile_pattern,
                                                  patient_identity)
from printserver.outputs.pvalue_films import PVALUE_BITS, PValueFilm, pvalue_films
from printserver.outputs.worklist import WorklistProvider
from printserver.scu.peer import AssociationError, connect
from printserver.vocabulary import PrinterStatus, PrinterStatusInfo

log = logging.getLogger(__name__)

#: the SOP class of the stored films (see the module docstring)
SOP_CLASS_UID = str(MultiFrameGrayscaleWordSecondaryCaptureImageStorage)
#: namespace of the name-based UUIDs behind the UIDs (fixed forever: changing it changes every UID)
UID_NAMESPACE = uuid.UUID("5b0f7d0e-8a3c-5f51-9f0e-2f5c6e1d7a10")
TRANSFER_SYNTAXES = [ExplicitVRLittleEndian, ImplicitVRLittleEndian]
#: C-STORE warning statuses (PS3.4 B.2.3): stored, perhaps with coerced elements
WARNING_STATUSES = {0x0001, 0xB000, 0xB006, 0xB007}


def derived_uid(*parts: object) -> str:
    """A UID that depends only on ``parts``: ``2.25.`` + a name-based UUID (PS3.5 B.2, RFC 4122
    version 5) as a decimal integer; at most 44 characters, within the 64 of a UI."""
    return f"2.25.{uuid.uuid5(UID_NAMESPACE, chr(31).join(str(p) for p in parts)).int}"


@dataclass(frozen=True)
class FilmUIDs:
    """The UIDs of one stored film."""

    study: str
    series: str
    instance: str


def film_uids(manifest: Mapping[str, Any], printer_ae: str, film: int, copy: int = 1,
              study: str | None = None) -> FilmUIDs:
    """Study, series and SOP Instance UIDs of a film (see the module docstring); ``study`` is
    the Study Instance UID to use instead of the derived one (the worklist's)."""
    session_uid = str(manifest.get("film_session", {}).get("uid") or "")
    job_uid = str(manifest.get("print_job_uid") or manifest.get("job_id", ""))
    calling = str(manifest.get("calling_ae", ""))
    study = study or derived_uid("study", session_uid or job_uid, calling)
    return FilmUIDs(study, derived_uid("series", study, printer_ae),
                    derived_uid("instance", job_uid, film, copy))


def _date_time(iso: str) -> tuple[str, str]:
    """DA and TM (UTC) of an ISO 8601 time; now when it is missing or unreadable."""
    try:
        when = datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        when = datetime.now(timezone.utc)
    if when.tzinfo is not None:
        when = when.astimezone(timezone.utc)
    return when.strftime("%Y%m%d"), when.strftime("%H%M%S.%f")


def film_dataset(film: PValueFilm, manifest: Mapping[str, Any], printer: PrinterConfig,
                 identity: PatientIdentity, uids: FilmUIDs) -> Dataset:
    """The Multi-frame Grayscale Word SC instance of one film (PS3.3 A.8.4)."""
    session = manifest.get("film_session", {}).get("attributes", {})
    calling = str(manifest.get("calling_ae", ""))
    label = str(session.get("FilmSessionLabel", "") or "").strip()
    geometry = film.rendered.layout.geometry
    date, time_ = _date_time(str(manifest.get("created_at", "")))
    rows, columns = film.pvalues.shape

    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = SOP_CLASS_UID
    ds.SOPInstanceUID = uids.instance
    ds.ImageType = ["DERIVED", "SECONDARY"]
    ds.InstanceCreationDate, ds.InstanceCreationTime = date, time_
    ds.TimezoneOffsetFromUTC = "+0000"
    # Patient (C.7.1.1) and General Study (C.7.2.1)
    identity.apply(ds)
    ds.StudyInstanceUID = uids.study
    ds.StudyDate, ds.StudyTime = date, time_
    ds.StudyDescription = (label or f"Film session from {calling}")[:64]
    # General Series (C.7.3.1)
    ds.Modality = "HC"
    ds.SeriesInstanceUID = uids.series
    ds.SeriesNumber = 1
    ds.SeriesDescription = f"Films printed on {printer.ae_title} ({printer.name})"[:64]
    # General Equipment (C.7.5.1), SC Equipment (C.8.6.1)
    ds.Manufacturer = "printserver"
    ds.SoftwareVersions = __version__
    ds.StationName = printer.ae_title
    ds.ConversionType = "WSD"
    # General Image (C.7.6.1), SC Image (C.8.6.2)
    ds.InstanceNumber = film.number
    ds.PatientOrientation = ""
    ds.ContentDate, ds.ContentTime = date, time_
    ds.BurnedInAnnotation = "YES" if film.spec.annotations else "NO"
    ds.ImageComments = image_comments(film, manifest, identity)[:10240]
    # printed pixel size (mm): the film's pixel pitch, times the scaling to output.rows/columns
    row_mm = 25.4 * geometry.rows / rows / geometry.dpi
    column_mm = 25.4 * geometry.columns / columns / geometry.dpi
    ds.NominalScannedPixelSpacing = [f"{row_mm:.6g}", f"{column_mm:.6g}"]
    # Image Pixel (C.7.6.3), Multi-frame (C.7.6.6), SC Multi-frame Image (C.8.6.3)
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = rows, columns
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, PVALUE_BITS, PVALUE_BITS - 1
    ds.PixelRepresentation = 0
    ds.NumberOfFrames = 1
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = "0", "1", "US"
    ds.PresentationLUTShape = "IDENTITY"
    ds.add_new(0x7FE00010, "OW", film.pvalues.astype("<u2").tobytes())
    return ds


def image_comments(film: PValueFilm, manifest: Mapping[str, Any],
                   identity: PatientIdentity) -> str:
    """Image Comments (0020,4000): which film this is, its annotations, the identity's source."""
    geometry = film.rendered.layout.geometry
    parts = [f"Film {film.number} of print job {manifest.get('job_id', '')} from "
             f"{manifest.get('calling_ae', '')}: {geometry.film_size.film_size_id} "
             f"{geometry.orientation.value}, {film.rendered.layout.display_format.text}"]
    texts = [film.spec.annotations[k] for k in sorted(film.spec.annotations)]
    if texts:
        parts.append("Annotations: " + " | ".join(texts))
    parts.append(f"Patient identity from the {identity.source.value}"
                 if identity.source is not IdentitySource.PLACEHOLDER
                 else "Patient identity unknown: placeholder for the calling AE title")
    return ". ".join(parts)


class PacsOutput(Output):
    """Films stored in a PACS (or any Storage SCP) with C-STORE.

    Parameters
    ----------
    printer
        The printer whose ``output`` (kind ``pacs``) names the PACS: ``host``, ``port``,
        ``called_aet``, ``calling_aet``, ``timeout``, ``rows`` / ``columns``, ``patient_pattern``.
    config
        For ``films_dir``: PNG previews go to ``films_dir/previews`` as for the pdf output.
    """

    kind = "pacs"

    def __init__(self, printer: PrinterConfig, config: Config) -> None:
        self.printer = printer
        self.output = printer.output
        self.peer = output_peer(printer, "PACS")
        self.pattern = compile_pattern(self.output.patient_pattern, printer.ae_title)
        self.worklist = (WorklistProvider(self.output.worklist, printer.ae_title)
                         if self.output.worklist.enabled else None)
        self.preview_folder = Path(config.films_dir) / "previews"

    @property
    def where(self) -> str:
        return self.peer.where

    def deliver(self, manifest: Mapping[str, Any], load: PixelLoader) -> RenderedJob:
        """Render every film as P-values and store it, one film at a time on one association
        (opened once the first film is rendered), so that only one film is in memory.

        Returns
        -------
        RenderedJob
            The films (no files; a PNG preview each) and, in ``delivery``, where the patient
            identity came from (and what the worklist said), then one line per stored instance
            with its SOP Instance UID and status.

        Raises
        ------
        LayoutError
            A film cannot be rendered (the films before it may be stored already; storing them
            again later overwrites them).
        OutputUnavailable
            The PACS cannot be reached, refused the association or stopped answering.
        OutputError
            The PACS answered a C-STORE failure status.
        """
        start = time.perf_counter()
        job_id = str(manifest.get("job_id", "job"))
        identity = patient_identity(manifest, self.pattern,
                                    self.worklist.look_up_job if self.worklist else None)
        self.preview_folder.mkdir(parents=True, exist_ok=True)
        outputs: list[FilmOutput] = []
        lines: list[str] = [identity.describe()]
        assoc: Association | None = None
        try:
            for film in pvalue_films(manifest, load, self.printer, self.output.rows,
                                     self.output.columns):
                ds = film_dataset(film, manifest, self.printer, identity,
                                  film_uids(manifest, self.printer.ae_title, film.number,
                                            study=identity.study_instance_uid))
                preview = write_png_preview(
                    self.preview_folder / f"{job_id}_film{film.number:02d}.png", film.rendered)
                outputs.append(FilmOutput(film.number, (), preview, film.rendered.warnings,
                                          dict(film.rendered.timing)))
                del film  # the OD raster and P-values: only the data set is kept until stored
                if assoc is None:
                    assoc = self._associate()
                lines.append(self._store(assoc, ds))
        finally:
            if assoc is not None and assoc.is_established:
                assoc.release()
        seconds = time.perf_counter() - start
        log.info("job %s: %d film(s) stored in %s in %.2f s (identity from %s)", job_id,
                 len(outputs), self.where, seconds, identity.source.value)
        return RenderedJob(job_id, tuple(outputs), (), seconds,
                           tuple(w for o in outputs for w in o.warnings), delivery=tuple(lines))

    def check(self) -> DeviceStatus:
        """The PACS's state for the printer status: C-ECHO (PS3.4 A.4) answered → NORMAL;
        unreachable or refused → FAILURE with PRINTER DOWN / PRINTER OFFLINE."""
        try:
            assoc = self._associate(Verification)
        except OutputUnavailable as exc:
            return DeviceStatus.unavailable(exc)
        try:
            status = assoc.send_c_echo()
        finally:
            if assoc.is_established:
                assoc.release()
        code = int(status.Status) if status is not None and "Status" in status else None
        if code != 0x0000:
            return DeviceStatus(PrinterStatus.FAILURE, PrinterStatusInfo.PRINTER_DOWN,
                                f"{self.where}: C-ECHO answered "
                                + ("nothing" if code is None else f"0x{code:04X}"))
        return DeviceStatus()

    def _associate(self, sop_class: str = SOP_CLASS_UID) -> Association:
        """An association with the PACS that accepted ``sop_class``.

        Raises
        ------
        OutputUnavailable
            No connection, rejected, aborted, or the SOP class refused
            (:mod:`printserver.outputs.dicom_peer` gives its Printer Status Info).
        """
        try:
            return connect(self.peer, [build_context(sop_class, TRANSFER_SYNTAXES)],
                           required={str(sop_class): UID(str(sop_class)).name})
        except AssociationError as exc:
            raise peer_unavailable(exc) from exc

    def _store(self, assoc: Association, ds: Dataset) -> str:
        """C-STORE one film; the line for the job record (UID and status).

        Raises
        ------
        OutputUnavailable
            No response (aborted, timed out).
        OutputError
            A failure status.
        """
        context = next(cx for cx in assoc.accepted_contexts
                       if str(cx.abstract_syntax) == SOP_CLASS_UID)
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.file_meta.TransferSyntaxUID = context.transfer_syntax[0]
        status = assoc.send_c_store(ds)
        code = int(status.Status) if status is not None and "Status" in status else None
        if code is None:
            raise OutputUnavailable(f"{self.where} is unavailable: no response to C-STORE of "
                                    f"{ds.SOPInstanceUID} (association aborted or timed out)")
        comment = str(status.get("ErrorComment", "") or "")
        if code != 0x0000 and code not in WARNING_STATUSES:
            raise OutputError(f"{self.where}: C-STORE of film {ds.InstanceNumber} "
                              f"({ds.SOPInstanceUID}) failed with status 0x{code:04X}"
                              + (f": {comment}" if comment else ""))
        line = (f"C-STORE film {ds.InstanceNumber} {ds.SOPInstanceUID}: 0x{code:04X}"
                + (f" {comment}" if comment else ""))
        log.info("%s: %s", self.where, line)
        return line
