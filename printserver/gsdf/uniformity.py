"""Luminance uniformity of a display: AAPM TG18 (TG18-UNL10/80) and AAPM Report 270 metrics.

The display shows a uniform field (TG18-UN10 / UN80, or TG18-UNL10 / UNL80 whose lines mark the
measurement areas; TG270-ULN) and the photometer reads ``n`` locations:

* **5 points** (TG18, PS3.3 C.32.3.3 "center and four corners"), in the order
  centre, top-left, top-right, bottom-left, bottom-right;
* **9 points** (a 3 × 3 grid, pacsDisplay ``uniLum`` and Report 270), row by row from the top-left.

Metrics (``../shared/reference/display-qc.md`` §4), computed on ``L' = L + Lamb`` as pacsDisplay
does (ambient 0 gives the values on the readings themselves):

* maximum luminance deviation (TG18, and Report 270's **MLD**)
  ``200·(L'max − L'min)/(L'max + L'min)`` %, limit 30 % [secondary];
* deviation from the median (Report 270's **LUDM**) ``max_i 100·|L'_i − median|/median`` %; the
  report's limit is not verified here, so it has no default.

Both are returned as fractions (0.30 = 30 %).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from printserver.gsdf.conformance import ReadingError, check_ambient
from printserver.gsdf.qc_limits import Check, QCLimits, judge, overall_pass

#: the measurement locations, in the order the readings are given
LOCATIONS: dict[int, tuple[str, ...]] = {
    5: ("centre", "top-left", "top-right", "bottom-left", "bottom-right"),
    9: ("top-left", "top-centre", "top-right", "middle-left", "centre", "middle-right",
        "bottom-left", "bottom-centre", "bottom-right"),
}


@dataclass(frozen=True, eq=False)
class Uniformity:
    """The uniformity of one uniform field.

    Attributes
    ----------
    luminance : numpy.ndarray
        The readings without ambient light, cd/m², in :data:`LOCATIONS` order.
    ambient : float
        Reflected ambient light added to every reading (cd/m²).
    max_deviation : float
        ``2·(L'max − L'min)/(L'max + L'min)`` (fraction; TG18's non-uniformity, TG270's MLD).
    median_deviation : float
        ``max |L'_i − median| / median`` (fraction; TG270's LUDM).
    checks : tuple of Check
        ``max_uniformity_deviation`` and ``max_median_deviation`` judged against the limits.
    """

    luminance: np.ndarray
    ambient: float
    max_deviation: float
    median_deviation: float
    checks: tuple[Check, ...]

    @property
    def locations(self) -> tuple[str, ...]:
        return LOCATIONS[self.luminance.size]

    @property
    def luminance_prime(self) -> np.ndarray:
        return self.luminance + self.ambient

    @property
    def passed(self) -> bool:
        return overall_pass(self.checks)

    def as_dict(self) -> dict[str, object]:
        return {"points": [{"location": name, "luminance": float(lum), "luminance_prime": float(lp)}
                           for name, lum, lp in zip(self.locations, self.luminance, self.luminance_prime)],
                "ambient": self.ambient, "max_deviation": self.max_deviation,
                "median_deviation": self.median_deviation,
                "checks": [c.as_dict() for c in self.checks], "pass": self.passed}


def evaluate_uniformity(luminance: ArrayLike, ambient: float = 0.0,
                        limits: QCLimits | None = None) -> Uniformity:
    """Non-uniformity of 5 or 9 readings of one uniform field (module docstring).

    Parameters
    ----------
    luminance : array_like
        5 or 9 readings without ambient light, cd/m², in :data:`LOCATIONS` order.
    ambient : float
        Reflected ambient light Lamb, cd/m², added to every reading.
    limits : QCLimits, optional
        Default: :class:`QCLimits` () (30 % maximum deviation, no median limit); uniformity limits
        are the same for both display classes.

    Raises
    ------
    ReadingError
        Naming ``readings[i].luminance`` (negative, NaN) or ``readings`` (not 5 or 9 points, all 0).
    """
    lamb = check_ambient(ambient)
    lum = np.asarray(luminance, dtype=np.float64)
    if lum.ndim != 1 or lum.size not in LOCATIONS:
        raise ReadingError("readings", f"uniformity needs 5 (centre and corners) or 9 (3 × 3) readings; "
                                       f"got {lum.size}")
    for i, value in enumerate(lum.tolist()):
        if not np.isfinite(value):
            raise ReadingError(f"readings[{i}].luminance", f"must be a number of cd/m²; got {value!r}", i)
        if value < 0:
            raise ReadingError(f"readings[{i}].luminance", f"negative luminance {value:g} cd/m²", i)
    lp = lum + lamb
    if lp.max() <= 0:
        raise ReadingError("readings", "every reading is 0 cd/m²: nothing was measured")
    mld = 2.0 * float(lp.max() - lp.min()) / float(lp.max() + lp.min())
    median = float(np.median(lp))
    ludm = float(np.max(np.abs(lp - median)) / median) if median > 0 else float("inf")
    limits = QCLimits() if limits is None else limits
    checks = (judge("max_uniformity_deviation", mld, limits, "<="),
              judge("max_median_deviation", ludm, limits, "<="))
    return Uniformity(lum, lamb, mld, ludm, checks)
