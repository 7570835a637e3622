"""Calibration LUTs: make a measured monitor or printer follow the GSDF (PS3.14 §7, Annex C/D).

For a device with characteristic curve ``L'(DDL)`` (ambient light included, see
:mod:`printserver.gsdf.curves`) the calibration LUT maps each input level (a P-value, 8 … 16 bits) to
the DDL whose luminance is closest to the GSDF target of that level. Targets are spread equally in JND
index between the device's **own measured extremes** ``j(L'min)`` and ``j(L'max)`` (PS3.14 §7.2 / D.1),
with the end points pinned to ``L'min`` and ``L'max`` (see :func:`printserver.gsdf.gsdf.pvalue_jnd_range`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from printserver.errors import ParameterError
from printserver.gsdf.curves import (CharacteristicCurve, device_luminance, measured_luminance_range,
                                     values_at_all_ddls)
from printserver.gsdf.gsdf import luminance_from_pvalues, pvalue_jnd_range

#: input bits a calibration LUT may have
INPUT_BITS_RANGE = (8, 16)


@dataclass(frozen=True, eq=False)
class CalibrationLUT:
    """A calibration LUT and what it was computed from.

    Attributes
    ----------
    output : numpy.ndarray
        Device DDL for each input level 0 … levels − 1 (int64).
    target : numpy.ndarray
        GSDF target luminance of each input level, ambient included (cd/m²).
    achieved : numpy.ndarray
        The device's luminance at the chosen DDL (cd/m²).
    jnd_range : tuple of float
        ``(jmin, jmax)`` of the device's measured extremes.
    """

    output: np.ndarray
    target: np.ndarray
    achieved: np.ndarray
    jnd_range: tuple[float, float]

    @property
    def levels(self) -> int:
        return int(self.output.size)


def input_levels(bits: int | None = None, levels: int | None = None) -> int:
    """Number of input levels, ``2**bits`` for 8 … 16 bits (either argument; ``levels`` a power of 2).

    Raises
    ------
    ParameterError
        Naming ``bits`` (or ``levels``) when outside 8 … 16 bits.
    """
    low, high = INPUT_BITS_RANGE
    if levels is not None:
        n = int(levels)
        if n != levels or n < 2 or n & (n - 1) or not low <= n.bit_length() - 1 <= high:
            raise ParameterError("levels", f"must be 2**bits for {low} … {high} input bits "
                                           f"(256, 512, … 65536); got {levels}")
        return n
    if bits is None or int(bits) != bits or not low <= bits <= high:
        raise ParameterError("bits", f"calibration LUT input must be {low} … {high} bits; got {bits}")
    return 1 << int(bits)


def calibration_lut(curve: CharacteristicCurve, bits: int | None = None,
                    levels: int | None = None) -> CalibrationLUT:
    """The LUT input level → device DDL that makes ``curve``'s device follow the GSDF.

    Parameters
    ----------
    curve : CharacteristicCurve
        The measured device, with the viewing conditions to use (ambient light; illumination for a
        printer) already set (:meth:`CharacteristicCurve.with_conditions`).
    bits, levels : int, optional
        Input bits (8 … 16) or the equivalent number of levels; default: the device's own DDL count
        rounded up to a power of two (at least 256).

    Returns
    -------
    CalibrationLUT

    Raises
    ------
    ParameterError
        Input bits outside 8 … 16 (naming ``bits``/``levels``); a device curve that is not monotonic
        (naming ``luminance`` or ``od``), since a non-monotonic device cannot follow the GSDF.
    """
    if bits is None and levels is None:
        levels = max(256, 1 << int(curve.max_ddl).bit_length())
    n = input_levels(bits, levels)
    per_ddl = device_luminance(curve, values_at_all_ddls(curve))
    steps = np.diff(per_ddl)
    if not (np.all(steps >= 0) or np.all(steps <= 0)) or per_ddl[0] == per_ddl[-1]:
        bad = int(np.nonzero(np.sign(steps) != np.sign(per_ddl[-1] - per_ddl[0]))[0][0])
        raise ParameterError(curve.quantity, f"{curve.source}: the device curve is not monotonic "
                                             f"(DDL {bad} → {bad + 1}); it cannot be calibrated to GSDF")
    lmin, lmax = measured_luminance_range(curve)
    target = luminance_from_pvalues(np.arange(n), None, lmin, lmax, levels=n)
    output = nearest_ddl(per_ddl, target)
    return CalibrationLUT(output=output, target=target, achieved=per_ddl[output],
                          jnd_range=pvalue_jnd_range(lmin, lmax))


def nearest_ddl(per_ddl: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Index of the value in monotonic ``per_ddl`` nearest to each ``target`` (ties → lower DDL)."""
    ascending = per_ddl[-1] >= per_ddl[0]
    curve = per_ddl if ascending else per_ddl[::-1]
    hi = np.clip(np.searchsorted(curve, target, side="left"), 1, curve.size - 1)
    lo = hi - 1
    pick = np.where(np.abs(curve[hi] - target) < np.abs(target - curve[lo]), hi, lo)
    return pick if ascending else (curve.size - 1 - pick)
