"""Test patterns for film QC, generated in code: a TG18-QC-like pattern (AAPM TG18, 2005, §4.1).

:func:`tg18_qc_like` draws, on a square image of stored values (MONOCHROME2, value 0 = black):

* a mid-grey background with a grid of thin lines every tenth of the image (geometry, uniformity);
* sixteen grey patches from 0 to 100 % in equal steps, in two rows of eight in the middle,
  labelled with their percentage (the film's grey scale; compare densities with a densitometer);
* a black square with a 5 % square inside it and a white square with a 95 % square inside it
  (the ends of the grey scale must stay distinguishable);
* a continuous horizontal ramp along the bottom and a vertical ramp along the left edge
  (no banding or steps);
* line-pair patches near the top corners and in the centre: horizontal (upper row) and vertical
  (lower row) bars of 1, 2 and 3 pixels (resolution and magnification artefacts);
* the text ``TOP`` at the top and ``L`` on the left (orientation), a title, and low-contrast text
  (contrast steps of 1 %, 2 % and 4 %).

Like TG18-QC it is meant to be printed and looked at; unlike TG18-QC it is not a pixel-exact copy of
the published pattern.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw

from printserver.layout import step_wedge
from printserver.layout.annotations import load_font


#: smallest pattern :func:`tg18_qc_like` draws (TG18-QC itself is 1024 x 1024)
MIN_PATTERN_SIZE = 512


def tg18_qc_like(size: int = 1024, bits_stored: int = 12, title: str = "printserver TG18-QC-like"
                 ) -> np.ndarray:
    """A TG18-QC-like test pattern, ``size`` × ``size`` stored values of ``bits_stored`` bits.

    Returns
    -------
    numpy.ndarray
        ``uint16`` (``uint8`` for 8 bits or fewer), MONOCHROME2.
    """
    if size < MIN_PATTERN_SIZE:
        # below this the fixed-size line-pair cells no longer fit beside the gray patches
        raise ValueError(f"pattern size must be at least {MIN_PATTERN_SIZE} pixels, got {size}")
    top = (1 << bits_stored) - 1
    s = size
    img = np.full((s, s), round(0.5 * top), dtype=np.float64)

    def level(fraction: float) -> int:
        return int(round(fraction * top))

    def box(x0: float, y0: float, x1: float, y1: float, value: float) -> None:
        img[int(y0 * s):int(y1 * s), int(x0 * s):int(x1 * s)] = value

    # grid lines every tenth
    line = max(1, s // 512)
    for i in range(1, 10):
        p = int(i * s / 10)
        img[p:p + line, :] = level(0.75)
        img[:, p:p + line] = level(0.75)

    # border frame
    f = max(2, s // 256)
    img[:f, :] = img[-f:, :] = img[:, :f] = img[:, -f:] = level(1.0)

    # sixteen patches, two rows of eight, 0 … 100 %
    for i in range(16):
        row, col = divmod(i, 8)
        x0 = 0.14 + col * 0.09
        y0 = 0.40 + row * 0.11
        box(x0, y0, x0 + 0.08, y0 + 0.08, level(i / 15))

    # 0 % with 5 % inside, 100 % with 95 % inside
    box(0.30, 0.66, 0.45, 0.81, level(0.0))
    box(0.35, 0.71, 0.40, 0.76, level(0.05))
    box(0.55, 0.66, 0.70, 0.81, level(1.0))
    box(0.60, 0.71, 0.65, 0.76, level(0.95))

    # ramps: horizontal along the bottom, vertical along the left
    x0, x1 = int(0.12 * s), int(0.88 * s)
    img[int(0.86 * s):int(0.92 * s), x0:x1] = np.linspace(0, top, x1 - x0)[None, :]
    y0, y1 = int(0.12 * s), int(0.88 * s)
    img[y0:y1, int(0.03 * s):int(0.07 * s)] = np.linspace(top, 0, y1 - y0)[:, None]

    # line pairs near the corners and in the centre
    for cx, cy in ((0.14, 0.13), (0.47, 0.18), (0.74, 0.13)):
        _line_pairs(img, int(cx * s), int(cy * s), max(24, s // 24), top)

    img = np.clip(np.rint(img), 0, top)
    _text(img, s, title, top)
    dtype = np.uint8 if bits_stored <= 8 else np.uint16
    return img.astype(dtype)


def _line_pairs(img: np.ndarray, x: int, y: int, cell: int, top: int) -> None:
    """Three pairs of square cells: horizontal and vertical bars of 1, 2 and 3 pixels."""
    for i, width in enumerate((1, 2, 3)):
        xs = x + i * (cell + cell // 4)
        bars = (np.arange(cell) // width) % 2 == 0
        img[y:y + cell, xs:xs + cell] = np.where(bars[:, None], top, 0)
        img[y + cell + 2:y + 2 * cell + 2, xs:xs + cell] = np.where(bars[None, :], top, 0)


def _text(img: np.ndarray, s: int, title: str, top: int) -> None:
    """Burn the title, orientation marks, patch labels and low-contrast text into ``img``."""
    mask = Image.new("L", (s, s), 0)
    draw = ImageDraw.Draw(mask)
    big, small = load_font(max(10, s // 28)), load_font(max(8, s // 48))
    draw.text((s / 2, 0.035 * s), "TOP", fill=255, font=big, anchor="mm")
    draw.text((0.10 * s, 0.50 * s), "L", fill=255, font=big, anchor="mm")
    draw.text((s / 2, 0.33 * s), title, fill=255, font=big, anchor="mm")
    for i in range(16):
        row, col = divmod(i, 8)
        draw.text(((0.14 + col * 0.09 + 0.04) * s, (0.40 + row * 0.11 + 0.085) * s),
                  f"{round(100 * i / 15)}%", fill=255, font=small, anchor="mt")
    draw.text((0.375 * s, 0.83 * s), "0 / 5%", fill=255, font=small, anchor="mt")
    draw.text((0.625 * s, 0.83 * s), "100 / 95%", fill=255, font=small, anchor="mt")
    bright = np.asarray(mask) > 127
    img[bright & (img < 0.5 * top)] = top
    img[bright & (img >= 0.5 * top)] = 0
    # low-contrast text on the background: +1 %, +2 %, +4 %
    for i, step in enumerate((0.01, 0.02, 0.04)):
        low = Image.new("L", (s, s), 0)
        ImageDraw.Draw(low).text(((0.30 + 0.20 * i) * s, 0.95 * s), f"QC {round(step * 100)}%",
                                 fill=255, font=small, anchor="mm")
        sel = np.asarray(low) > 127
        img[sel] = np.minimum(img[sel] + round(step * top), top)


#: Test patterns by name (upper case), for ``printserver print --pattern NAME``: each generator takes
#: ``size`` and ``bits_stored`` and returns MONOCHROME2 stored values. STEP-WEDGE is the printer
#: calibration wedge (:mod:`printserver.layout.step_wedge`).
PATTERNS: dict[str, Callable[..., np.ndarray]] = {
    "TG18-QC": tg18_qc_like,
    step_wedge.NAME: step_wedge.step_wedge,
}
