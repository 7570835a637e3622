"""Placing an image in its box: scale, decimate or crop, centre, resample.

The rules (PS3.3 C.13.3 and C.13.5, PS3.4 H.4.3.1):

* **Size.** With Magnification Type NONE one film pixel per image pixel. With a Requested Image Size
  (2020,0030) the image is printed that many mm wide. Otherwise it fills its box as far as its
  aspect ratio allows (the "optimal filling" Requested Image Size overrides). Pixel Aspect Ratio
  (0028,0034) (vertical\\horizontal) stretches rows accordingly (not with NONE, which has no
  interpolation). REPLICATE, when it fills a box, magnifies by the largest whole factor that fits,
  so every image pixel becomes an equal block of film pixels.
* **Too large.** An image is larger than its box when it must be shrunk to fit (or, at the size
  NONE or Requested Image Size prescribe, does not fit). Then Requested Decimate/Crop Behavior
  (2020,0040) decides: DECIMATE shrinks it with the Magnification Type (warning B60A; with NONE
  the standard requires failure, C603); CROP keeps the size and drops rows and columns evenly
  around the centre (B609); FAIL refuses it (C603). Not requested: shrink (B604 "demagnified"),
  or with NONE crop (B609).
* **Position.** Centred in the box, rounded to whole pixels.
* **Resampling.** REPLICATE copies pixels (nearest neighbour), BILINEAR interpolates linearly,
  CUBIC cubically with the Smoothing Type (2010,0080): ``SHARP`` = Lanczos-3, ``MEDIUM`` (the
  default) = Keys cubic convolution (a = −0.5), ``SMOOTH`` = cubic B-spline approximation (no
  overshoot, visibly softer). Shrinking is area-aware (antialiased) for BILINEAR and CUBIC.
  Resampling works on the stored pixel values, before the density LUT, as a film printer does.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from printserver.layout.geometry import MM_PER_INCH, Rect
from printserver.layout.status import LayoutError, RenderWarning
from printserver.vocabulary import DecimateCropBehavior, MagnificationType, Status

log = logging.getLogger(__name__)

_PILLOW_FILTERS = {
    MagnificationType.REPLICATE: Image.Resampling.NEAREST,
    MagnificationType.BILINEAR: Image.Resampling.BILINEAR,
}
_CUBIC_FILTERS = {"SHARP": Image.Resampling.LANCZOS, "MEDIUM": Image.Resampling.BICUBIC}


@dataclass(frozen=True)
class Placement:
    """Where and how one image lands on the film."""

    image_box_position: int
    #: the film pixels the image covers
    target: Rect
    #: the part of the image that is printed, in image pixels (all of it unless cropped)
    source: Rect
    magnification_type: MagnificationType
    smoothing_type: str
    #: film pixels per image pixel, horizontally and vertically
    scale_x: float
    scale_y: float
    #: B604 / B609 / B60A when the image had to be shrunk or cropped
    warning: RenderWarning | None = None


def plan_placement(rows: int, columns: int, area: Rect, dpi: float, *, image_box_position: int,
                   magnification_type: MagnificationType, smoothing_type: str = "MEDIUM",
                   requested_image_size: float | None = None,
                   decimate_crop: DecimateCropBehavior | None = None,
                   pixel_aspect_ratio: tuple[int, int] = (1, 1)) -> Placement:
    """Decide the size, crop and position of a ``rows`` × ``columns`` image in ``area``.

    Parameters
    ----------
    rows, columns
        The image's Rows (0028,0010) and Columns (0028,0011).
    area
        The film pixels available to the image (its box minus caption line and trim frame).
    dpi
        Film resolution, for Requested Image Size.
    requested_image_size
        Requested Image Size (2020,0030), width in mm; ``None`` = fill the box.
    decimate_crop
        Requested Decimate/Crop Behavior (2020,0040); ``None`` = not requested.
    pixel_aspect_ratio
        Pixel Aspect Ratio (0028,0034) as (vertical, horizontal).

    Returns
    -------
    Placement

    Raises
    ------
    LayoutError
        Status C603 when the image is larger than its box and FAIL was requested (or DECIMATE with
        Magnification Type NONE); 0106 for an impossible request (non-positive size or ratio).
    """
    pos = image_box_position
    if rows < 1 or columns < 1:
        raise LayoutError(f"image box {pos}: image has no pixels ({rows} x {columns})",
                          image_box_position=pos)
    if area.width < 1 or area.height < 1:
        raise LayoutError(f"image box {pos}: no room for an image at this resolution",
                          Status.IMAGE_TOO_LARGE, pos)
    vertical, horizontal = pixel_aspect_ratio
    if vertical <= 0 or horizontal <= 0:
        raise LayoutError(f"image box {pos}: Pixel Aspect Ratio {vertical}\\{horizontal} must be "
                          "positive", image_box_position=pos)
    aspect = vertical / horizontal
    mag = magnification_type
    fill_x = area.width / columns
    fill_y = area.height / (rows * aspect)
    fill = min(fill_x, fill_y)  # film pixels per image column that fills the box

    if mag is MagnificationType.NONE:
        sx = sy = 1.0
        too_large = columns > area.width or rows > area.height
    elif requested_image_size is not None:
        if requested_image_size <= 0:
            raise LayoutError(f"image box {pos}: Requested Image Size {requested_image_size} mm "
                              "must be positive", image_box_position=pos)
        sx = requested_image_size / MM_PER_INCH * dpi / columns
        sy = sx * aspect
        too_large = (round(columns * sx) > area.width or round(rows * sy) > area.height)
    else:
        sx, sy = fill, fill * aspect
        too_large = fill < 1.0 - 1e-9
        if mag is MagnificationType.REPLICATE and not too_large:
            sx, sy = _whole_factors(fill_x, fill_y, aspect)

    warning = None
    crop = False
    if too_large:
        behavior = decimate_crop
        if behavior is DecimateCropBehavior.FAIL:
            raise LayoutError(f"image box {pos}: image {columns} x {rows} pixels is larger than its "
                              f"box ({area.width} x {area.height} film pixels) and Requested "
                              "Decimate/Crop Behavior is FAIL", Status.IMAGE_TOO_LARGE, pos)
        if behavior is DecimateCropBehavior.DECIMATE and mag is MagnificationType.NONE:
            raise LayoutError(f"image box {pos}: image {columns} x {rows} pixels is larger than its "
                              f"box ({area.width} x {area.height} film pixels); DECIMATE needs a "
                              "Magnification Type other than NONE", Status.IMAGE_TOO_LARGE, pos)
        if behavior is DecimateCropBehavior.CROP or (behavior is None and
                                                      mag is MagnificationType.NONE):
            crop = True
            if requested_image_size is None and mag is not MagnificationType.NONE:
                sx, sy = 1.0, aspect  # crop at one film pixel per image column
            warning = RenderWarning(Status.IMAGE_CROPPED, "image larger than its box, cropped",
                                    pos)
        else:
            sx, sy = fill, fill * aspect
            if behavior is DecimateCropBehavior.DECIMATE:
                warning = RenderWarning(Status.IMAGE_DECIMATED,
                                        "image larger than its box, decimated", pos)
            else:
                warning = RenderWarning(Status.IMAGE_DEMAGNIFIED,
                                        "image larger than its box, demagnified", pos)

    if crop:
        keep_cols = min(columns, max(1, int(area.width / sx)))
        keep_rows = min(rows, max(1, int(area.height / sy)))
    else:
        keep_cols, keep_rows = columns, rows
    source = Rect((columns - keep_cols) // 2, (rows - keep_rows) // 2, keep_cols, keep_rows)
    width = min(area.width, max(1, int(round(keep_cols * sx))))
    height = min(area.height, max(1, int(round(keep_rows * sy))))
    target = Rect(area.x + (area.width - width) // 2, area.y + (area.height - height) // 2,
                  width, height)
    return Placement(pos, target, source, mag, smoothing_type, sx, sy, warning)


def _whole_factors(fill_x: float, fill_y: float, aspect: float) -> tuple[float, float]:
    """Largest whole replication factors (kx, ky ≈ kx·aspect) that fit the box."""
    kx = max(1, math.floor(min(fill_x, fill_y) + 1e-9))
    while kx > 1:
        ky = max(1, round(kx * aspect))
        if kx <= fill_x + 1e-9 and ky <= fill_y * aspect + 1e-9:
            return float(kx), float(ky)
        kx -= 1
    return 1.0, float(max(1, round(aspect)))


def resample(src: np.ndarray, height: int, width: int, magnification_type: MagnificationType,
             smoothing_type: str = "MEDIUM") -> np.ndarray:
    """Stored values ``src`` resampled to ``height`` × ``width`` film pixels.

    ``src`` is ``uint8`` or ``uint16``; the result has the same dtype. Cubic filters may overshoot
    the stored range (the density LUT saturates it). Returns ``src`` itself when the size already
    matches.
    """
    if src.shape == (height, width):
        return src
    mag = magnification_type
    if mag is MagnificationType.REPLICATE:
        ky, kx = height / src.shape[0], width / src.shape[1]
        if ky == int(ky) and kx == int(kx):
            return np.repeat(np.repeat(src, int(ky), axis=0), int(kx), axis=1)
    if mag is MagnificationType.CUBIC and smoothing_type == "SMOOTH":
        return _bspline_zoom(src, height, width)
    if mag is MagnificationType.CUBIC:
        flt = _CUBIC_FILTERS.get(smoothing_type, Image.Resampling.BICUBIC)
    else:
        flt = _PILLOW_FILTERS.get(mag, Image.Resampling.NEAREST)
    image = Image.fromarray(np.ascontiguousarray(src))
    return np.asarray(image.resize((width, height), flt))


def _bspline_zoom(src: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """Cubic B-spline approximation (no prefilter): smooth, without overshoot."""
    from scipy import ndimage  # imported here: only SMOOTH needs it

    zoom = (out_h / src.shape[0], out_w / src.shape[1])
    out = ndimage.zoom(src.astype(np.float32), zoom, order=3, prefilter=False, mode="nearest",
                       grid_mode=True)
    out = out[:out_h, :out_w]
    top = np.iinfo(src.dtype).max
    return np.clip(np.rint(out), 0, top).astype(src.dtype)
