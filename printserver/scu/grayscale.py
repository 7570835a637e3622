"""Grayscale transforms of PS3.3 C.11 that an SCU applies before printing (PS3.4 H.2.1.2).

The Basic Grayscale Image Box receives values the printer only passes through Polarity and its
Presentation LUT: the SCU must already have applied the Modality LUT and the VOI transformation
(PS3.4 H.2.1.2, "the SCU shall perform ... Modality LUT, VOI LUT"). These functions take modality
values (after Rescale Slope/Intercept) and return *normalised* print values in [0, 1], 0 meaning
the lowest output value (black for MONOCHROME2); :func:`quantize` turns them into 8- or 12-bit
stored values.

Pure functions of numpy arrays; no I/O.
"""

from __future__ import annotations

import numpy as np


def window_linear(values: np.ndarray, center: float, width: float) -> np.ndarray:
    """VOI LUT Function LINEAR (the default), PS3.3 C.11.2.1.2.1.

    ``x <= c - 0.5 - (w - 1) / 2`` → 0; ``x > c - 0.5 + (w - 1) / 2`` → 1; otherwise
    ``((x - (c - 0.5)) / (w - 1) + 0.5)``, written here for an output range of [0, 1].

    Parameters
    ----------
    values : numpy.ndarray
        Modality values.
    center, width : float
        Window Center (0028,1050) and Window Width (0028,1051); the width must be >= 1.
    """
    if width < 1:
        raise ValueError(f"Window Width must be >= 1 for LINEAR, got {width:g}")
    x = np.asarray(values, dtype=np.float64)
    if width == 1:  # a threshold at c - 0.5 (the formula's slope is infinite)
        return (x > center - 0.5).astype(np.float64)
    y = (x - (center - 0.5)) / (width - 1) + 0.5
    return np.clip(y, 0.0, 1.0)


def window_linear_exact(values: np.ndarray, center: float, width: float) -> np.ndarray:
    """VOI LUT Function LINEAR_EXACT, PS3.3 C.11.2.1.3.2: ``(x - c) / w + 0.5`` within
    ``c ± w / 2``, 0 below and 1 above. The width must be > 0."""
    if width <= 0:
        raise ValueError(f"Window Width must be > 0 for LINEAR_EXACT, got {width:g}")
    x = np.asarray(values, dtype=np.float64)
    return np.clip((x - center) / width + 0.5, 0.0, 1.0)


def window_sigmoid(values: np.ndarray, center: float, width: float) -> np.ndarray:
    """VOI LUT Function SIGMOID, PS3.3 C.11.2.1.3.1: ``1 / (1 + exp(-4 (x - c) / w))``.
    The width must be > 0."""
    if width <= 0:
        raise ValueError(f"Window Width must be > 0 for SIGMOID, got {width:g}")
    x = np.asarray(values, dtype=np.float64)
    return 1.0 / (1.0 + np.exp(-4.0 * (x - center) / width))


#: VOI LUT Function (0028,1056) defined terms, PS3.3 C.11.2.1.3
WINDOW_FUNCTIONS = {
    "LINEAR": window_linear,
    "LINEAR_EXACT": window_linear_exact,
    "SIGMOID": window_sigmoid,
}


def window(values: np.ndarray, center: float, width: float, function: str = "LINEAR"
           ) -> np.ndarray:
    """Apply a VOI window with the VOI LUT Function ``function`` (LINEAR when empty)."""
    name = (function or "LINEAR").strip().upper()
    try:
        fn = WINDOW_FUNCTIONS[name]
    except KeyError:
        raise ValueError(f"VOI LUT Function {function!r} is not one of "
                         f"{', '.join(WINDOW_FUNCTIONS)}") from None
    return fn(values, center, width)


def min_max(values: np.ndarray, ignore: np.ndarray | None = None) -> np.ndarray:
    """The whole range of the image, linearly: its minimum → 0, its maximum → 1.

    Used when the image has no VOI (no window, no VOI LUT): the full dynamic range is printed.
    ``ignore`` marks pixels left out of the range (Pixel Padding Value, PS3.3 C.7.5.1.1.2: the
    area outside a CT's field of view); they clip to 0 or 1. A constant image gives 0 everywhere.
    """
    x = np.asarray(values, dtype=np.float64)
    inside = x if ignore is None or ignore.all() else x[~ignore]
    lo, hi = float(inside.min()), float(inside.max())
    if hi <= lo:
        return np.zeros_like(x)
    return np.clip((x - lo) / (hi - lo), 0.0, 1.0)


def lut_output(values: np.ndarray, output_bits: int) -> np.ndarray:
    """Normalise the output of a VOI LUT (LUT Descriptor third value = ``output_bits``, PS3.3
    C.11.2.1.1: output range 0 … 2**bits - 1) to [0, 1]."""
    top = float((1 << int(output_bits)) - 1)
    return np.clip(np.asarray(values, dtype=np.float64) / top, 0.0, 1.0)


def invert(normalised: np.ndarray) -> np.ndarray:
    """MONOCHROME1 (PS3.3 C.7.6.3.1.2: the minimum value is displayed white) → MONOCHROME2."""
    return 1.0 - np.asarray(normalised, dtype=np.float64)


def quantize(normalised: np.ndarray, bits_stored: int) -> np.ndarray:
    """Normalised values in [0, 1] → stored values of ``bits_stored`` bits (8 or 12), rounded.

    Returns ``uint8`` for 8 bits, ``uint16`` (12 bits in 16 allocated, PS3.4 H.4.3.1) for 12.
    """
    if bits_stored not in (8, 12):
        raise ValueError(f"a Basic Grayscale Image Box takes 8 or 12 bits, not {bits_stored}")
    top = (1 << bits_stored) - 1
    out = np.rint(np.clip(np.asarray(normalised, dtype=np.float64), 0.0, 1.0) * top)
    return out.astype(np.uint8 if bits_stored == 8 else np.uint16)
