"""Plain domain objects of a print session (PS3.4 H.2, the print SOP instance hierarchy).

They know nothing about DIMSE or sockets. Attribute values are kept as a mapping from the DICOM
keyword to a JSON-ready Python value (str, int, float, list), exactly as received or defaulted, so
that a print job manifest can carry them unchanged.
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from printserver.vocabulary import ImageDisplayFormat

#: SOP Class UIDs of PS3.4 Annex H (see the reference digest, section 1)
FILM_SESSION = "1.2.840.10008.5.1.1.1"
FILM_BOX = "1.2.840.10008.5.1.1.2"
GRAYSCALE_IMAGE_BOX = "1.2.840.10008.5.1.1.4"
GRAYSCALE_META = "1.2.840.10008.5.1.1.9"
PRINT_JOB = "1.2.840.10008.5.1.1.14"
ANNOTATION_BOX = "1.2.840.10008.5.1.1.15"
PRINTER = "1.2.840.10008.5.1.1.16"
PRINTER_INSTANCE = "1.2.840.10008.5.1.1.17"
PRINTER_CONFIGURATION = "1.2.840.10008.5.1.1.16.376"
PRINTER_CONFIGURATION_INSTANCE = "1.2.840.10008.5.1.1.17.376"
PRESENTATION_LUT = "1.2.840.10008.5.1.1.23"
VERIFICATION = "1.2.840.10008.1.1"


@dataclass
class PresentationLUTRecord:
    """A Presentation LUT SOP instance (PS3.4 H.4.9, PS3.3 C.11.4).

    Exactly one of ``shape`` (IDENTITY, LIN OD, INVERSE) or ``descriptor`` + ``data`` is set.
    ``descriptor`` is (number of entries, first mapped value, bits per entry) as sent.
    """

    uid: str
    shape: str | None = None
    descriptor: tuple[int, int, int] | None = None
    data: list[int] | None = None
    explanation: str = ""

    @property
    def entries(self) -> int | None:
        """Number of table entries (0 in the descriptor means 65536), None for a shape."""
        if self.descriptor is None:
            return None
        return self.descriptor[0] or 65536

    def to_manifest(self) -> dict[str, Any]:
        """Plain attributes from which :class:`printserver.gsdf` rebuilds the LUT."""
        if self.shape is not None:
            return {"uid": self.uid, "shape": self.shape}
        return {"uid": self.uid, "descriptor": list(self.descriptor or ()),
                "explanation": self.explanation, "data": list(self.data or ())}


@dataclass
class ImageRecord:
    """The pixel module of a Basic Grayscale Image Sequence item (PS3.4 H.4.3.1), pixels native LE."""

    rows: int
    columns: int
    bits_allocated: int
    bits_stored: int
    high_bit: int
    pixel_representation: int
    photometric_interpretation: str
    samples_per_pixel: int
    pixel_aspect_ratio: list[int] | None
    pixel_data: bytes
    #: the pixels being written to the spool's staging folder (see :meth:`Spool.stage`), if any
    staged: Future | None = field(default=None, repr=False, compare=False)

    @property
    def nbytes(self) -> int:
        return len(self.pixel_data)


@dataclass
class ImageBox:
    """A Basic Grayscale Image Box created by the SCP at Film Box N-CREATE (PS3.4 H.4.3.1).

    ``index`` is the box's place in the Referenced Image Box Sequence (1-based, the position order);
    ``position`` is the Image Box Position (2020,0010) the SCU set, None until then.
    """

    uid: str
    sop_class_uid: str
    index: int
    position: int | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    image: ImageRecord | None = None


@dataclass
class AnnotationBox:
    """A Basic Annotation Box (PS3.4 H.4.4): created by the SCP, text set by the SCU."""

    uid: str
    index: int
    position: int | None = None
    text: str | None = None


@dataclass
class FilmBox:
    """A Basic Film Box (PS3.4 H.4.2) with its image and annotation boxes."""

    uid: str
    attributes: dict[str, Any]
    display_format: ImageDisplayFormat
    image_boxes: list[ImageBox] = field(default_factory=list)
    annotation_boxes: list[AnnotationBox] = field(default_factory=list)
    printed: bool = False
    #: (the film geometry it was computed for, (columns, rows) of each box): see image_box
    box_sizes: tuple[Any, list[tuple[int, int]]] | None = None

    @property
    def has_image(self) -> bool:
        return any(b.image is not None for b in self.image_boxes)


@dataclass
class FilmSession:
    """A Basic Film Session (PS3.4 H.4.1); at most one per association."""

    uid: str
    attributes: dict[str, Any]
    film_boxes: list[FilmBox] = field(default_factory=list)
