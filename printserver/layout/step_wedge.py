"""A step wedge for film and paper printer calibration: 18 steps in equal P-value steps.

Like AAPM TG18-PQC (18 bars covering the whole range), but as large uniform fields: a densitometer
needs an area of several millimetres, and a film box magnifies the 1024 × 1024 pattern to the
film. Step ``i`` (1 … 18) is the P-value ``round((2^N − 1)·(i − 1)/17)`` (PS3.14 Annex D.2.1:
test-pattern steps ``DDL_i = (2^N − 1)·i/(n − 1)``): 0, 15, …, 255 in 8 bits; 0, 241, …, 4095 in
12 bits. Step 1 is the darkest (P-value 0 prints Max Density), step 18 the lightest.

Geometry (pixels of the 1024 pattern, doubled at 2048): a title band of :data:`TITLE_BAND`
pixels at the top, then 6 rows × 3 columns of steps filling the rest, row by row from the
top-left (about 341 × 155 pixels each: on a 14 × 17 inch film about 118 × 53 mm, on A4 paper
about 70 × 32 mm). Each step carries its number and P-value in its top-left corner; the measurement
area is the step's centre (:func:`measurement_area`), away from the label and the edges.

:func:`step_wedge_canvas` draws it as fractions of full scale (for :mod:`printserver.layout.qc_patterns`,
``printserver qc pattern STEP-WEDGE``); :func:`step_wedge` as stored values (for
``printserver print --pattern STEP-WEDGE`` through :data:`printserver.layout.patterns.PATTERNS`).
"""

from __future__ import annotations

import numpy as np

from printserver.layout.qc_draw import contrasting, label, new_canvas, quantize, rect, text

#: number of steps (TG18-PQC's 18; at least 17 for a calibration)
STEP_COUNT = 18
#: columns and rows of the step grid
COLUMNS, ROWS = 3, 6
#: height of the title band at 1024 pixels
TITLE_BAND = 96
#: the pattern's name in the pattern tables
NAME = "STEP-WEDGE"
#: side of the pattern as ``printserver print`` sends it (any size ≥ this works)
MIN_SIZE = 512


def step_pvalues(bits: int) -> np.ndarray:
    """The P-value of each step (1 … 18 → index 0 … 17) in ``bits``-bit P-values (PS3.14 D.2.1)."""
    top = (1 << int(bits)) - 1
    return np.rint(top * np.arange(STEP_COUNT) / (STEP_COUNT - 1)).astype(np.int64)


def step_cells(size: int) -> list[tuple[int, int, int, int]]:
    """``(x0, y0, x1, y1)`` of every step (half-open pixel rectangles), step 1 first."""
    k = size / 1024
    top = round(TITLE_BAND * k)
    xs = [round(c * size / COLUMNS) for c in range(COLUMNS + 1)]
    ys = [top + round(r * (size - top) / ROWS) for r in range(ROWS + 1)]
    return [(xs[c], ys[r], xs[c + 1], ys[r + 1]) for r in range(ROWS) for c in range(COLUMNS)]


def measurement_area(size: int, step: int) -> tuple[int, int, int, int]:
    """``(x0, y0, x1, y1)``: the middle half (in each direction) of step ``step`` (1 … 18)."""
    x0, y0, x1, y1 = step_cells(size)[step - 1]
    w, h = x1 - x0, y1 - y0
    return x0 + w // 4, y0 + h // 4, x1 - w // 4, y1 - h // 4


def step_wedge_canvas(size: int = 1024, bits: int = 8) -> np.ndarray:
    """The step wedge as fractions of full scale (module docstring); labels name ``bits``-bit
    P-values."""
    if size < MIN_SIZE:
        raise ValueError(f"step wedge size must be at least {MIN_SIZE} pixels, got {size}")
    k = size / 1024
    img = new_canvas(size, 0.5)
    pvalues = step_pvalues(bits)
    em = max(10, round(20 * k))
    for index, (x0, y0, x1, y1) in enumerate(step_cells(size)):
        level = index / (STEP_COUNT - 1)
        rect(img, x0, y0, x1, y1, level)
        text(img, f"{index + 1}  P {pvalues[index]}", (x0 + round(10 * k), y0 + round(8 * k)), em,
             contrasting(level, 0.3), anchor="lt")
    band = round(TITLE_BAND * k)
    label(img, f"{NAME} {STEP_COUNT} steps, equal {bits}-bit P-value steps - printserver",
          band * 0.35, max(10, round(22 * k)))
    label(img, "darkest: step 1 (P-value 0); measure the centre of each step",
          band * 0.75, max(8, round(16 * k)))
    return img


def step_wedge(size: int = 1024, bits_stored: int = 12) -> np.ndarray:
    """The step wedge as MONOCHROME2 stored values of ``bits_stored`` bits (8 or 12): with a
    Presentation LUT of IDENTITY (or none) they are the P-values of :func:`step_pvalues`."""
    if bits_stored not in (8, 12):
        raise ValueError(f"the step wedge is made in 8 or 12 bits, got {bits_stored}")
    return quantize(step_wedge_canvas(size, bits_stored), (1 << bits_stored) - 1)
