"""Drawing primitives of the display QC patterns (:mod:`printserver.layout.tg18`, ``tg270``).

A pattern is drawn on a square float canvas whose values are **fractions of the full scale**
(0 = black, 1 = white). :func:`quantize` turns it into stored values: ``round(f·255)`` in 8 bits,
``round(f·4095)`` in 12 bits (``round(f·4080)`` for the TG18-LN12 / TG270-ULN12 level sets, whose
white is DDL 4080). A value meant as "n gray levels of 8 bits" is written ``gl(n)`` = n/255, so
that the 8-bit pattern carries exactly those levels and the 12-bit one the same fractions at 12-bit
precision (ramps are continuous in either).

Geometry is given in pixels of the 1024 × 1024 pattern and multiplied by ``k = size // 1024`` (2 for
2048 × 2048), except where a test needs device pixels (line pairs stay 1 and 2 pixels wide).
Text is burned in as solid pixels of one value (anti-aliasing thresholded away), so a pattern holds
only the levels it is meant to hold.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from printserver.layout.annotations import load_font

#: the sizes TG18 and TG270 publish their patterns at; patterns exist only at these sizes (never
#: rescaled to a display: a method that scales a pattern to the display is patented, US 9,411,549)
PUBLISHED_SIZES = (1024, 2048)
#: 8-bit full scale, and the 12-bit full scales: 4095, or 4080 (= 255 · 16) for the LN level sets
FULL_SCALE_8 = 255
FULL_SCALE_12 = 4095
FULL_SCALE_LN12 = 4080


def gl(levels: float) -> float:
    """``levels`` gray levels of 8 bits as a fraction of the full scale."""
    return levels / 255.0


def new_canvas(size: int, value: float) -> np.ndarray:
    """A uniform square canvas."""
    return np.full((size, size), float(value), dtype=np.float64)


def rect(img: np.ndarray, x0: int, y0: int, x1: int, y1: int, value: float | np.ndarray) -> None:
    """Fill the half-open pixel rectangle [x0, x1) × [y0, y1)."""
    img[y0:y1, x0:x1] = value


def outline(img: np.ndarray, x0: int, y0: int, x1: int, y1: int, width: int, value: float) -> None:
    """A rectangle's outline ``width`` pixels wide, inside [x0, x1) × [y0, y1)."""
    img[y0:y0 + width, x0:x1] = value
    img[y1 - width:y1, x0:x1] = value
    img[y0:y1, x0:x0 + width] = value
    img[y0:y1, x1 - width:x1] = value


def bars(width: int, height: int, period: int, low: float, high: float, vertical: bool) -> np.ndarray:
    """Alternating bars, ``period // 2`` pixels of ``low`` then of ``high``; vertical bars vary
    along x (the lines run top to bottom), horizontal bars along y."""
    half = max(1, period // 2)
    n = width if vertical else height
    line = np.where((np.arange(n) // half) % 2 == 0, low, high)
    return np.broadcast_to(line[None, :] if vertical else line[:, None], (height, width)).copy()


def text_mask(content: str, xy: tuple[float, float], em: int, anchor: str = "mm"
              ) -> tuple[np.ndarray, int, int]:
    """``(mask, left, top)``: a boolean mask of ``content`` drawn at ``xy`` with an em height of
    ``em`` pixels (pixels covered more than half; no anti-aliasing left), and where its top-left
    corner goes. Only the text's bounding box is drawn, not a whole pattern-sized image."""
    font = load_font(em)
    x0, y0, x1, y1 = font.getbbox(content, anchor=anchor)
    left, top = int(np.floor(xy[0] + x0)), int(np.floor(xy[1] + y0))
    mask = Image.new("L", (max(1, int(np.ceil(xy[0] + x1)) - left + 1),
                           max(1, int(np.ceil(xy[1] + y1)) - top + 1)), 0)
    ImageDraw.Draw(mask).text((xy[0] - left, xy[1] - top), content, fill=255, font=font, anchor=anchor)
    return np.asarray(mask) > 127, left, top


def _region(img: np.ndarray, mask: np.ndarray, left: int, top: int) -> tuple[np.ndarray, np.ndarray]:
    """The view of ``img`` under a mask placed at (left, top), and the mask cut to the image."""
    h, w = img.shape
    x0, y0 = max(0, left), max(0, top)
    x1, y1 = min(w, left + mask.shape[1]), min(h, top + mask.shape[0])
    return img[y0:y1, x0:x1], mask[y0 - top:y1 - top, x0 - left:x1 - left]


def text(img: np.ndarray, content: str, xy: tuple[float, float], em: int, value: float,
         anchor: str = "mm") -> None:
    """Burn ``content`` into ``img`` with one value."""
    view, mask = _region(img, *text_mask(content, xy, em, anchor))
    view[mask] = value


def contrasting(background: float, step: float = 0.25) -> float:
    """A value ``step`` above a dark background or below a bright one (for labels and markers)."""
    return background + step if background < 0.5 else background - step


def label(img: np.ndarray, content: str, y: float, em: int) -> None:
    """The pattern's label, centred at height ``y``, in a value contrasting with what is under it.
    Every pattern carries one: TG18 asks synthetic patterns to say they are synthetic and not to
    copy the original label (AAPM OR-03, disclaimer)."""
    view, mask = _region(img, *text_mask(content, (img.shape[1] / 2, y), em))
    view[mask] = contrasting(float(np.median(view[mask]))) if mask.any() else 0.0


def quantize(img: np.ndarray, full_scale: int) -> np.ndarray:
    """Stored values ``round(f · full_scale)`` (uint8 for 255, else uint16), clipped to the scale."""
    values = np.clip(np.rint(img * full_scale), 0, full_scale)
    return values.astype(np.uint8 if full_scale <= 255 else np.uint16)
