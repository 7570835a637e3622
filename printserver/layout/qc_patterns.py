"""The display QC test patterns by name: which exist, at which sizes and bit depths.

:func:`render_pattern` is what ``printserver qc pattern`` and the web QC pages call::

    image = render_pattern("TG18-LN12-07", size=1024)      # 12 bits: level 1440 of 4080
    image.pixels, image.window                              # stored values; (2040, 4080)

Patterns exist only at the sizes TG18 and TG270 publish (1024 × 1024 and 2048 × 2048) and are shown
at one image pixel per device pixel; nothing here rescales a pattern to a display's size (a method
that scales a pattern's components to the client's display is patented, US 9,411,549 /
CA 2,894,973).

Bit depths: the TG18-LN8 / TG270-ULN8 series are 8-bit and the LN12 / ULN12 series 12-bit (white is
DDL 4080 = 255·16, shown with window 4080 / level 2040 as TG18 asks); every other pattern is made in
8 bits (default) or 12 bits (white 4095, window 4096 / 2048; TG18 OR-03 disclaimer).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import numpy as np

from printserver.errors import ParameterError
from printserver.layout import step_wedge, tg18, tg270
from printserver.layout.qc_draw import (FULL_SCALE_8, FULL_SCALE_12, FULL_SCALE_LN12, PUBLISHED_SIZES,
                                        quantize)


@dataclass(frozen=True)
class QCPattern:
    """A named pattern: how to draw it and in which bit depths it exists."""

    name: str
    description: str
    draw: Callable[[int, int], np.ndarray]  # (size, bits) → canvas of fractions
    bits: tuple[int, ...] = (8, 12)
    #: full scale of the 12-bit version: 4095, or 4080 for the LN / ULN level sets
    full_scale_12: int = FULL_SCALE_12

    def full_scale(self, bits: int) -> int:
        return FULL_SCALE_8 if bits == 8 else self.full_scale_12


@dataclass(frozen=True, eq=False)
class PatternImage:
    """A rendered pattern.

    Attributes
    ----------
    name : str
    pixels : numpy.ndarray
        Stored values, MONOCHROME2 (0 = black): uint8 for 8 bits, uint16 holding 12 bits.
    bits : int
        8 or 12.
    full_scale : int
        The value of white: 255, 4095, or 4080 for the LN / ULN 12-bit level sets.
    description : str
    """

    name: str
    pixels: np.ndarray
    bits: int
    full_scale: int
    description: str

    @property
    def size(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def window(self) -> tuple[float, float]:
        """``(center, width)`` that shows 0 … full scale linearly: TG18's WL/WW 128/256 (8-bit),
        2048/4096 (12-bit) and 2040/4080 (LN, PQC, AFC in 12 bits)."""
        width = self.full_scale + 1 if self.full_scale != FULL_SCALE_LN12 else FULL_SCALE_LN12
        return width / 2, float(width)


def _at(draw: Callable[..., np.ndarray], **kwargs: object) -> Callable[[int, int], np.ndarray]:
    """A drawing function of ``(size, bits)`` from one of ``size`` and fixed keyword arguments."""
    return lambda size, bits: draw(size, **kwargs)


def _registry() -> dict[str, QCPattern]:
    patterns = [
        QCPattern("TG18-QC", "overall quality: gray patches, ramps, line pairs, low-contrast letters",
                  _at(tg18.tg18_qc)),
        QCPattern("TG18-CT", "luminance response, visual: 16 zones with half-moon targets",
                  _at(tg18.tg18_ct)),
        QCPattern("TG18-MP", "bit depth: ramps with 8-bit markers (and 10-bit markers in 12 bits)",
                  lambda size, bits: tg18.tg18_mp(size, markers_10bit=bits > 8)),
        QCPattern("TG18-AD", "ambient light: low-contrast targets near black", _at(tg18.tg18_ad)),
        QCPattern("TG270-sQC", "quick visual check: 18 modulated squares, large squares, gradient",
                  _at(tg270.tg270_sqc)),
        QCPattern(step_wedge.NAME, "printer calibration: 18 steps in equal P-value steps, for a "
                                   "densitometer", step_wedge.step_wedge_canvas),
    ]
    for percent in (10, 80):
        for name, lines, what in ((f"TG18-UN{percent}", False, ""),
                                  (f"TG18-UNL{percent}", True, " with the 5 areas marked")):
            patterns.append(QCPattern(name, f"uniformity: field at {percent} %{what}",
                                      _at(tg18.tg18_un, percent=percent, name=name, lines=lines)))
    for percent in (10, 50, 89):
        for letter, vertical in (("H", False), ("V", True)):
            name = f"TG18-LP{letter}{percent}"
            patterns.append(QCPattern(name, f"resolution: 1-pixel line pairs at {percent} %, +12 %",
                                      _at(tg18.tg18_lp, percent=percent, name=name, vertical=vertical)))
    for series, bits, draw in (("TG18-LN8", 8, tg18.tg18_ln), ("TG18-LN12", 12, tg18.tg18_ln),
                               ("TG270-ULN8", 8, tg270.tg270_uln), ("TG270-ULN12", 12, tg270.tg270_uln)):
        what = "luminance response" if series.startswith("TG18") else "uniformity and luminance"
        for index in range(1, 19):
            name = f"{series}-{index:02d}"
            ddl = 15 * (index - 1) * (1 if bits == 8 else 16)
            patterns.append(QCPattern(name, f"{what}: level {index} of 18, DDL {ddl}",
                                      _at(draw, index=index, name=name), bits=(bits,),
                                      full_scale_12=FULL_SCALE_LN12))
    return {p.name: p for p in patterns}


#: every pattern by name, in listing order
QC_PATTERNS: dict[str, QCPattern] = _registry()


def qc_pattern(name: str) -> QCPattern:
    """The pattern called ``name`` (case-insensitive); ParameterError naming ``name`` otherwise."""
    pattern = QC_PATTERNS.get(str(name).strip().upper().replace("SQC", "sQC"))
    if pattern is None:
        raise ParameterError("name", f"unknown QC pattern {name!r}; `printserver qc patterns` lists them")
    return pattern


def render_pattern(name: str, size: int = 1024, bits: int | None = None) -> PatternImage:
    """Render the pattern ``name`` at a published size.

    Parameters
    ----------
    name : str
        A name of :data:`QC_PATTERNS` (e.g. ``"TG18-QC"``, ``"TG18-LN8-01"``), case-insensitive.
    size : int
        1024 or 2048: the sizes TG18 publishes; no other size is made (module docstring).
    bits : int, optional
        8 or 12; default the pattern's first (8, or 12 for the LN12 / ULN12 series).

    Raises
    ------
    ParameterError
        Naming ``name``, ``size`` or ``bits``.
    """
    pattern = qc_pattern(name)
    if size not in PUBLISHED_SIZES:
        raise ParameterError("size", f"QC patterns exist at {' and '.join(f'{s}x{s}' for s in PUBLISHED_SIZES)} "
                                     f"only (they are shown 1:1, never rescaled); got {size}")
    bits = pattern.bits[0] if bits is None else bits
    if bits not in pattern.bits:
        raise ParameterError("bits", f"{pattern.name} exists in {' or '.join(map(str, pattern.bits))} "
                                     f"bits; got {bits}")
    canvas = pattern.draw(size, bits)
    full = pattern.full_scale(bits)
    return PatternImage(pattern.name, quantize(canvas, full), bits, full, pattern.description)
