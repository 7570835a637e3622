"""Synthetic AAPM Report 270 display test patterns (TG270-sQC, TG270-ULN), drawn in code.

Report 270's pattern files were not reachable; these follow pacsDisplay's published descriptions of
its TG270 patterns (pacsdisplay.org tg270sqc.html; reference ``display-qc.md`` §6 and §9) as far as
they go; what is our choice is said per pattern and in ``docs/qc.md``. TG270-pQC is not generated
(its modulation and line-pair geometry is described too loosely to follow).
"""

from __future__ import annotations

import numpy as np

from printserver.layout.qc_draw import bars, contrasting, gl, label, new_canvas, outline, rect
from printserver.layout.tg18 import LN_LEVELS, uniformity_points


def _k(size: int) -> int:
    return size // 1024


def _label(img: np.ndarray, name: str, y: float, em: int) -> None:
    label(img, f"{name} synthetic after AAPM Report 270 - printserver", y, em)


def tg270_sqc(size: int, name: str = "TG270-sQC") -> np.ndarray:
    """TG270-sQC: a quick visual check (pacsDisplay's description).

    * 18 squares (3 rows × 6 columns) at gray levels 0, 15, …, 255 (8-bit), each with two
      sub-squares of vertical bars with a 6-pixel period: upper-left bars 5 gray levels darker,
      lower-right bars 5 levels brighter than the square; 3 levels in the 0 and 255 squares, whose
      bars that would leave the scale go the other way (our reading of "±3 contrast");
    * three large squares (256 × 256 at 1024) at 0, 128 and 255 for luminance readings and pixel
      faults;
    * a continuous 0 → 255 gradient across the bottom.

    Background 25 % (so that the 128 square shows) and spacing are our choice; the "line patterns on the right side" of the
    gradient are not drawn.
    """
    k = _k(size)
    img = new_canvas(size, 0.25)
    square, pitch = 150 * k, 160 * k
    x_origin = (size - 6 * pitch) // 2 + (pitch - square) // 2
    y_origin = 48 * k
    sub, inset = 60 * k, 10 * k
    for i, level in enumerate(LN_LEVELS):
        row, col = divmod(i, 6)
        x0, y0 = x_origin + col * pitch, y_origin + row * pitch
        rect(img, x0, y0, x0 + square, y0 + square, level)
        c = 3 if i in (0, 17) else 5
        dark, bright = level - gl(c), level + gl(c)
        if dark < 0:
            dark = bright
        if bright > 1:
            bright = dark
        for (sx, sy), value in (((x0 + inset, y0 + inset), dark),
                                ((x0 + square - inset - sub, y0 + square - inset - sub), bright)):
            img[sy:sy + sub, sx:sx + sub] = bars(sub, sub, 6 * k, level, value, vertical=True)
    big = 256 * k
    gap = (size - 3 * big) // 4
    by = y_origin + 3 * pitch + 16 * k
    for j, level in enumerate((0.0, gl(128), 1.0)):
        bx = gap + j * (big + gap)
        rect(img, bx, by, bx + big, by + big, level)
    gy0, gy1 = by + big + 24 * k, size - 48 * k
    img[gy0:gy1, 32 * k:size - 32 * k] = np.linspace(0.0, 1.0, size - 64 * k)[None, :]
    _label(img, name, size - 24 * k, 12 * k)
    return img


def tg270_uln(size: int, index: int, name: str) -> np.ndarray:
    """TG270-ULN8-``index`` / ULN12-``index`` (index 1 … 18): uniformity and luminance response.

    The whole image at level ``15·(index − 1)`` of 255 (``240·(index − 1)`` of 4080 in 12 bits)
    with 9 measurement areas (a 3 × 3 grid, as pacsDisplay's uniLum reads them) marked by corner
    ticks 25 % brighter (dark levels) or darker (bright levels) than the field. The centre area
    serves the luminance response, all nine the uniformity at that level. Reference §6 says only
    "9 measurement regions; gray level adjustable": tick geometry, the 18-level series and the
    names are ours.
    """
    k = _k(size)
    level = LN_LEVELS[index - 1]
    img = new_canvas(size, level)
    half, tick = size // 20, 24 * k
    mark = contrasting(level)
    for cx, cy in uniformity_points(size, 9):
        x0, y0, x1, y1 = cx - half, cy - half, cx + half, cy + half
        box = img[y0:y1, x0:x1]
        saved = box.copy()
        outline(img, x0, y0, x1, y1, k, mark)
        keep = np.ones_like(saved, dtype=bool)  # keep only the corners of the outline
        keep[:tick, :tick] = keep[:tick, -tick:] = keep[-tick:, :tick] = keep[-tick:, -tick:] = False
        box[keep] = saved[keep]
    _label(img, f"{name} (level {index} of 18)", size - 24 * k, 12 * k)
    return img
