"""The Grayscale Standard Display Function of DICOM PS3.14 §7.1.

Two closed formulas relate the JND index ``j`` (1 … 1023) and luminance ``L`` (cd/m²):

* :func:`luminance_from_jnd`, PS3.14 eq. 7-1 (the GSDF itself), and
* :func:`jnd_from_luminance`, PS3.14 §7.1 Note 1, eq. 7-2 (its published approximate inverse).

The two are **not exact inverses** (PS3.14 §7.1: the interpolation deviates from Barten's table by up
to 0.3 % in log L): ``j(L(1)) = 1.0264`` and ``j(L(1023)) = 1022.908``. :func:`jnd_from_luminance`
therefore offers two methods: ``"formula"`` (eq. 7-2, what DCMTK and most implementations use) and
``"exact"`` (eq. 7-1 inverted numerically, as §7.1 Note 3 allows). How the rest of
:mod:`printserver.gsdf` uses them at the end points is decided in :func:`pvalue_jnd_range` and
documented in ``docs/calibration.md``.

All functions are pure and vectorised; double precision throughout, as §7.1 Note 2 recommends.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from printserver.errors import ParameterError

#: the JND index range on which PS3.14 §7.1 defines the GSDF
JND_MIN = 1.0
JND_MAX = 1023.0

#: eq. 7-1 coefficients (PS3.14 §7.1)
_A, _B, _C, _D, _E = -1.3011877, -2.5840191e-2, 8.0242636e-2, -1.0320229e-1, 1.3646699e-1
_F, _G, _H, _K, _M = 2.8745620e-2, -2.5468404e-2, -3.1978977e-3, 1.2992634e-4, 1.3635334e-3

#: eq. 7-2 coefficients A … I (PS3.14 §7.1 Note 1), lowest power first
_J_COEF = (71.498068, 94.593053, 41.912053, 9.8247004, 0.28175407,
           -1.1878455, -0.18014349, 0.14710899, -0.017046845)

#: accepted luminance range for j(L): the standard's "0.05 to 4000 cd/m²" (PS3.14 §7.1), widened
#: to hold eq. 7-2's own end points (j(0.049864) = 1) and the 0.3 % tolerance of the interpolation
LUMINANCE_LOW = 0.0498
LUMINANCE_HIGH = 4001.0


def _log10_luminance(j: np.ndarray) -> np.ndarray:
    x = np.log(j)
    num = _A + x * (_C + x * (_E + x * (_G + x * _M)))
    den = 1.0 + x * (_B + x * (_D + x * (_F + x * (_H + x * _K))))
    return num / den


def luminance_from_jnd(j: ArrayLike) -> np.ndarray:
    """Luminance L(j) in cd/m² for JND index ``j``: PS3.14 §7.1, eq. 7-1.

    Parameters
    ----------
    j : array_like
        JND index, 1 … 1023 (the range the standard defines).

    Returns
    -------
    numpy.ndarray
        Luminance in cd/m², float64, same shape as ``j``.

    Raises
    ------
    ParameterError
        ``j`` outside [1, 1023] or not finite.
    """
    j = np.asarray(j, dtype=np.float64)
    if j.size and not (np.all(np.isfinite(j)) and j.min() >= JND_MIN and j.max() <= JND_MAX):
        raise ParameterError("jnd", f"JND index must be within [{JND_MIN:g}, {JND_MAX:g}] "
                                    f"(PS3.14 §7.1); got {j.min():g} … {j.max():g}")
    return np.power(10.0, _log10_luminance(j))


def _jnd_formula(luminance: np.ndarray) -> np.ndarray:
    y = np.log10(luminance)
    return np.polynomial.polynomial.polyval(y, _J_COEF)


def _jnd_exact(luminance: np.ndarray) -> np.ndarray:
    """Invert eq. 7-1 by Newton's method on log10 L, started from eq. 7-2 (PS3.14 §7.1 Note 3)."""
    target = np.log10(luminance)
    j = np.clip(_jnd_formula(luminance), JND_MIN, JND_MAX)
    step = 1e-4
    for _ in range(8):
        f = _log10_luminance(j) - target
        jp = np.minimum(j + step, JND_MAX + 1.0)
        slope = (_log10_luminance(jp) - _log10_luminance(j)) / (jp - j)
        j = j - f / slope
    return j


