"""Composition: a Film Box and its Image Boxes → one film raster in optical density.

The raster (``uint16`` milli-OD, see :mod:`printserver.layout.densities`) is allocated once, filled
with Border Density, and every image, empty box, annotation and trim frame is written straight into
it. Large images go through in row strips, so a pre-composed 14INX17IN sheet at 508 dpi needs the
raster plus a few megabytes, never a float copy of the film.

Order of the work for each image box (PS3.4 H.2.1.2, PS3.3 C.13.3 / C.13.5): pick the box's
attributes (image box values override the film box's), plan its placement (size, decimate/crop,
centring), resample the stored values, look the result up in the image's density table (MONOCHROME1,
Polarity, Presentation LUT, PS3.14 §7.2) and write it into the film.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from printserver.config import PrinterConfig
from printserver.layout.annotations import draw_text, load_font, text_density
from printserver.layout.densities import (MILLI_OD, RASTER_DTYPE, DensityRange, effective_range,
                                          milli_od_lut, named_density, to_milli_od)
from printserver.layout.film_layout import FilmLayout, ImageBoxLayout, plan_film
from printserver.layout.geometry import Rect
from printserver.layout.placement import Placement, plan_placement, resample
from printserver.layout.spec import FilmSpec, ImageSpec
from printserver.layout.status import LayoutError, RenderWarning
from printserver.vocabulary import (DecimateCropBehavior, MagnificationType, Status, Trim,
                                    VocabularyError)

log = logging.getLogger(__name__)

#: rows written per step when an image is copied into the film without resampling
STRIP_ROWS = 256
#: Trim (2010,0140): width of the trim frame and of the space between it and the image, mm
TRIM_LINE_MM = 0.5


@dataclass(eq=False)
class RenderedFilm:
    """A rendered film: the density raster and what happened on the way."""

    #: optical density in milli-OD, shape (rows, columns), top-left first
    raster: np.ndarray
    layout: FilmLayout
    #: the film box's density range and viewing conditions (after clamping to the printer's)
    density: DensityRange
    placements: tuple[Placement, ...]
    warnings: tuple[RenderWarning, ...]
    #: seconds spent per stage ("layout", "images", "annotations", "total")
    timing: dict[str, float] = field(default_factory=dict)

    @property
    def dpi(self) -> float:
        return self.layout.geometry.dpi

    def od(self, rect: Rect | None = None) -> np.ndarray:
        """Optical densities (float32) of ``rect`` (default: the whole film; mind the memory)."""
        region = self.raster if rect is None else self.raster[rect.slices]
        return region.astype(np.float32) / MILLI_OD


@dataclass(frozen=True)
class _FilmDefaults:
    """Film-box-level values each image box inherits unless it overrides them."""

    magnification: MagnificationType
    smoothing: str
    illumination: float
    reflected_ambient_light: float


def render_film(film: FilmSpec, images: Sequence[ImageSpec], printer: PrinterConfig) -> RenderedFilm:
    """Render one film to an optical-density raster.

    Parameters
    ----------
    film
        The Film Box attributes.
    images
        The Image Boxes that have an image; boxes not listed print at Empty Image Density.
    printer
        The printer: resolution, density range, named formats, annotation formats, defaults.

    Returns
    -------
    RenderedFilm
        The raster with placements, warnings (B604, B605, B609, B60A) and timing.

    Raises
    ------
    LayoutError
        Anything that keeps the film from being printed, with a readable reason and the matching
        PS3.4 status: unknown film size or display format (0106), an image larger than its box with
        FAIL (C603), an image box position the format does not have (0106), bad pixel data (0106).
    """
    start = time.perf_counter()
    timing: dict[str, float] = {}
    layout = plan_film(film, printer)
    defaults = _film_defaults(film, printer)
    film_range, warnings = effective_range(film.min_density, film.max_density, printer,
                                           defaults.illumination, defaults.reflected_ambient_light)
    border_od, w1 = named_density(film.border_density, "Border Density", film_range, printer)
    empty_od, w2 = named_density(film.empty_image_density, "Empty Image Density", film_range,
                                 printer)
    warnings += [w for w in (w1, w2) if w is not None]
    try:
        trim = Trim.parse(film.trim or "NO", "Trim") is Trim.YES
    except VocabularyError as exc:
        raise LayoutError(str(exc)) from exc
    by_position = _images_by_position(images, len(layout.image_boxes))
    geometry = layout.geometry
    border, empty = to_milli_od(border_od), to_milli_od(empty_od)
    raster = np.empty((geometry.rows, geometry.columns), dtype=RASTER_DTYPE)
    raster.fill(border)
    timing["layout"] = time.perf_counter() - start

    t = time.perf_counter()
    placements = []
    trim_px = max(1, geometry.mm_to_px(TRIM_LINE_MM)) if trim else 0
    trim_value = to_milli_od(text_density(border_od, film_range.min_density,
                                          film_range.max_density))
    for box in layout.image_boxes:
        image = by_position.get(box.image_box_position)
        if image is None:
            raster[box.image_area.slices] = empty
            continue
        placement, image_warnings = _place_image(raster, image, box, film, printer, defaults,
                                                 geometry.dpi, trim_px)
        placements.append(placement)
        warnings += image_warnings
        if trim:
            _draw_frame(raster, placement.target, trim_px, trim_value)
    timing["images"] = time.perf_counter() - t

    t = time.perf_counter()
    _draw_annotations(raster, layout, film, border_od, film_range, warnings)
    timing["annotations"] = time.perf_counter() - t
    timing["total"] = time.perf_counter() - start
    log.debug("rendered %s %s %s at %g dpi in %.3f s (%d warnings)", geometry.film_size.film_size_id,
              geometry.orientation.value, layout.display_format.text, geometry.dpi,
              timing["total"], len(warnings))
    return RenderedFilm(raster, layout, film_range, tuple(placements), tuple(warnings), timing)


def _film_defaults(film: FilmSpec, printer: PrinterConfig) -> _FilmDefaults:
    try:
        magnification = MagnificationType.parse(
            film.magnification_type or printer.default_magnification_type, "Magnification Type")
    except VocabularyError as exc:
        raise LayoutError(str(exc)) from exc
    smoothing = (film.smoothing_type or (printer.smoothing_types[0] if printer.smoothing_types
                                         else "MEDIUM")).strip().upper()
    illumination = printer.illumination if film.illumination is None else film.illumination
    ambient = (printer.reflected_ambient_light if film.reflected_ambient_light is None
               else film.reflected_ambient_light)
    return _FilmDefaults(magnification, smoothing, float(illumination), float(ambient))


def _images_by_position(images: Sequence[ImageSpec], box_count: int) -> dict[int, ImageSpec]:
    by_position: dict[int, ImageSpec] = {}
    for image in images:
        pos = image.image_box_position
        if not 1 <= pos <= box_count:
            raise LayoutError(f"Image Box Position {pos} does not exist in this Image Display "
                              f"Format (1 to {box_count})", image_box_position=pos)
        if pos in by_position:
            raise LayoutError(f"two images for Image Box Position {pos}", image_box_position=pos)
        by_position[pos] = image
    return by_position


def _check_pixels(image: ImageSpec) -> np.ndarray:
    pixels = image.pixels
    pos = image.image_box_position
    if not isinstance(pixels, np.ndarray) or pixels.ndim != 2:
        raise LayoutError("Pixel Data must be one frame of Rows x Columns samples",
                          image_box_position=pos)
    if pixels.dtype not in (np.uint8, np.uint16):
        if not np.issubdtype(pixels.dtype, np.unsignedinteger) and not (
                np.issubdtype(pixels.dtype, np.integer) and pixels.size and pixels.min() >= 0):
            raise LayoutError(f"Pixel Data must be unsigned (Pixel Representation 0), got "
                              f"{pixels.dtype}", image_box_position=pos)
        pixels = pixels.astype(np.uint8 if image.bits_stored <= 8 else np.uint16)
    return pixels


def _place_image(raster: np.ndarray, image: ImageSpec, box: ImageBoxLayout, film: FilmSpec,
                 printer: PrinterConfig, defaults: _FilmDefaults, dpi: float, trim_px: int
                 ) -> tuple[Placement, list[RenderWarning]]:
    pos = image.image_box_position
    try:
        magnification = (MagnificationType.parse(image.magnification_type, "Magnification Type")
                         if image.magnification_type else defaults.magnification)
        behavior = (DecimateCropBehavior.parse(image.requested_decimate_crop_behavior,
                                               "Requested Decimate/Crop Behavior")
                    if image.requested_decimate_crop_behavior else None)
    except VocabularyError as exc:
        raise LayoutError(f"image box {pos}: {exc}", image_box_position=pos) from exc
    smoothing = (image.smoothing_type or defaults.smoothing).strip().upper()
    pixels = _check_pixels(image)
    density, warnings = effective_range(
        film.min_density if image.min_density is None else image.min_density,
        film.max_density if image.max_density is None else image.max_density,
        printer, defaults.illumination, defaults.reflected_ambient_light, pos)
    area = box.image_area.inset(2 * trim_px, 2 * trim_px, 2 * trim_px, 2 * trim_px)
    placement = plan_placement(
        pixels.shape[0], pixels.shape[1], area, dpi, image_box_position=pos,
        magnification_type=magnification, smoothing_type=smoothing,
        requested_image_size=image.requested_image_size, decimate_crop=behavior,
        pixel_aspect_ratio=tuple(image.pixel_aspect_ratio))
    if placement.warning is not None:
        warnings.append(placement.warning)
    plut = image.presentation_lut or film.presentation_lut
    target = raster[placement.target.slices]
    window = placement.source
    if (window.height, window.width) == (placement.target.height, placement.target.width):
        lut = milli_od_lut(image.bits_stored, image.photometric_interpretation, image.polarity,
                           plut, density, pixels.dtype, image_box_position=pos)
        source = pixels[window.slices]
        for r0 in range(0, window.height, STRIP_ROWS):
            r1 = min(r0 + STRIP_ROWS, window.height)
            np.take(lut, source[r0:r1], out=target[r0:r1], mode="clip")
    else:
        top = (1 << image.bits_stored) - 1
        source = pixels[window.slices]
        if top < np.iinfo(pixels.dtype).max:
            source = source & np.asarray(top, dtype=pixels.dtype)
        lut = milli_od_lut(image.bits_stored, image.photometric_interpretation, image.polarity,
                           plut, density, pixels.dtype, clamp=True, image_box_position=pos)
        resampled = resample(source, placement.target.height, placement.target.width, magnification,
                             smoothing)
        np.take(lut, resampled, out=target, mode="clip")
    return placement, warnings


def _draw_frame(raster: np.ndarray, target: Rect, width: int, value: int) -> None:
    """Trim (2010,0140): a frame ``width`` pixels wide, one frame width away from the image."""
    outer = Rect(target.x - 2 * width, target.y - 2 * width, target.width + 4 * width,
                 target.height + 4 * width)
    rows, cols = raster.shape
    x0, y0 = max(outer.x, 0), max(outer.y, 0)
    x1, y1 = min(outer.right, cols), min(outer.bottom, rows)
    raster[y0:y0 + width, x0:x1] = value
    raster[y1 - width:y1, x0:x1] = value
    raster[y0:y1, x0:x0 + width] = value
    raster[y0:y1, x1 - width:x1] = value


def _draw_annotations(raster: np.ndarray, layout: FilmLayout, film: FilmSpec, border_od: float,
                      film_range: DensityRange, warnings: list[RenderWarning]) -> None:
    unknown = sorted(set(film.annotations) - set(layout.annotation_boxes))
    if unknown:
        warnings.append(RenderWarning(Status.ATTRIBUTE_VALUE_OUT_OF_RANGE,
                                      f"Annotation Position(s) {unknown} not in the Annotation "
                                      "Display Format; text not printed"))
    if not layout.annotation_boxes:
        return
    font = load_font(layout.font_px)
    background = to_milli_od(border_od)
    foreground = to_milli_od(text_density(border_od, film_range.min_density,
                                          film_range.max_density))
    align = "left" if layout.label_line is not None else "center"
    for position, rect in layout.annotation_boxes.items():
        text = str(film.annotations.get(position, ""))
        draw_text(raster, rect, text, font, background, foreground, align)
