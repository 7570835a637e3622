"""Printer (PS3.4 H.4.6) and Printer Configuration Retrieval (PS3.4 H.4.11) N-GET answers.

Both answer from the :class:`~printserver.config.PrinterConfig` of the printer the called AE title
selected; Printer Status / Printer Status Info from the printer's real state, computed by
:func:`printserver.jobs.printer_status.current_status` (its output device and pause as the job
store records them, the spool and the queue); Date / Time of Last Calibration from the printer's
newest stored calibration (:meth:`printserver.jobs.printer_calibrations.PrinterCalibrations.last_calibrated`,
in the server's local time), else from the configuration. An empty Attribute Identifier List means all
attributes; a requested attribute the SCP does not have gives warning 0107 (strict: 0105) with
the others answered.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydicom.dataset import Dataset
from pydicom.tag import Tag

from printserver import __version__
from printserver.config import LimitsConfig, PrinterConfig
from printserver.jobs.printer_status import NORMAL, PrinterStatusPair
from printserver.scp.model import (ANNOTATION_BOX, GRAYSCALE_META, PRESENTATION_LUT, PRINT_JOB,
                                   PRINTER_CONFIGURATION_INSTANCE, PRINTER_INSTANCE)
from printserver.scp.status import DimseError, Reply
from printserver.vocabulary import PRINTER_EVENT_TYPES, PrinterStatus, Status


def printer_dataset(printer: PrinterConfig, status: tuple[str, str] = NORMAL,
                    last_calibration: datetime | None = None) -> Dataset:
    """All attributes of the Printer SOP instance (PS3.4 Table H.4-17); ``status`` is
    (Printer Status, Printer Status Info); ``last_calibration`` the time of the newest stored
    calibration (None: the configured ``last_calibration_date`` / ``_time``)."""
    status = PrinterStatusPair(*status)
    ds = Dataset()
    ds.PrinterStatus = str(status.status)
    ds.PrinterStatusInfo = str(status.info)
    ds.PrinterName = printer.name
    ds.Manufacturer = printer.manufacturer
    ds.ManufacturerModelName = printer.model
    ds.DeviceSerialNumber = printer.serial_number
    ds.SoftwareVersions = f"printserver {__version__}"
    if last_calibration is not None:  # DA / TM are local time (PS3.5 6.2)
        local = last_calibration.astimezone()
        ds.DateOfLastCalibration = local.strftime("%Y%m%d")
        ds.TimeOfLastCalibration = local.strftime("%H%M%S")
        return ds
    if printer.last_calibration_date:
        ds.DateOfLastCalibration = printer.last_calibration_date
    if printer.last_calibration_time:
        ds.TimeOfLastCalibration = printer.last_calibration_time
    return ds


def printer_event(printer: PrinterConfig, status: tuple[str, str]
                  ) -> tuple[int, Dataset | None]:
    """Event Type ID and Event Information of a Printer N-EVENT-REPORT (PS3.4 H.4.6.1.1,
    Table H.4-16) for ``status`` = (Printer Status, Printer Status Info): NORMAL carries no
    information; WARNING and FAILURE carry Printer Status Info (2110,0020) and Printer Name. A
    Printer Status this server does not know (a device's) is reported as FAILURE."""
    status = PrinterStatusPair(*status)
    event_type = PRINTER_EVENT_TYPES.get(status.status,  # type: ignore[call-overload]
                                         PRINTER_EVENT_TYPES[PrinterStatus.FAILURE])
    if event_type == PRINTER_EVENT_TYPES[PrinterStatus.NORMAL]:
        return event_type, None
    info = Dataset()
    info.PrinterStatusInfo = str(status.info)
    info.PrinterName = printer.name
    return event_type, info


def _select(full: Dataset, requested: Sequence[int] | None, strict: bool) -> Reply:
    if not requested:
        return Reply(dataset=full)
    wanted = [Tag(t) for t in requested if Tag(t).element != 0]
    missing = [t for t in wanted if t not in full]
    if missing and strict:
        raise DimseError(Status.NO_SUCH_ATTRIBUTE, "attribute not supported", missing)
    out = Dataset()
    for t in wanted:
        if t in full:
            out[t] = full[t]
    if missing:
        return Reply(Status.ATTRIBUTE_LIST_ERROR, out, "attribute not supported", tuple(missing))
    return Reply(dataset=out)


def get_printer(printer: PrinterConfig, uid: str | None, requested: Sequence[int] | None,
                strict: bool, status: tuple[str, str] = NORMAL,
                last_calibration: datetime | None = None) -> Reply:
    """N-GET of the well-known Printer SOP instance (PS3.4 H.4.6.2.2); another UID → 0112.

    ``status`` is the printer's (Printer Status, Printer Status Info) now
    (:func:`printserver.jobs.printer_status.current_status`); ``last_calibration`` as for
    :func:`printer_dataset`.
    """
    if uid != PRINTER_INSTANCE:
        raise DimseError(Status.NO_SUCH_SOP_INSTANCE, f"the Printer instance is {PRINTER_INSTANCE}")
    return _select(printer_dataset(printer, status, last_calibration), requested, strict)


def configuration_dataset(printer: PrinterConfig, limits: LimitsConfig) -> Dataset:
    """Printer Configuration Sequence (2000,001E), PS3.4 Table H.4-26: one item (grayscale meta)."""
    item = Dataset()
    item.SOPClassesSupported = [GRAYSCALE_META, ANNOTATION_BOX, PRINT_JOB] + (
        [PRESENTATION_LUT] if printer.supports_presentation_lut else [])
    item.MaximumMemoryAllocation = 0
    item.MemoryBitDepth = 16
    item.PrintingBitDepth = 12 if printer.supports_12_bit else 8
    medium = Dataset()
    medium.ItemNumber = 1
    medium.MediumType = printer.default_medium_type
    medium.FilmSizeID = printer.default_film_size
    medium.MinDensity = printer.min_density
    medium.MaxDensity = printer.max_density
    item.MediaInstalledSequence = [medium]
    others = []
    for medium_type in printer.medium_types:
        for size in printer.film_sizes:
            if (medium_type, size) == (printer.default_medium_type, printer.default_film_size):
                continue
            m = Dataset()
            m.MediumType = medium_type
            m.FilmSizeID = size
            m.MinDensity = printer.min_density
            m.MaxDensity = printer.max_density
            others.append(m)
    item.OtherMediaAvailableSequence = others
    formats = []
    names = list(printer.display_formats) or ["STANDARD\\1,1", "STANDARD\\1,2", "STANDARD\\2,2",
                                               "STANDARD\\2,3", "STANDARD\\3,4", "STANDARD\\4,4",
                                               "STANDARD\\4,5", "STANDARD\\5,6"]
    if not printer.display_formats:  # a display_formats list restricts the named ones too
        names += [n for n in printer.named_formats if n not in names]
    for resolution, dpi in printer.resolution_dpi.items():
        for name in names:
            f = Dataset()
            f.ImageDisplayFormat = name
            f.FilmOrientation = printer.default_orientation
            f.FilmSizeID = printer.default_film_size
            f.PrinterResolutionID = resolution
            spacing = f"{25.4 / dpi:.6f}"
            f.PrinterPixelSpacing = [spacing, spacing]
            f.RequestedImageSizeFlag = "YES"
            formats.append(f)
    item.SupportedImageDisplayFormatsSequence = formats
    item.DefaultPrinterResolutionID = printer.default_resolution
    item.DefaultMagnificationType = printer.default_magnification_type
    item.OtherMagnificationTypesAvailable = [m for m in printer.magnification_types
                                             if m != printer.default_magnification_type]
    if printer.smoothing_types:
        item.DefaultSmoothingType = printer.smoothing_types[0]
        if len(printer.smoothing_types) > 1:
            item.OtherSmoothingTypesAvailable = list(printer.smoothing_types[1:])
    if printer.configuration_choices:
        # Configuration Information Description (2010,0152), LT: the values this printer takes
        item.ConfigurationInformationDescription = "\r\n".join(printer.configuration_choices)
    item.MaximumCollatedFilms = limits.max_film_boxes_per_session
    item.DecimateCropResult = "DEF DECIMATE"
    item.Manufacturer = printer.manufacturer
    item.ManufacturerModelName = printer.model
    item.PrinterName = printer.name
    ds = Dataset()
    ds.PrinterConfigurationSequence = [item]
    return ds


def get_configuration(printer: PrinterConfig, limits: LimitsConfig, uid: str | None,
                      requested: Sequence[int] | None, strict: bool) -> Reply:
    """N-GET Printer Configuration Retrieval (PS3.4 H.4.11.2.1); another UID → 0112."""
    if uid != PRINTER_CONFIGURATION_INSTANCE:
        raise DimseError(Status.NO_SUCH_SOP_INSTANCE,
                         f"the instance is {PRINTER_CONFIGURATION_INSTANCE}")
    return _select(configuration_dataset(printer, limits), requested, strict)


__all__ = ["configuration_dataset", "get_configuration", "get_printer", "printer_dataset",
           "printer_event"]