def jnd_from_luminance(luminance: ArrayLike, method: str = "formula") -> np.ndarray:
    """JND index j(L) for luminance ``L`` in cd/m²: PS3.14 §7.1 Note 1 (eq. 7-2) or Note 3.

    Parameters
    ----------
    luminance : array_like
        Luminance in cd/m², within the GSDF range (about 0.05 … 4000 cd/m², PS3.14 §7.1).
    method : {"formula", "exact"}
        ``"formula"``: the polynomial eq. 7-2 (DCMTK's choice; 1.0264 for L(1)).
        ``"exact"``: the numerical inverse of eq. 7-1, so that ``luminance_from_jnd`` of the
        result returns ``L`` to better than 1e-12 relative.

    Returns
    -------
    numpy.ndarray
        JND index, float64, same shape as ``luminance``.

    Raises
    ------
    ParameterError
        Luminance not positive, not finite, or outside the GSDF's range (0.0498 … 4001 cd/m²,
        the luminances whose eq. 7-2 index lies in [1, 1023] widened by the 0.3 % tolerance of §7.1).
    """
    lum = np.asarray(luminance, dtype=np.float64)
    if lum.size:
        if not np.all(np.isfinite(lum)) or lum.min() <= 0:
            raise ParameterError("luminance", "must be a positive number of cd/m² (PS3.14 §7.1)")
        if lum.min() < LUMINANCE_LOW or lum.max() > LUMINANCE_HIGH:
            raise ParameterError("luminance", f"must be within the GSDF range {LUMINANCE_LOW:.4g} … "
                                              f"{LUMINANCE_HIGH:.5g} cd/m² (PS3.14 §7.1); got "
                                              f"{lum.min():g} … {lum.max():g}")
    if method == "formula":
        return _jnd_formula(lum)
    if method == "exact":
        return _jnd_exact(lum)
    raise ParameterError("method", f"{method!r} is not one of 'formula', 'exact'")


def pvalue_jnd_range(lmin: float, lmax: float) -> tuple[float, float]:
    """JND indices ``(jmin, jmax)`` of the extreme luminances of a device: PS3.14 §7.2 / D.1.

    End-point method of printserver: ``jmin = j(Lmin)`` and ``jmax = j(Lmax)`` by eq. 7-2 (as DCMTK,
    so interior targets agree with it); the targets at the two ends are then pinned to ``Lmin`` and
    ``Lmax`` themselves (see :func:`luminance_from_pvalues`), so a device is driven exactly to its
    extremes. The pinned ends differ from ``L(j(Lmin))`` by at most 0.3 % (PS3.14 §7.1).

    Raises
    ------
    ParameterError
        ``lmin`` ≥ ``lmax`` or either outside the GSDF range.
    """
    if not (np.isfinite(lmin) and np.isfinite(lmax)) or lmin >= lmax:
        raise ParameterError("luminance range", f"minimum ({lmin:g}) must be below maximum ({lmax:g})")
    jmin, jmax = jnd_from_luminance([lmin, lmax])
    return float(jmin), float(jmax)


def luminance_from_pvalues(p: ArrayLike, bits: int | None, lmin: float, lmax: float,
                           levels: int | None = None) -> np.ndarray:
    """Target luminance for P-values on a device of luminance range [``lmin``, ``lmax``].

    PS3.14 §7.2 and Annex D.1: P-values are equally spaced in JND index between ``j(lmin)`` and
    ``j(lmax)``; ``L(p) = L(jmin + p·(jmax − jmin)/(n − 1))`` with ``n = 2**bits`` (or ``levels``).
    P = 0 gives exactly ``lmin`` and P = n − 1 exactly ``lmax`` (the end-point method of
    :func:`pvalue_jnd_range`). Luminances include ambient light when the caller's range does.

    Parameters
    ----------
    p : array_like
        P-values, 0 … n − 1 (floats allowed).
    bits : int or None
        Bits of the P-value space (1 … 16); ignored when ``levels`` is given.
    lmin, lmax : float
        Luminance of the darkest and brightest state, cd/m².
    levels : int, optional
        Number of P-value levels n instead of ``2**bits`` (e.g. 1024 DDLs).
    """
    n = _levels(bits, levels)
    jmin, jmax = pvalue_jnd_range(lmin, lmax)
    p = np.asarray(p, dtype=np.float64)
    if p.size and (p.min() < 0 or p.max() > n - 1):
        raise ParameterError("P-value", f"must be within 0 … {n - 1}")
    j = jmin + p * ((jmax - jmin) / (n - 1))
    lum = np.power(10.0, _log10_luminance(np.clip(j, JND_MIN, JND_MAX + 1.0)))
    lum = np.where(p <= 0, lmin, lum)
    return np.where(p >= n - 1, lmax, lum)


def pvalues_from_luminance(luminance: ArrayLike, bits: int | None, lmin: float, lmax: float,
                           levels: int | None = None) -> np.ndarray:
    """P-values (float) for luminances on a device of range [``lmin``, ``lmax``]: the exact inverse
    of :func:`luminance_from_pvalues` (eq. 7-1 inverted numerically, PS3.14 §7.1 Note 3), clipped
    to 0 … n − 1, with ``lmin`` → 0 and ``lmax`` → n − 1 exactly."""
    n = _levels(bits, levels)
    jmin, jmax = pvalue_jnd_range(lmin, lmax)
    lum = np.clip(np.asarray(luminance, dtype=np.float64), lmin, lmax)
    j = jnd_from_luminance(lum, method="exact")
    p = np.clip((j - jmin) * ((n - 1) / (jmax - jmin)), 0.0, n - 1)
    p = np.where(lum <= lmin, 0.0, p)
    return np.where(lum >= lmax, float(n - 1), p)


def _levels(bits: int | None, levels: int | None) -> int:
    if levels is not None:
        if int(levels) != levels or levels < 2 or levels > 65536:
            raise ParameterError("levels", f"must be an integer 2 … 65536; got {levels}")
        return int(levels)
    if bits is None or int(bits) != bits or not 1 <= bits <= 16:
        raise ParameterError("bits", f"P-values must have 1 … 16 bits; got {bits}")
    return 1 << int(bits)
