"""Film printer constancy: base + fog, a mid density and a density difference against a baseline.

The classic sensitometric constancy test of film processing (mammography QC, the printer vendors'
daily QC charts) applied to a printed step wedge (``printserver print --pattern STEP-WEDGE``, printed
normally, i.e. through the printer's calibration):

* **base + fog** (BF): the density of the lightest film the printer makes (an unexposed area, or the
  wedge's lightest step, step 18, when no separate reading is given);
* **mid density** (MD): the density of the step closest to :data:`MID_AIM` at the baseline;
* **density difference** (DD): the density of the step closest to :data:`HIGH_AIM` minus the one
  closest to :data:`LOW_AIM` at the baseline (the contrast of the film).

The steps are chosen once, from the baseline's full wedge (:func:`choose_steps`), and kept: later
measurements read those steps. Each value is compared with the baseline's: ``|value − baseline| ≤
limit``. Default limits and aims (:data:`DEFAULT_CONSTANCY_LIMITS`, :data:`CONSTANCY_SOURCES`) come
from the Agfa Drystar AXYS mammography QC chart as quoted in ``../shared/reference/real-world.md``
§4h (base + fog 0.22 ± 0.03, low 0.45 ± 0.07, mid 1.20 ± 0.15, high 2.20 ± 0.15 OD) **[secondary]**;
a density difference tolerance of ± 0.15 is also the common practice of mammography film QC
**[recalled]**. Every limit is configurable per baseline; ``None`` switches a criterion off.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import ArrayLike

from printserver.errors import ParameterError
from printserver.gsdf.conformance import ReadingError
from printserver.gsdf.film_calibration import WEDGE_STEPS
from printserver.gsdf.hardcopy import MAX_PLAUSIBLE_DENSITY
from printserver.gsdf.qc_limits import Limits

#: aims the baseline's steps are chosen by (OD) [secondary: Agfa Drystar AXYS QC chart]
LOW_AIM, MID_AIM, HIGH_AIM = 0.45, 1.20, 2.20


@dataclass(frozen=True)
class ConstancyLimits(Limits):
    """Largest allowed deviation from the baseline, OD; ``None`` switches a criterion off."""

    base_fog: float | None = 0.03
    mid_density: float | None = 0.15
    density_difference: float | None = 0.15

    _what = "constancy limit"


DEFAULT_CONSTANCY_LIMITS = ConstancyLimits()

#: where each default limit comes from, with its status as in the reference digests
CONSTANCY_SOURCES: dict[str, tuple[str, str]] = {
    "base_fog": ("Agfa Drystar AXYS QC chart: base + fog 0.22 ± 0.03 OD (reference real-world.md "
                 "§4h)", "secondary"),
    "mid_density": ("Agfa Drystar AXYS QC chart: mid density 1.20 ± 0.15 OD", "secondary"),
    "density_difference": ("mammography film QC practice: density difference ± 0.15 OD; the Agfa "
                           "chart gives high 2.20 ± 0.15 and low 0.45 ± 0.07 OD", "recalled"),
}


@dataclass(frozen=True)
class ConstancySteps:
    """The wedge steps (1 … 18) read for the mid density and the density difference."""

    low: int
    mid: int
    high: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def choose_steps(density: ArrayLike) -> ConstancySteps:
    """The steps nearest :data:`MID_AIM`, :data:`LOW_AIM` and :data:`HIGH_AIM` in a full wedge
    (18 densities, step 1 first); the high step is darker than the low one.

    Raises
    ------
    ParameterError
        Not 18 densities, or a wedge without two different densities.
    """
    d = np.asarray(density, dtype=np.float64)
    if d.shape != (WEDGE_STEPS,):
        raise ParameterError("readings", f"choosing the steps needs all {WEDGE_STEPS} steps")

    def nearest(aim: float, exclude: tuple[int, ...] = ()) -> int:
        order = np.argsort(np.abs(d - aim), kind="stable")
        return int(next(i for i in order if int(i) not in exclude)) + 1

    high = nearest(HIGH_AIM)
    low = nearest(LOW_AIM, (high - 1,))
    if d[low - 1] >= d[high - 1]:
        if d.max() == d.min():
            raise ParameterError("readings", "every step has the same density: no contrast to track")
        high, low = int(np.argmax(d)) + 1, int(np.argmin(d)) + 1
    return ConstancySteps(low, nearest(MID_AIM), high)


@dataclass(frozen=True)
class ConstancyValues:
    """Base + fog, mid density and density difference of one measurement (OD)."""

    base_fog: float
    mid_density: float
    density_difference: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def check_step_densities(steps: ArrayLike, density: ArrayLike,
                         required: tuple[int, ...] = ()) -> dict[int, float]:
    """Validate some or all steps' densities: step → density.

    Each step an integer 1 … 18 given once, each density 0 … 10 OD, the ``required`` steps present,
    and no density rising from a step to a lighter one. Errors are :class:`ReadingError` naming
    ``readings[i].step``, ``readings[i].density`` or ``readings``.
    """
    s = np.asarray(steps, dtype=np.float64)
    d = np.asarray(density, dtype=np.float64)
    if s.ndim != 1 or s.shape != d.shape:
        raise ReadingError("readings", "need one density per step, as two lists of equal length")
    found: dict[int, float] = {}
    index: dict[int, int] = {}
    for i, (step, value) in enumerate(zip(s.tolist(), d.tolist())):
        if not math.isfinite(step) or step != int(step) or not 1 <= step <= WEDGE_STEPS:
            raise ReadingError(f"readings[{i}].step", f"must be a step 1 … {WEDGE_STEPS}; got {step:g}", i)
        step = int(step)
        if step in found:
            raise ReadingError(f"readings[{i}].step", f"step {step} given twice", i)
        if not math.isfinite(value) or not 0 <= value <= MAX_PLAUSIBLE_DENSITY:
            raise ReadingError(f"readings[{i}].density", f"density at step {step} must be 0 … "
                                                         f"{MAX_PLAUSIBLE_DENSITY:g} OD; got {value!r}", i)
        found[step], index[step] = float(value), i
    missing = [r for r in required if r not in found]
    if missing:
        raise ReadingError("readings", f"missing step {', '.join(map(str, missing))}, which the "
                                       f"baseline tracks")
    ordered = sorted(found)
    for a, b in zip(ordered, ordered[1:]):
        if found[b] > found[a]:
            raise ReadingError(f"readings[{index[b]}].density",
                               f"{found[b]:g} OD at step {b} is above {found[a]:g} OD at step {a}: "
                               f"density must not rise as the steps get lighter", index[b])
    return found


def constancy_values(density: Mapping[int, float], steps: ConstancySteps,
                     base_fog: float | None = None) -> ConstancyValues:
    """The three values of a measurement; ``base_fog`` None takes the lightest step's density.

    Raises
    ------
    ParameterError
        ``base_fog`` not 0 … 10 OD (naming ``base_fog``); a needed step missing (``readings``).
    """
    if base_fog is None:
        if WEDGE_STEPS not in density:
            raise ParameterError("base_fog", f"give base + fog, or the density of step {WEDGE_STEPS}")
        base_fog = density[WEDGE_STEPS]
    elif not (math.isfinite(base_fog) and 0 <= base_fog <= MAX_PLAUSIBLE_DENSITY):
        raise ParameterError("base_fog", f"must be 0 … {MAX_PLAUSIBLE_DENSITY:g} OD; got {base_fog!r}")
    for step in (steps.low, steps.mid, steps.high):
        if step not in density:
            raise ParameterError("readings", f"missing step {step}")
    return ConstancyValues(float(base_fog), density[steps.mid],
                           density[steps.high] - density[steps.low])


@dataclass(frozen=True)
class ConstancyCheck:
    """One value against the baseline: ``passed`` is ``|deviation| ≤ limit`` (None: not judged)."""

    name: str
    value: float
    baseline: float
    deviation: float
    limit: float | None
    passed: bool | None
    source: str = ""
    status: str = ""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def evaluate_constancy(values: ConstancyValues, baseline: ConstancyValues,
                       limits: ConstancyLimits = DEFAULT_CONSTANCY_LIMITS) -> tuple[ConstancyCheck, ...]:
    """Each value of a measurement judged against the baseline's (module docstring)."""
    checks = []
    for name in ("base_fog", "mid_density", "density_difference"):
        value, base, limit = getattr(values, name), getattr(baseline, name), getattr(limits, name)
        deviation = value - base
        # a deviation equal to the limit passes (the charts write "± limit"); rounding the
        # densitometer's 0.01 OD steps must not make 0.15 fail
        passed = None if limit is None else bool(abs(deviation) <= limit + 1e-9)
        source, status = CONSTANCY_SOURCES[name]
        checks.append(ConstancyCheck(name, value, base, deviation, limit, passed, source, status))
    return tuple(checks)
