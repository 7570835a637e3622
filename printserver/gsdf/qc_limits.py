"""Acceptance limits of display QC (AAPM TG18 / Report 270) and the checks judged against them.

The numbers come from ``../shared/reference/display-qc.md`` §3, §4 and §8, with the status of each
source: **secondary** (quoted by a tool that cites the standard: pacsDisplay, EIZO RadiCS) or
**recalled** (remembered from AAPM OR-03 / Report 270, whose full texts were not reachable). Every
limit is therefore a field of :class:`QCLimits`, overridable per display or site, and ``None``
switches a criterion off (the value is still reported).

Comparisons follow AAPM, which "includes an equality sign in each judgment condition" except for
the ambient ratio (RadiCS manual p.84, quoted in the reference): ``max |κ| ≤ limit``,
``LR' ≥ limit``, ``L'max ≥ limit``, non-uniformity ``≤ limit``, but ``Lamb/Lmin < limit``.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Self

from printserver.errors import ParameterError


class DisplayClass(str, enum.Enum):
    """Display categories of AAPM TG18 §2 (Report 270 splits them further; we keep TG18's two)."""

    PRIMARY = "primary"
    """Diagnostic (interpretation) displays: contrast response within ±10 % of the GSDF."""
    SECONDARY = "secondary"
    """Displays for other uses (modality, clinical review): within ±20 % of the GSDF."""

    @classmethod
    def parse(cls, value: "str | DisplayClass", parameter: str = "display_class") -> "DisplayClass":
        try:
            return cls(str(getattr(value, "value", value)).strip().lower())
        except ValueError:
            raise ParameterError(parameter, f"{value!r} is not one of 'primary', 'secondary'") from None


@dataclass(frozen=True)
class LimitSource:
    """Where a default limit comes from and how sure we are of it."""

    text: str
    status: str  # "secondary" or "recalled" (see the module docstring)


class Limits:
    """Methods of a frozen dataclass of limits, each a positive number or ``None`` (criterion
    off): checked at construction, replaced by name, listed (:class:`QCLimits`, and the film
    constancy limits of :mod:`printserver.gsdf.film_constancy`)."""

    #: what one of the limits is called in messages
    _what = "limit"

    def __post_init__(self) -> None:
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value) or value <= 0:
                raise ParameterError(f.name, f"must be a positive number or None; got {value!r}")
            object.__setattr__(self, f.name, float(value))

    def with_overrides(self, overrides: Mapping[str, object]) -> Self:
        """A copy with some limits replaced (e.g. from a configuration file or a display's record).

        Raises
        ------
        ParameterError
            Naming the key when it is not a limit or its value is not a positive number or None.
        """
        names = {f.name for f in fields(self)}  # type: ignore[arg-type]
        for key in overrides:
            if key not in names:
                raise ParameterError(str(key), f"not a {self._what} (known: {', '.join(sorted(names))})")
        return replace(self, **overrides)  # type: ignore[type-var]

    def as_dict(self) -> dict[str, float | None]:
        return {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]


@dataclass(frozen=True)
class QCLimits(Limits):
    """Pass/fail limits of a display; ``None`` disables a criterion.

    Attributes
    ----------
    contrast_response : float or None
        Largest allowed ``max |κ|`` of the 17 intervals, as a fraction (0.10 = 10 %).
    min_luminance_ratio : float or None
        Smallest allowed ``LR' = L'max / L'min``.
    min_lmax_prime : float or None
        Smallest allowed ``L'max`` in cd/m².
    max_ambient_ratio : float or None
        ``Lamb / Lmin`` must stay **below** this (a limit: fails the display).
    recommended_ambient_ratio : float or None
        ``Lamb / Lmin`` should stay below this (a recommendation: a warning, never a failure).
    max_uniformity_deviation : float or None
        Largest allowed maximum luminance deviation ``200·(Lmax − Lmin)/(Lmax + Lmin)`` as a
        fraction (0.30 = 30 %).
    max_median_deviation : float or None
        Largest allowed deviation from the median (TG270's LUDM), as a fraction; no default.
    """

    contrast_response: float | None = 0.10
    min_luminance_ratio: float | None = 250.0
    min_lmax_prime: float | None = 170.0
    max_ambient_ratio: float | None = 2.0 / 3.0
    recommended_ambient_ratio: float | None = 0.25
    max_uniformity_deviation: float | None = 0.30
    max_median_deviation: float | None = None

    _what = "QC limit"

    @classmethod
    def for_class(cls, display_class: "str | DisplayClass") -> "QCLimits":
        """The default limits of a display class (see :data:`DEFAULT_LIMITS`)."""
        return DEFAULT_LIMITS[DisplayClass.parse(display_class)]


