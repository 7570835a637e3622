"""Softcopy: P-values → target luminance of a display (PS3.14 §7.1, Annex C/D.1).

A display of luminance range [Lmin, Lmax] (measured in the dark) viewed with reflected ambient light
Lamb presents ``L' = L + Lamb`` to the eye (PS3.3 C.32.3.4: each measured luminance includes ambient
light). PS3.14 spreads the P-values equally in JND index between ``j(L'min)`` and ``j(L'max)``; the
display must then emit ``L'target(p) − Lamb``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from printserver.errors import ParameterError
from printserver.gsdf.gsdf import luminance_from_pvalues, pvalue_jnd_range


def check_display(lmin: float, lmax: float, ambient: float) -> tuple[float, float]:
    """Validate a display's range and ambient light; return ``(L'min, L'max)`` including ambient."""
    if not np.isfinite(ambient) or ambient < 0:
        raise ParameterError("ambient", f"reflected ambient light must be ≥ 0 cd/m²; got {ambient:g}")
    if not np.isfinite(lmin) or lmin < 0:
        raise ParameterError("lmin", f"must be ≥ 0 cd/m²; got {lmin:g}")
    if not np.isfinite(lmax) or lmax <= lmin:
        raise ParameterError("lmax", f"must be above lmin ({lmin:g} cd/m²); got {lmax:g}")
    return lmin + ambient, lmax + ambient


def target_luminance(p: ArrayLike, bits: int | None, lmin: float, lmax: float, ambient: float = 0.0,
                     levels: int | None = None, include_ambient: bool = True) -> np.ndarray:
    """GSDF target luminance of P-values on a display (PS3.14 §7.1, D.1; L' = L + Lamb).

    Parameters
    ----------
    p : array_like
        P-values 0 … n − 1, ``n = 2**bits`` or ``levels``.
    bits : int or None
        Bits of the P-value space.
    lmin, lmax : float
        The display's own minimum and maximum luminance, without ambient light (cd/m²).
    ambient : float
        Reflected ambient light Lamb (cd/m²).
    levels : int, optional
        Number of P-value levels instead of ``2**bits``.
    include_ambient : bool
        True: return L' (what a photometer in the room reads); False: what the display must emit.

    Returns
    -------
    numpy.ndarray
        Luminance in cd/m², P = 0 exactly ``L'min`` and P = n − 1 exactly ``L'max``.
    """
    lo, hi = check_display(lmin, lmax, ambient)
    lum = luminance_from_pvalues(p, bits, lo, hi, levels=levels)
    return lum if include_ambient else lum - ambient


def jnd_per_pvalue(lmin: float, lmax: float, ambient: float = 0.0, bits: int = 8) -> float:
    """JNDs per P-value step, ``(jmax − jmin)/(2^N − 1)`` (PS3.14 Annex C / D.2.4 conformance metric)."""
    lo, hi = check_display(lmin, lmax, ambient)
    jmin, jmax = pvalue_jnd_range(lo, hi)
    return (jmax - jmin) / ((1 << bits) - 1)
