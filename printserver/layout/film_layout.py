"""The layout of one film: geometry, image boxes and annotation boxes, from a Film Box and a printer.

Resolves the Film Box attributes against the printer configuration (defaults, named display formats,
resolution per Requested Resolution ID) and places the Basic Annotation Boxes (PS3.3 C.13.7) the
Annotation Display Format ID (2010,0030) defines. PS3.3 leaves annotation layouts to the printer's
Conformance Statement; printserver defines:

``LABEL``
    One text line across the top of the printable area, split into as many equal annotation boxes
    as the printer configures for the ID (1 by default), numbered left to right. The image boxes
    share the area below it.
``BOTTOM``
    One text line at the bottom of every image box; Annotation Position i is the line under image
    box i. Image boxes beyond the configured number of annotation boxes keep an empty line.
any other configured ID
    Laid out like ``LABEL`` with the configured number of boxes.
an ID the printer does not define
    (accepted by a lenient Print SCP with ``unknown_annotation_boxes`` boxes) one text line across
    the top, which the boxes that hold text share, left to right in Annotation Position order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from printserver.config import PrinterConfig
from printserver.layout.geometry import FilmGeometry, Rect, film_geometry, image_box_rects
from printserver.layout.spec import FilmSpec
from printserver.layout.status import LayoutError
from printserver.vocabulary import FilmOrientation, ImageDisplayFormat, VocabularyError, film_size

#: annotation text size on film: the font's em height, mm (about 11 pt, readable at arm's length)
ANNOTATION_FONT_MM = 4.0
#: height of one annotation line, mm
ANNOTATION_LINE_MM = 6.0


@dataclass(frozen=True)
class ImageBoxLayout:
    """One image box: its cell on the film, the part images go in, and its caption line."""

    image_box_position: int
    #: the whole cell of the Image Display Format
    box: Rect
    #: the part of the cell an image may fill (the cell minus a BOTTOM caption line)
    image_area: Rect
    #: the BOTTOM annotation line of this box, if the format has one
    caption: Rect | None = None


@dataclass(frozen=True)
class FilmLayout:
    """Everything about a film's geometry that does not depend on its pixels."""

    geometry: FilmGeometry
    display_format: ImageDisplayFormat
    image_boxes: tuple[ImageBoxLayout, ...]
    #: Annotation Position → its rectangle on the film
    annotation_boxes: Mapping[int, Rect]
    #: the top LABEL line, if any
    label_line: Rect | None
    #: annotation font size (em height) in film pixels
    font_px: int
    #: gap between boxes in film pixels
    gap_px: int


def resolve_dpi(printer: PrinterConfig, requested_resolution_id: str | None) -> float:
    """Dots per inch for a Requested Resolution ID (2020,0050), PS3.3 C.13.3, on this printer."""
    rid = (requested_resolution_id or printer.default_resolution).strip().upper()
    if rid not in printer.resolution_dpi:
        known = ", ".join(printer.resolution_dpi) or "none"
        raise LayoutError(f"Requested Resolution ID {requested_resolution_id!r} is not offered by "
                          f"printer {printer.ae_title} (offered: {known})")
    return float(printer.resolution_dpi[rid])


def plan_film(film: FilmSpec, printer: PrinterConfig) -> FilmLayout:
    """Lay out a film: raster size, image box rectangles and annotation box rectangles.

    Raises
    ------
    LayoutError
        For an unknown Film Size ID, orientation, Image Display Format or Requested Resolution
        ID, with the allowed values in the message.
    """
    try:
        size = film_size(film.film_size_id or printer.default_film_size)
        orientation = FilmOrientation.parse(film.film_orientation or printer.default_orientation,
                                            "Film Orientation")
        display_format = ImageDisplayFormat.resolve(film.image_display_format,
                                                    dict(printer.named_formats))
    except VocabularyError as exc:
        raise LayoutError(str(exc)) from exc
    dpi = resolve_dpi(printer, film.requested_resolution_id)
    geometry = film_geometry(size, orientation, dpi, printer.printable_margin_mm)
    if printer.image_box_gap_mm < 0:
        raise LayoutError(f"printer {printer.ae_title}: image_box_gap_mm must not be negative")
    gap = geometry.mm_to_px(printer.image_box_gap_mm)
    line = max(1, geometry.mm_to_px(ANNOTATION_LINE_MM))
    font_px = max(1, geometry.mm_to_px(ANNOTATION_FONT_MM))

    area = geometry.printable
    annotation_boxes: dict[int, Rect] = {}
    label_line: Rect | None = None
    bottom_count = 0
    adf = film.annotation_display_format_id
    if adf:
        key = adf.strip().upper()
        defined = key in printer.annotation_formats
        count = int(printer.annotation_formats[key] if defined
                    else printer.unknown_annotation_boxes)
        if key == "BOTTOM" and defined:
            bottom_count = count
        elif count > 0:
            if area.height <= line + gap:
                raise LayoutError(f"film too small for an annotation line at {dpi:g} dpi")
            label_line = Rect(area.x, area.y, area.width, line)
            positions = list(range(1, count + 1)) if defined else sorted(
                p for p, text in film.annotations.items() if 1 <= p <= count and text.strip())
            width = area.width / max(1, len(positions))
            for i, position in enumerate(positions):
                x0 = area.x + int(round(i * width))
                x1 = area.x + int(round((i + 1) * width))
                annotation_boxes[position] = Rect(x0, area.y, x1 - x0, line)
            area = area.inset(0, line + gap, 0, 0)

    boxes = image_box_rects(display_format, area, gap)
    layouts = []
    for index, box in enumerate(boxes):
        position = index + 1
        if bottom_count:
            if box.height <= 2 * line:
                raise LayoutError(f"image box {position} is too small for a BOTTOM annotation line "
                                  f"at {dpi:g} dpi")
            caption = Rect(box.x, box.bottom - line, box.width, line)
            if position <= bottom_count:
                annotation_boxes[position] = caption
            layouts.append(ImageBoxLayout(position, box, box.inset(0, 0, 0, line), caption))
        else:
            layouts.append(ImageBoxLayout(position, box, box))
    return FilmLayout(geometry, display_format, tuple(layouts), annotation_boxes, label_line,
                      font_px, gap)


def image_area_sizes(film: FilmSpec, printer: PrinterConfig) -> tuple[tuple[int, int], ...]:
    """(columns, rows) of film pixels an image may fill, per Image Box Position (1 first).

    The size an image prints at without being demagnified (PS3.4 B604) or cropped, with this
    printer's resolution, margins, box gaps and annotation lines; a Print SCP should check
    Requested Decimate/Crop Behavior FAIL against it, and report it as Rows/Columns in the
    Printer Configuration Retrieval (PS3.3 C.13.13). Trim (YES) takes a further 2 mm.
    """
    return tuple((b.image_area.width, b.image_area.height) for b in plan_film(film, printer).image_boxes)