#: default limits per display class (reference display-qc.md §3, §4, §8)
DEFAULT_LIMITS: dict[DisplayClass, QCLimits] = {
    DisplayClass.PRIMARY: QCLimits(),
    DisplayClass.SECONDARY: QCLimits(contrast_response=0.20, min_luminance_ratio=100.0,
                                     min_lmax_prime=100.0),
}

#: where each default comes from, for reports and docs/qc.md
LIMIT_SOURCES: dict[str, LimitSource] = {
    "contrast_response": LimitSource(
        "ACR-AAPM-SIIM Technical Standard as quoted by pacsDisplay: within 10 % of the GSDF for "
        "diagnostic interpretation, 20 % for other uses; AAPM TG18 luminance response test",
        "secondary"),
    "min_luminance_ratio": LimitSource(
        "AAPM TG18: LR' ≥ 250 for primary displays (also RadiCS's ACR preset); ≥ 100 for secondary "
        "displays is recalled; ACR-AAPM-SIIM and Report 270 recommend 350", "secondary"),
    "min_lmax_prime": LimitSource(
        "AAPM TG18: L'max ≥ 170 cd/m² (primary), ≥ 100 cd/m² (secondary), CRT-era values; Report 270 "
        "asks more for diagnostic displays (≥ 350, mammography ≥ 420)", "recalled"),
    "max_ambient_ratio": LimitSource(
        "AAPM TG18 and Report 270 as quoted by pacsDisplay: Lamb/Lmin no more than 2/3 "
        "(RadiCS ACR preset: Lamb < Lmin/1.5)", "secondary"),
    "recommended_ambient_ratio": LimitSource(
        "AAPM TG18 and Report 270 as quoted by pacsDisplay: Lamb/Lmin below 1/4 recommended",
        "secondary"),
    "max_uniformity_deviation": LimitSource(
        "AAPM TG18 (TG18-UNL10/80, 5 points): 200·(Lmax − Lmin)/(Lmax + Lmin) < 30 % as quoted by "
        "RadiCS", "secondary"),
    "max_median_deviation": LimitSource(
        "AAPM Report 270 LUDM (deviation from the median, as pacsDisplay uniLum computes it); the "
        "report's limit was not verified, so there is no default", "recalled"),
}


@dataclass(frozen=True)
class Check:
    """One criterion judged: ``value`` against ``limit`` with ``comparison``.

    ``kind`` is ``"limit"`` (a failure fails the display) or ``"recommendation"`` (a failure is a
    warning). ``passed`` is None when the criterion is switched off (limit None).
    """

    name: str
    value: float
    limit: float | None
    comparison: str  # "<=", ">=", "<"
    passed: bool | None
    kind: str = "limit"
    source: str = ""
    status: str = ""

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "value": finite_or_none(self.value), "limit": self.limit,
                "comparison": self.comparison, "passed": self.passed, "kind": self.kind,
                "source": self.source, "status": self.status}


_COMPARE = {"<=": lambda v, lim: v <= lim, ">=": lambda v, lim: v >= lim, "<": lambda v, lim: v < lim}


def judge(name: str, value: float, limits: QCLimits, comparison: str,
          kind: str = "limit") -> Check:
    """Judge ``value`` against ``limits.<name>``; NaN never passes."""
    limit = getattr(limits, name)
    passed = None if limit is None else bool(_COMPARE[comparison](value, limit))
    source = LIMIT_SOURCES.get(name)
    return Check(name, float(value), limit, comparison, passed, kind,
                 source.text if source else "", source.status if source else "")


def overall_pass(checks: tuple[Check, ...]) -> bool:
    """True when no check of kind ``"limit"`` failed (recommendations only warn)."""
    return all(c.passed is not False for c in checks if c.kind == "limit")


def finite_or_none(value: float) -> float | None:
    """``value`` for JSON: None for NaN and infinities (JSON has no such numbers)."""
    return float(value) if math.isfinite(value) else None
