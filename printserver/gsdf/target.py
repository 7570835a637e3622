"""GSDF target curves: what N equally spaced P-values should show (PS3.14 §7.1, §7.2).

A display of luminance range [Lmin, Lmax] (plus reflected ambient light) or a film of density range
[Dmin, Dmax] on a light box spreads its P-values equally in JND index between the two ends of its
range (PS3.14 Annex D). :func:`display_target` and :func:`film_target` give that target for every
P-value, as ``printserver gsdf curve`` writes it (CSV ``ddl,jnd,luminance[,od]``) and the web draws
it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from printserver.errors import ParameterError
from printserver.gsdf.gsdf import luminance_from_pvalues, pvalue_jnd_range
from printserver.gsdf.hardcopy import (DEFAULT_ILLUMINATION, DEFAULT_REFLECTED_AMBIENT_LIGHT,
                                       film_luminance_range, od_from_luminance)
from printserver.gsdf.softcopy import check_display

#: number of P-values a target curve may have
LEVELS_RANGE = (2, 65536)


@dataclass(frozen=True, eq=False)
class TargetCurve:
    """The GSDF target of ``levels`` equally spaced P-values (DDLs) 0 … levels − 1.

    Attributes
    ----------
    ddl : numpy.ndarray
        The P-values 0 … levels − 1 (int64).
    jnd : numpy.ndarray
        Their JND index (PS3.14 §7.1), equally spaced from the range's lower end to its upper.
    luminance : numpy.ndarray
        Their target luminance in cd/m², ambient light included (what a photometer in the room
        reads; for film, the luminance of the film on the light box).
    od : numpy.ndarray or None
        For film: the optical density that shows that luminance (PS3.14 §7.2); None for a display.
    """

    ddl: np.ndarray
    jnd: np.ndarray
    luminance: np.ndarray
    od: np.ndarray | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        """Names of the columns: ``ddl``, ``jnd``, ``luminance`` and, for film, ``od``."""
        return ("ddl", "jnd", "luminance") + (("od",) if self.od is not None else ())

    @property
    def levels(self) -> int:
        return int(self.ddl.size)


def _check_levels(levels: int) -> int:
    low, high = LEVELS_RANGE
    if int(levels) != levels or not low <= levels <= high:
        raise ParameterError("levels", f"must be {low} … {high}; got {levels}")
    return int(levels)


def _target(lmin: float, lmax: float, levels: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    jmin, jmax = pvalue_jnd_range(lmin, lmax)
    ddl = np.arange(levels)
    jnd = jmin + ddl * ((jmax - jmin) / (levels - 1))
    return ddl, jnd, luminance_from_pvalues(ddl, None, lmin, lmax, levels=levels)


def display_target(lmin: float, lmax: float, ambient: float = 0.0,
                   levels: int = 256) -> TargetCurve:
    """The GSDF target of a display (PS3.14 §7.1, Annex D.1).

    Parameters
    ----------
    lmin, lmax : float
        The display's own luminance range, measured without ambient light (cd/m²).
    ambient : float
        Reflected ambient light (cd/m²); the target includes it (L' = L + Lamb).
    levels : int
        Number of P-values, 2 … 65536.

    Raises
    ------
    ParameterError
        Naming ``lmin``, ``lmax``, ``ambient`` or ``levels``.
    """
    levels = _check_levels(levels)
    ddl, jnd, luminance = _target(*check_display(lmin, lmax, ambient), levels)
    return TargetCurve(ddl, jnd, luminance)


def film_target(min_density: float, max_density: float,
                illumination: float = DEFAULT_ILLUMINATION,
                ambient: float = DEFAULT_REFLECTED_AMBIENT_LIGHT,
                levels: int = 256) -> TargetCurve:
    """The GSDF target of a film on a light box (PS3.14 §7.2): luminance and optical density.

    Parameters
    ----------
    min_density, max_density : float
        The film's density range in OD (DICOM's Min/Max Density divided by 100).
    illumination : float
        Light-box luminance L0 (cd/m²).
    ambient : float
        Reflected ambient light La (cd/m²).
    levels : int
        Number of P-values, 2 … 65536.

    Raises
    ------
    ParameterError
        Naming ``min_density``, ``max_density``, ``illumination``, ``ambient`` or ``levels``.
    """
    levels = _check_levels(levels)
    lmin, lmax = film_luminance_range(min_density, max_density, illumination, ambient)
    ddl, jnd, luminance = _target(lmin, lmax, levels)
    od = np.clip(od_from_luminance(luminance, illumination, ambient), min_density, max_density)
    return TargetCurve(ddl, jnd, luminance, od)
