"""Synthetic AAPM TG18 display test patterns (AAPM On-line Report 03, 2005), drawn in code.

Each function returns a float canvas of fractions of full scale (:mod:`printserver.layout.qc_draw`)
for a published size (1024 or 2048). What follows the published description and what is our choice
is said per pattern and in ``docs/qc.md``; the sources are ``../shared/reference/display-qc.md`` §6
(PS3.16 code definitions, the RadiCS manual, pacsDisplay) and TG18's disclaimer (a synthetic pattern
must say it is synthetic and must not copy the original label: every pattern carries the label
"<name> synthetic after AAPM TG18 - printserver").
"""

from __future__ import annotations

import math

import numpy as np

from printserver.layout.annotations import load_font
from printserver.layout.qc_draw import bars, contrasting, gl, label, new_canvas, outline, rect, text

#: the 18 LN levels as fractions: DDL 0, 15, …, 255 of 255 (0, 240, …, 4080 of 4080 in 12 bits)
LN_LEVELS = tuple(15 * i / 255 for i in range(18))
#: LN background: 20 % of the maximum, as TG18 describes the LN patterns [recalled]
LN_BACKGROUND = 0.2
#: LN measurement square: 10 % of the image area, centred [recalled; our rounding to even pixels]
LN_AREA = 0.10
#: uniformity levels of TG18-UN10 / UN80 (DDL 26 and 204 in 8 bits, RadiCS "Grayscale: 204, 26")
UN_LEVELS = {10: 0.10, 80: 0.80}
#: TG18-LPH/LPV line levels in 8 bits, (low, high): high = low + 12 % (RadiCS manual p.76)
LP_LEVELS = {10: (26, 29), 50: (128, 143), 89: (228, 255)}
#: the 16 gray patches of TG18-QC and the zones of TG18-CT: 0 … 100 % in 15 equal steps
SIXTEEN_LEVELS = tuple(i / 15 for i in range(16))
#: "QUALITY CONTROL": the letter contrasts 14 … 1 gray levels (8 bits), one letter to the next
QC_LETTERS = "QUALITYCONTROL"


def _k(size: int) -> int:
    return size // 1024


def _label(img: np.ndarray, name: str, y: float, em: int) -> None:
    label(img, f"{name} synthetic after AAPM TG18 - printserver", y, em)


def ln_square(size: int) -> tuple[int, int]:
    """``(start, end)`` pixel of the LN measurement square in x and in y: 10 % of the area, centred,
    with an even side (324 px at 1024, 648 at 2048)."""
    side = 2 * round(size * math.sqrt(LN_AREA) / 2)
    start = (size - side) // 2
    return start, start + side


def tg18_ln(size: int, index: int, name: str) -> np.ndarray:
    """TG18-LN8-``index`` / LN12-``index`` (index 1 … 18): luminance response (TG18 §4.3).

    A uniform background at 20 % of the maximum and, centred, a measurement square of 10 % of the
    image area at level ``15·(index − 1)`` of 255 (``240·(index − 1)`` of 4080 in 12 bits). The
    label, with the level, is printed below the square, outside the measurement area.
    """
    k = _k(size)
    img = new_canvas(size, LN_BACKGROUND)
    a, b = ln_square(size)
    level = LN_LEVELS[index - 1]
    rect(img, a, a, b, b, level)
    _label(img, f"{name} (level {index} of 18)", size - 40 * k, 14 * k)
    return img


def tg18_un(size: int, percent: int, name: str, lines: bool = False) -> np.ndarray:
    """TG18-UN10 / UN80 (uniform field at 10 % / 80 %) and, with ``lines``, TG18-UNL10 / UNL80.

    UNL marks the 5 measurement areas of the uniformity test (PS3.3 C.32.3.3: centre and four
    corners) by square outlines 1 pixel (2 at 2048) wide, 20 % brighter (UNL10) or darker (UNL80)
    than the field: areas of a tenth of the width, centred at the middle and at 15 % / 85 % of the
    width and height (our choice; TG18's exact positions were not available).
    """
    k = _k(size)
    level = UN_LEVELS[percent]
    img = new_canvas(size, level)
    if lines:
        for cx, cy in uniformity_points(size, 5):
            half = size // 20
            outline(img, cx - half, cy - half, cx + half, cy + half, k, contrasting(level, 0.2))
    _label(img, name, size - 24 * k, 12 * k)
    return img


