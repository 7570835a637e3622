"""The print vocabulary of the DICOM standard: enumerated values, defined terms and status codes.

One module for the words of PS3.3 C.13 (print modules) and PS3.4 Annex H (Print Management), in the
style of highdicom's ``enum.py``: each value is an ``Enum`` member whose docstring says what it means and
where the standard defines it. Validation raises :class:`VocabularyError` naming the attribute and the
allowed values; the SCP turns that into the PS3.4 status, the CLI and the web into a message.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from printserver.errors import PrintserverError


class VocabularyError(PrintserverError, ValueError):
    """A value that is not one of the standard's (or the printer's) allowed values."""

    def __init__(self, attribute: str, value: object, allowed: object | None = None) -> None:
        self.attribute = attribute
        self.value = value
        msg = f"{attribute}: {value!r} is not allowed"
        if allowed is not None:
            msg += f" (allowed: {allowed})"
        super().__init__(msg)


class _Terms(str, enum.Enum):
    """A string enum whose members compare equal to their DICOM code string."""

    @classmethod
    def parse(cls, value: str, attribute: str | None = None):
        text = str(value).strip().upper()
        try:
            return cls(text)
        except ValueError:
            raise VocabularyError(attribute or cls.__name__, value,
                                  ", ".join(m.value for m in cls)) from None

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.value


@dataclass(frozen=True)
class FilmSize:
    """A Film Size ID (2010,0050) with its physical size in millimetres (portrait: width < height)."""

    film_size_id: str
    width_mm: float
    height_mm: float


#: PS3.3 C.13.3, Film Size ID (2010,0050) defined terms and their physical sizes.
FILM_SIZES: dict[str, FilmSize] = {
    f.film_size_id: f
    for f in (
        FilmSize("8INX10IN", 203.2, 254.0),
        FilmSize("8_5INX11IN", 215.9, 279.4),
        FilmSize("10INX12IN", 254.0, 304.8),
        FilmSize("10INX14IN", 254.0, 355.6),
        FilmSize("11INX14IN", 279.4, 355.6),
        FilmSize("11INX17IN", 279.4, 431.8),
        FilmSize("14INX14IN", 355.6, 355.6),
        FilmSize("14INX17IN", 355.6, 431.8),
        FilmSize("24CMX24CM", 240.0, 240.0),
        FilmSize("24CMX30CM", 240.0, 300.0),
        FilmSize("A4", 210.0, 297.0),
        FilmSize("A3", 297.0, 420.0),
    )
}


def film_size(film_size_id: str) -> FilmSize:
    """Return the :class:`FilmSize` of a Film Size ID, or raise :class:`VocabularyError`."""
    key = str(film_size_id).strip().upper()
    try:
        return FILM_SIZES[key]
    except KeyError:
        raise VocabularyError("Film Size ID", film_size_id, ", ".join(FILM_SIZES)) from None


class FilmOrientation(_Terms):
    """Film Orientation (2010,0040), PS3.3 C.13.3. Enumerated values."""

    PORTRAIT = "PORTRAIT"  #: vertical film position
    LANDSCAPE = "LANDSCAPE"  #: horizontal film position


class MagnificationType(_Terms):
    """Magnification Type (2010,0060), PS3.3 C.13.3. Defined terms."""

    REPLICATE = "REPLICATE"  #: interpolated pixels are copies of adjacent pixels
    BILINEAR = "BILINEAR"  #: bilinear interpolation between pixels
    CUBIC = "CUBIC"  #: cubic interpolation between pixels
    NONE = "NONE"  #: no interpolation


class Polarity(_Terms):
    """Polarity (2020,0020), PS3.3 C.13.5: whether minimum pixel values print black or white."""

    NORMAL = "NORMAL"  #: pixels printed as the Photometric Interpretation specifies
    REVERSE = "REVERSE"  #: pixels printed with the opposite polarity


class PresentationLUTShape(_Terms):
    """Presentation LUT Shape (2050,0020), PS3.3 C.11.4 (print) and C.11.6 (softcopy INVERSE)."""

    IDENTITY = "IDENTITY"  #: input already in P-values
    LIN_OD = "LIN OD"  #: input linear in optical density between Min and Max Density (hardcopy only)
    INVERSE = "INVERSE"  #: P-value = maximum − input (PS3.3 C.11.6.1.2)


class PhotometricInterpretation(_Terms):
    """Photometric Interpretation (0028,0004) allowed in a Basic Grayscale Image Box (PS3.4 H.4.3.1)."""

    MONOCHROME1 = "MONOCHROME1"  #: minimum sample value is white
    MONOCHROME2 = "MONOCHROME2"  #: minimum sample value is black


class PrintPriority(_Terms):
    """Print Priority (2000,0020), PS3.3 C.13.1. Enumerated values."""

    HIGH = "HIGH"
    MED = "MED"
    LOW = "LOW"


class MediumType(_Terms):
    """Medium Type (2000,0030), PS3.3 C.13.1. Defined terms (a printer may restrict them)."""

    PAPER = "PAPER"
    CLEAR_FILM = "CLEAR FILM"
    BLUE_FILM = "BLUE FILM"
    MAMMO_CLEAR_FILM = "MAMMO CLEAR FILM"
    MAMMO_BLUE_FILM = "MAMMO BLUE FILM"


class Trim(_Terms):
    """Trim (2010,0140), PS3.3 C.13.3: whether a trim box is printed around each image."""

    YES = "YES"
    NO = "NO"


class DecimateCropBehavior(_Terms):
    """Requested Decimate/Crop Behavior (2020,0040), PS3.3 C.13.5. Enumerated values."""

    DECIMATE = "DECIMATE"  #: magnify by less than 1 using the Magnification Type
    CROP = "CROP"  #: drop rows and columns around the centre
    FAIL = "FAIL"  #: neither: the SCP fails the print (C603)


class ExecutionStatus(_Terms):
    """Execution Status (2100,0020) of a Print Job, PS3.3 C.13.8. Enumerated values."""

    PENDING = "PENDING"  #: queued, not printing yet
    PRINTING = "PRINTING"  #: being rendered or printed
    DONE = "DONE"  #: printed
    FAILURE = "FAILURE"  #: not printed (failed or cancelled)


class ExecutionStatusInfo(_Terms):
    """Execution Status Info (2100,0030) of a Print Job, PS3.3 C.13.8: defined terms, the ones
    printserver reports (C.13.8 adds INVALID PAGE DES and INSUFFIC MEMORY to the C.13.9.1 list)."""

    NORMAL = "NORMAL"  #: with PRINTING and DONE
    QUEUED = "QUEUED"  #: with PENDING: the job waits in the queue
    UNKNOWN = "UNKNOWN"  #: with FAILURE: the reason is in the job's message, not a defined term


class PrinterStatus(_Terms):
    """Printer Status (2110,0010), PS3.3 C.13.9. Enumerated values."""

    NORMAL = "NORMAL"
    WARNING = "WARNING"  #: prints, but something needs attention
    FAILURE = "FAILURE"  #: does not print now


class PrinterStatusInfo(_Terms):
    """Printer Status Info (2110,0020), PS3.3 C.13.9.1: the defined terms printserver and its
    outputs report. The standard lists many more (FILM JAM, COVER OPEN, …): a DICOM film printer's
    own term is passed on as the string it sent."""

    NORMAL = "NORMAL"  #: with Printer Status NORMAL
    PRINTER_DOWN = "PRINTER DOWN"  #: not reachable or not working (spool not writable, no answer)
    PRINTER_OFFLINE = "PRINTER OFFLINE"  #: reachable but not taking jobs (paused, queue stopped)
    PRINT_BUFF_FULL = "PRINT BUFF FULL"  #: the spool or the print queue is full
    CHECK_PRINTER = "CHECK PRINTER"  #: the device needs an operator (missing queue, refused job)


#: Event Type ID of a Print Job N-EVENT-REPORT for each Execution Status (PS3.4 Table H.4-14)
PRINT_JOB_EVENT_TYPES: Mapping[ExecutionStatus, int] = MappingProxyType({
    ExecutionStatus.PENDING: 1, ExecutionStatus.PRINTING: 2, ExecutionStatus.DONE: 3,
    ExecutionStatus.FAILURE: 4})
#: Event Type ID of a Printer N-EVENT-REPORT for each Printer Status (PS3.4 Table H.4-16)
PRINTER_EVENT_TYPES: Mapping[PrinterStatus, int] = MappingProxyType({
    PrinterStatus.NORMAL: 1, PrinterStatus.WARNING: 2, PrinterStatus.FAILURE: 3})
#: the names of those Event Type IDs, as a log or a report shows them
PRINT_JOB_EVENT_NAMES: Mapping[int, str] = MappingProxyType(
    {number: status.value for status, number in PRINT_JOB_EVENT_TYPES.items()})
PRINTER_EVENT_NAMES: Mapping[int, str] = MappingProxyType(
    {number: status.value for status, number in PRINTER_EVENT_TYPES.items()})


def parse_density(value: str, attribute: str) -> str | int:
    """Parse Border Density (2010,0100) or Empty Image Density (2010,0110), PS3.3 C.13.3.

    Returns ``"BLACK"``, ``"WHITE"`` or an integer in hundredths of optical density.
    """
    text = str(value).strip().upper()
    if text in ("BLACK", "WHITE"):
        return text
    if re.fullmatch(r"\d{1,4}", text):
        return int(text)
    raise VocabularyError(attribute, value, "BLACK, WHITE or hundredths of OD")


@dataclass(frozen=True)
class ImageDisplayFormat:
    """A parsed Image Display Format (2010,0010), PS3.3 C.13.3.

    ``kind`` is ``STANDARD``, ``ROW`` or ``COL``; ``counts`` is ``(columns, rows)`` for STANDARD,
    the number of boxes per row for ROW and per column for COL. SLIDE, SUPERSLIDE and CUSTOM\\i are
    resolved to one of these three by the printer's configuration before layout. ``text`` keeps the
    value as the SCU sent it.

    Box numbering (PS3.3 C.13.5.1, Image Box Position): STANDARD and ROW are row-major, left to
    right then top to bottom; COL is column-major, top to bottom then left to right. Box 1 is the
    top-left box.
    """

    kind: str
    counts: tuple[int, ...]
    text: str

    @property
    def box_count(self) -> int:
        """Number of image boxes the format defines."""
        if self.kind == "STANDARD":
            return self.counts[0] * self.counts[1]
        return sum(self.counts)

    @classmethod
    def parse(cls, value: str, max_boxes: int = 100, max_per_line: int = 20) -> ImageDisplayFormat:
        """Parse ``STANDARD\\C,R``, ``ROW\\r1,r2,…`` or ``COL\\c1,c2,…``.

        Raises :class:`VocabularyError` for anything else, for counts < 1, more than
        ``max_per_line`` boxes in a line or more than ``max_boxes`` boxes in total.
        SLIDE, SUPERSLIDE and CUSTOM are not parsed here: see :meth:`resolve`.
        """
        text = str(value).strip()
        m = re.fullmatch(r"(STANDARD|ROW|COL)\\(\d+(?:\s*,\s*\d+)*)", text.upper())
        if not m:
            raise VocabularyError("Image Display Format", value,
                                  "STANDARD\\C,R, ROW\\r1,r2,..., COL\\c1,c2,..., or a configured "
                                  "SLIDE, SUPERSLIDE or CUSTOM\\i")
        kind = m.group(1)
        counts = tuple(int(c) for c in m.group(2).split(","))
        if kind == "STANDARD" and len(counts) != 2:
            raise VocabularyError("Image Display Format", value, "STANDARD\\C,R with two numbers")
        if any(c < 1 or c > max_per_line for c in counts):
            raise VocabularyError("Image Display Format", value,
                                  f"counts between 1 and {max_per_line}")
        fmt = cls(kind, counts, text)
        if fmt.box_count > max_boxes:
            raise VocabularyError("Image Display Format", value, f"at most {max_boxes} image boxes")
        return fmt

    @classmethod
    def resolve(cls, value: str, named_formats: dict[str, str], max_boxes: int = 100,
                max_per_line: int = 20) -> ImageDisplayFormat:
        """Parse ``value``, first replacing a printer-defined name (SLIDE, SUPERSLIDE, CUSTOM\\i).

        ``named_formats`` maps such names (upper case) to a STANDARD/ROW/COL definition, as the
        printer configuration (and the conformance statement) defines them. The returned format
        keeps the original text.
        """
        text = str(value).strip()
        key = text.upper()
        definition = named_formats.get(key)
        if definition is None and (key in ("SLIDE", "SUPERSLIDE") or key.startswith("CUSTOM")):
            raise VocabularyError("Image Display Format", value,
                                  "a layout this printer defines: " + (", ".join(named_formats) or "none"))
        parsed = cls.parse(definition or text, max_boxes=max_boxes, max_per_line=max_per_line)
        return cls(parsed.kind, parsed.counts, text)


class Status(enum.IntEnum):
    """DIMSE status codes a Print SCP uses: PS3.4 Annex H (H.4.x) and PS3.7 Annex C."""

    SUCCESS = 0x0000
    # Print-specific warnings (PS3.4 H.4)
    MEMORY_ALLOCATION_NOT_SUPPORTED = 0xB600
    COLLATION_NOT_SUPPORTED = 0xB601
    EMPTY_PAGE_SESSION = 0xB602
    EMPTY_PAGE_FILM_BOX = 0xB603
    IMAGE_DEMAGNIFIED = 0xB604
    DENSITY_OUT_OF_RANGE = 0xB605
    IMAGE_CROPPED = 0xB609
    IMAGE_DECIMATED = 0xB60A
    # Print-specific failures (PS3.4 H.4)
    NO_FILM_BOX = 0xC600
    QUEUE_FULL_SESSION = 0xC601
    QUEUE_FULL_FILM_BOX = 0xC602
    IMAGE_TOO_LARGE = 0xC603
    INSUFFICIENT_MEMORY = 0xC605
    COMBINED_IMAGE_TOO_LARGE = 0xC613
    UNPRINTED_FILM_BOX = 0xC616
    # General DIMSE-N statuses (PS3.7 Annex C)
    NO_SUCH_ATTRIBUTE = 0x0105
    INVALID_ATTRIBUTE_VALUE = 0x0106
    ATTRIBUTE_LIST_ERROR = 0x0107
    PROCESSING_FAILURE = 0x0110
    DUPLICATE_SOP_INSTANCE = 0x0111
    NO_SUCH_SOP_INSTANCE = 0x0112
    NO_SUCH_EVENT_TYPE = 0x0113
    NO_SUCH_ARGUMENT = 0x0114
    INVALID_ARGUMENT_VALUE = 0x0115
    ATTRIBUTE_VALUE_OUT_OF_RANGE = 0x0116
    INVALID_OBJECT_INSTANCE = 0x0117
    NO_SUCH_SOP_CLASS = 0x0118
    CLASS_INSTANCE_CONFLICT = 0x0119
    MISSING_ATTRIBUTE = 0x0120
    MISSING_ATTRIBUTE_VALUE = 0x0121
    SOP_CLASS_NOT_SUPPORTED = 0x0122
    NO_SUCH_ACTION = 0x0123
    NOT_AUTHORIZED = 0x0124
    DUPLICATE_INVOCATION = 0x0210
    UNRECOGNIZED_OPERATION = 0x0211
    MISTYPED_ARGUMENT = 0x0212
    RESOURCE_LIMITATION = 0x0213

    @property
    def is_warning(self) -> bool:
        return self in (Status.ATTRIBUTE_LIST_ERROR, Status.ATTRIBUTE_VALUE_OUT_OF_RANGE) or (
            0xB000 <= self.value <= 0xBFFF)

    @property
    def is_failure(self) -> bool:
        return self.value != 0 and not self.is_warning
