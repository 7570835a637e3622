"""Film geometry: film size × orientation × resolution → raster; Image Display Format → box rectangles.

Pure functions returning frozen dataclasses. Pixel rectangles use the raster's convention: origin at
the top-left corner of the film as it hangs on the light box, ``x`` to the right, ``y`` downwards.

* Film size: Film Size ID (2010,0050), PS3.3 C.13.3, with the physical sizes of
  :data:`printserver.vocabulary.FILM_SIZES`. LANDSCAPE swaps width and height (Film Orientation
  (2010,0040): "horizontal film position").
* Resolution: the printer's dots per inch for the Requested Resolution ID (2020,0050).
* Image Display Format (2010,0010), PS3.3 C.13.3: ``STANDARD\\C,R`` is C columns by R rows of equal
  boxes; ``ROW\\r1,r2,...`` has one row per value with r_i equal boxes in it; ``COL\\c1,c2,...``
  one column per value with c_i boxes. Numbering (PS3.3 C.13.5.1, Image Box Position): STANDARD and
  ROW row-major (left to right, then top to bottom), COL column-major (top to bottom, then left to
  right); box 1 is top left.
"""

from __future__ import annotations

from dataclasses import dataclass

from printserver.layout.status import LayoutError
from printserver.vocabulary import FilmOrientation, FilmSize, ImageDisplayFormat

MM_PER_INCH = 25.4


@dataclass(frozen=True)
class Rect:
    """A rectangle of film pixels: left ``x``, top ``y``, ``width`` columns, ``height`` rows."""

    x: int
    y: int
    width: int
    height: int

    @property
    def slices(self) -> tuple[slice, slice]:
        """``(rows, columns)`` slices selecting this rectangle of a raster."""
        return slice(self.y, self.y + self.height), slice(self.x, self.x + self.width)

    @property
    def right(self) -> int:
        return self.x + self.width

    @property
    def bottom(self) -> int:
        return self.y + self.height

    def inset(self, left: int, top: int, right: int, bottom: int) -> Rect:
        """The rectangle shrunk by the given number of pixels on each side (never below 0)."""
        return Rect(self.x + left, self.y + top, max(0, self.width - left - right),
                    max(0, self.height - top - bottom))


@dataclass(frozen=True)
class FilmGeometry:
    """The film as a raster: physical size, resolution and the printable area."""

    film_size: FilmSize
    orientation: FilmOrientation
    dpi: float
    #: physical size as oriented (LANDSCAPE: width > height), mm
    width_mm: float
    height_mm: float
    #: raster size in pixels
    columns: int
    rows: int
    #: the part of the raster the printer prints on (the film minus its margins)
    printable: Rect

    @property
    def pixel_spacing_mm(self) -> float:
        """Distance between film pixel centres, mm (Printer Pixel Spacing (2010,0376))."""
        return MM_PER_INCH / self.dpi

    def mm_to_px(self, mm: float) -> int:
        """A length in mm as a whole number of film pixels (rounded)."""
        return int(round(mm * self.dpi / MM_PER_INCH))


def film_geometry(film_size: FilmSize, orientation: FilmOrientation, dpi: float,
                  margin_mm: float = 0.0) -> FilmGeometry:
    """Raster size and printable area of a film.

    Parameters
    ----------
    film_size
        The Film Size ID with its portrait size in mm.
    orientation
        PORTRAIT keeps the portrait size; LANDSCAPE swaps width and height.
    dpi
        Printer resolution for the Requested Resolution ID, dots per inch.
    margin_mm
        Unprinted margin on every edge, mm.

    Returns
    -------
    FilmGeometry
        ``columns = round(width_mm / 25.4 * dpi)`` and likewise ``rows``: 14INX17IN at 508 dpi
        is 7112 × 8636 pixels.
    """
    if dpi <= 0:
        raise LayoutError(f"printer resolution must be positive, got {dpi} dpi")
    if margin_mm < 0:
        raise LayoutError(f"printable margin must not be negative, got {margin_mm} mm")
    w_mm, h_mm = film_size.width_mm, film_size.height_mm
    if orientation is FilmOrientation.LANDSCAPE:
        w_mm, h_mm = h_mm, w_mm
    columns = int(round(w_mm * dpi / MM_PER_INCH))
    rows = int(round(h_mm * dpi / MM_PER_INCH))
    margin = int(round(margin_mm * dpi / MM_PER_INCH))
    printable = Rect(margin, margin, columns - 2 * margin, rows - 2 * margin)
    if printable.width < 1 or printable.height < 1:
        raise LayoutError(f"{film_size.film_size_id}: margins of {margin_mm} mm leave no printable "
                          "area")
    return FilmGeometry(film_size, orientation, float(dpi), w_mm, h_mm, columns, rows, printable)


def split_length(start: int, length: int, count: int, gap: int) -> list[tuple[int, int]]:
    """Split ``length`` pixels from ``start`` into ``count`` near-equal cells separated by ``gap``.

    Cell edges are rounded from the exact fractional positions, so cells differ by at most one
    pixel and the last cell ends exactly at ``start + length``.

    Returns
    -------
    list of (start, size)
    """
    cell = (length - (count - 1) * gap) / count
    if cell < 1:
        raise LayoutError(f"{count} image boxes with {gap}-pixel gaps do not fit in {length} "
                          "pixels at this resolution")
    cells = []
    for i in range(count):
        a = start + int(round(i * (cell + gap)))
        b = start + int(round(i * (cell + gap) + cell))
        cells.append((a, b - a))
    return cells


def image_box_rects(display_format: ImageDisplayFormat, area: Rect, gap: int = 0) -> tuple[Rect, ...]:
    """The rectangle of every image box, in Image Box Position order (index 0 is position 1).

    Parameters
    ----------
    display_format
        A parsed (and, for SLIDE / SUPERSLIDE / CUSTOM, resolved) Image Display Format.
    area
        The film area the boxes share (the printable area minus any LABEL line).
    gap
        Pixels between neighbouring boxes; the outer edges of ``area`` get no gap.

    Returns
    -------
    tuple of Rect
        STANDARD and ROW numbered row-major, COL column-major (PS3.3 C.13.5.1).
    """
    kind, counts = display_format.kind, display_format.counts
    boxes: list[Rect] = []
    if kind == "STANDARD":
        columns, rows = counts
        xs = split_length(area.x, area.width, columns, gap)
        ys = split_length(area.y, area.height, rows, gap)
        for y, h in ys:
            for x, w in xs:
                boxes.append(Rect(x, y, w, h))
    elif kind == "ROW":
        ys = split_length(area.y, area.height, len(counts), gap)
        for (y, h), n in zip(ys, counts):
            for x, w in split_length(area.x, area.width, n, gap):
                boxes.append(Rect(x, y, w, h))
    elif kind == "COL":
        xs = split_length(area.x, area.width, len(counts), gap)
        for (x, w), n in zip(xs, counts):
            for y, h in split_length(area.y, area.height, n, gap):
                boxes.append(Rect(x, y, w, h))
    else:
        raise LayoutError(f"Image Display Format {display_format.text!r}: kind {kind!r} is not "
                          "STANDARD, ROW or COL")
    return tuple(boxes)