def uniformity_points(size: int, count: int) -> list[tuple[int, int]]:
    """Centres ``(x, y)`` of the uniformity measurement areas, in the reading order of
    :data:`printserver.gsdf.uniformity.LOCATIONS`: 5 (centre, then the corners at 15 % / 85 %) or 9
    (a 3 × 3 grid at 1/6, 1/2 and 5/6 of the size, row by row)."""
    if count == 5:
        near, far, mid = round(0.15 * size), round(0.85 * size), size // 2
        return [(mid, mid), (near, near), (far, near), (near, far), (far, far)]
    grid = [round(size * f) for f in (1 / 6, 1 / 2, 5 / 6)]
    return [(x, y) for y in grid for x in grid]


def tg18_lp(size: int, percent: int, name: str, vertical: bool) -> np.ndarray:
    """TG18-LPH10/50/89 (horizontal lines) and TG18-LPV10/50/89 (vertical): the whole image in
    single-pixel line pairs, the bright line 12 % above the dark one (RadiCS manual p.76:
    255 : 228, 143 : 128, 29 : 26 in 8 bits). Pixel rows (LPH) or columns (LPV) with an even index
    are dark. The label sits in a small box of the dark level at the bottom."""
    k = _k(size)
    low, high = (gl(v) for v in LP_LEVELS[percent])
    img = bars(size, size, 2, low, high, vertical)
    rect(img, size // 2 - 260 * k, size - 40 * k, size // 2 + 260 * k, size - 8 * k, low)
    _label(img, name, size - 24 * k, 12 * k)
    return img


def _corner_squares(img: np.ndarray, x0: int, y0: int, side: int, small: int, level: float,
                    step: float) -> None:
    """Four ``small`` squares in the corners of a patch: + ``step`` top-left and bottom-right,
    − ``step`` top-right and bottom-left, clipped to the scale (TG18-QC / NEC's description)."""
    up, down = min(1.0, level + step), max(0.0, level - step)
    for (cx, cy), value in (((x0, y0), up), ((x0 + side - small, y0 + side - small), up),
                            ((x0 + side - small, y0), down), ((x0, y0 + side - small), down)):
        rect(img, cx, cy, cx + small, cy + small, value)


def _resolution_block(img: np.ndarray, x: int, y: int, cell: int) -> None:
    """Line pairs: a row at high contrast (0 / 100 %) and a row at low contrast (128 / 130 of 255),
    each with horizontal and vertical lines 1 and 2 pixels wide (device pixels at every size)."""
    for row, (low, high) in enumerate(((0.0, 1.0), (gl(128), gl(130)))):
        for col, (width, vertical) in enumerate(((1, False), (1, True), (2, False), (2, True))):
            x0, y0 = x + col * cell, y + row * cell
            img[y0:y0 + cell, x0:x0 + cell] = bars(cell, cell, 2 * width, low, high, vertical)


def _quality_control(img: np.ndarray, x: int, y: int, width: int, height: int, background: float,
                     em: int) -> None:
    """"QUALITY CONTROL" centred in a box, letter j at 14 − j gray levels (8-bit) from the
    background: brighter on black and gray, darker on white (gradllc's description of TG18-QC)."""
    font = load_font(em)
    words = ("QUALITY", "CONTROL")
    space = font.getlength(" ")
    total = sum(font.getlength(w) for w in words) + space
    cx, j = x + (width - total) / 2, 0
    sign = -1.0 if background >= 1.0 else 1.0
    for word in words:
        for letter in word:
            text(img, letter, (cx, y + height / 2), em, background + sign * gl(len(QC_LETTERS) - j),
                 anchor="lm")
            cx += font.getlength(letter)
            j += 1
        cx += space


def tg18_qc(size: int, name: str = "TG18-QC") -> np.ndarray:
    """TG18-QC: overall display quality (TG18 §4.1; reference §6 and the RadiCS / NEC descriptions).

    On a mid-gray background with a white grid (1/8 of the size; geometric distortion):

    * 16 gray patches, 0 … 100 % in 15 equal steps, clockwise from the top-left around the centre,
      each with four small corner squares ±4 gray levels (8-bit) from the patch;
    * in the centre, a 0 % square with a 5 % square inside and a 100 % square with 95 % inside,
      and a line-pair block; line-pair blocks also in the four corners (high contrast 0/100 % and
      low contrast 128/130, 1- and 2-pixel lines, horizontal and vertical);
    * continuous vertical ramps 0 → 100 % along the left (bright at the top) and right edges
      (bright at the bottom), and a horizontal ramp under the centre;
    * "QUALITY CONTROL" three times, on 0 %, 50 % and 100 % backgrounds, the letters 14 … 1 gray
      levels (8-bit) away from their background.

    Not reproduced: the Cx resolution elements (their glyph geometry was not available); the
    exact positions of TG18's elements (ours are documented in ``docs/qc.md``).
    """
    k = _k(size)
    img = new_canvas(size, 0.5)
    for i in range(1, 8):
        p = i * size // 8
        img[p:p + k, :] = 1.0
        img[:, p:p + k] = 1.0
    outline(img, 0, 0, size, size, 2 * k, 1.0)

    cell, patch = 123 * k, 102 * k
    origin = (size - 5 * cell) // 2
    ring = [(c, 0) for c in range(5)] + [(4, r) for r in range(1, 5)] + \
           [(c, 4) for c in range(3, -1, -1)] + [(0, r) for r in range(3, 0, -1)]
    for (col, row), level in zip(ring, SIXTEEN_LEVELS):
        x0 = origin + col * cell + (cell - patch) // 2
        y0 = origin + row * cell + (cell - patch) // 2
        rect(img, x0, y0, x0 + patch, y0 + patch, level)
        _corner_squares(img, x0, y0, patch, 10 * k, level, gl(4))

    mid_y = origin + 2 * cell + (cell - patch) // 2
    for col, (outer, inner) in ((1, (0.0, 0.05)), (3, (1.0, 0.95))):
        x0 = origin + col * cell + (cell - patch) // 2
        rect(img, x0, mid_y, x0 + patch, mid_y + patch, outer)
        q = patch // 4
        rect(img, x0 + q, mid_y + q, x0 + patch - q, mid_y + patch - q, inner)
    lp_cell = 24 * k
    _resolution_block(img, size // 2 - 2 * lp_cell, mid_y + (patch - 2 * lp_cell) // 2, lp_cell)
    margin = 31 * k
    for x in (margin, size - margin - 4 * lp_cell):
        for y in (margin, size - margin - 2 * lp_cell):
            _resolution_block(img, x, y, lp_cell)

    ramp_top, ramp_bottom = 140 * k, size - 140 * k
    ramp = np.linspace(1.0, 0.0, ramp_bottom - ramp_top)[:, None]
    img[ramp_top:ramp_bottom, 51 * k:102 * k] = ramp
    img[ramp_top:ramp_bottom, size - 102 * k:size - 51 * k] = ramp[::-1]
    hx0, hx1 = origin + cell, origin + 4 * cell
    hy = origin + 3 * cell + 20 * k
    img[hy:hy + 40 * k, hx0:hx1] = np.linspace(0.0, 1.0, hx1 - hx0)[None, :]

    box_w, box_y0, box_y1 = 230 * k, size - 150 * k, size - 80 * k
    for i, background in enumerate((0.0, 0.5, 1.0)):
        bx = size // 2 + (i - 1) * (box_w + 12 * k) - box_w // 2
        rect(img, bx, box_y0, bx + box_w, box_y1, background)
        _quality_control(img, bx, box_y0, box_w, box_y1 - box_y0, background, 20 * k)
    _label(img, name, origin + cell + 30 * k, 14 * k)
    return img


def tg18_ct(size: int, name: str = "TG18-CT") -> np.ndarray:
    """TG18-CT: luminance response, visually (TG18 §4.3; IEC 62563-1 §7.3.4).

    "16 zones with differing luminance levels upon a uniform background … verify that all squares
    and inner half-moons are visible" (reference §6): a 4 × 4 grid of zones at 0 … 100 % in 15 equal
    steps on a 50 % background; in each zone a central disc split into two half-moons 2 gray levels
    (8-bit) below (left) and above (right) the zone, and four corner squares ±2 gray levels as in
    TG18-QC. Where a half-moon would leave the scale (0 % and 100 % zones) it goes the other way at
    twice the contrast. Geometry and contrasts are our choice (not available from TG18's text).
    """
    k = _k(size)
    img = new_canvas(size, 0.5)
    zone, pitch = 180 * k, 220 * k
    origin = (size - 4 * pitch + (pitch - zone)) // 2
    yy, xx = np.mgrid[0:zone, 0:zone]
    disc = (xx - zone / 2 + 0.5) ** 2 + (yy - zone / 2 + 0.5) ** 2 <= (zone * 0.3) ** 2
    left = disc & (xx < zone // 2)
    right = disc & (xx >= zone // 2)
    for i, level in enumerate(SIXTEEN_LEVELS):
        row, col = divmod(i, 4)
        x0, y0 = origin + col * pitch, origin + row * pitch
        block = np.full((zone, zone), level)
        lo, hi = level - gl(2), level + gl(2)
        if lo < 0:
            lo, hi = level + gl(2), level + gl(4)
        if hi > 1:
            lo, hi = level - gl(4), level - gl(2)
        block[left], block[right] = lo, hi
        img[y0:y0 + zone, x0:x0 + zone] = block
        _corner_squares(img, x0, y0, zone, 14 * k, level, gl(2))
    _label(img, name, size - 24 * k, 12 * k)
    return img


def tg18_mp(size: int, name: str = "TG18-MP", markers_10bit: bool = False) -> np.ndarray:
    """TG18-MP: bit-depth resolution (IEC 62563-1 §7.3.3 "grayscale resolution … 8 and 10-bit
    markers"; reference §6: vertical ramps with contouring bands and markers).

    Eight vertical ramps side by side, each covering an eighth of the range (about 32 gray levels
    of 8 bits over 824 pixels), alternately rising and falling so that the ramp is continuous from
    column to column; on the left of each ramp a tick where the 8-bit level changes and, in the
    12-bit pattern (``markers_10bit``), a shorter one where the 10-bit level changes. On an 8-bit path the ramps
    show 32 equal bands each; on a 10-bit path with the 12-bit pattern the bands between markers
    should look continuous. Layout is our choice.
    """
    k = _k(size)
    img = new_canvas(size, 0.5)
    top, bottom = 80 * k, size - 120 * k
    height = bottom - top
    column, gap = 104 * k, 20 * k
    x_start = (size - 8 * column - 7 * gap) // 2
    t = np.linspace(0.0, 1.0, height)[:, None]
    for c in range(8):
        x0 = x_start + c * (column + gap)
        ramp = (c + (t if c % 2 == 0 else 1.0 - t)) / 8.0  # even columns rise downwards
        img[top:bottom, x0:x0 + column] = ramp
        value = 1.0 if c < 4 else 0.0
        marks = [(255, 10 * k)] + ([(1023, 5 * k)] if markers_10bit else [])
        for scale, length in marks:
            # a tick where the ramp, quantized to ``scale`` levels, changes level
            for y in top + 1 + np.nonzero(np.diff(np.rint(ramp[:, 0] * scale)))[0]:
                img[y:y + k, x0 - length:x0] = value
    _label(img, name, size - 50 * k, 14 * k)
    return img


def tg18_ad(size: int, name: str = "TG18-AD") -> np.ndarray:
    """TG18-AD: diffuse reflection of ambient light (reference §6: "low-contrast pattern viewed with
    room lights on vs off").

    A black background with a 4 × 5 grid of square targets: row r sits 0, 2, 4 or 8 gray levels
    (8-bit) above black, column c carries horizontal bars 1, 2, 3, 4 or 6 gray levels brighter than
    the target, with a 6-pixel period (pacsDisplay's ambient test uses 3 levels and 6 pixels). The
    room passes when the targets seen with the lights off are still seen with them on. Layout and
    contrasts are our choice.
    """
    k = _k(size)
    img = new_canvas(size, 0.0)
    target, pitch = 150 * k, 180 * k
    x_origin = (size - 5 * pitch + (pitch - target)) // 2
    y_origin = (size - 4 * pitch + (pitch - target)) // 2
    for row, base in enumerate((0, 2, 4, 8)):
        for col, contrast in enumerate((1, 2, 3, 4, 6)):
            x0, y0 = x_origin + col * pitch, y_origin + row * pitch
            img[y0:y0 + target, x0:x0 + target] = bars(target, target, 6 * k, gl(base),
                                                       gl(base + contrast), vertical=False)
    _label(img, name, size - 24 * k, 12 * k)
    return img

