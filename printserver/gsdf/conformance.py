"""GSDF conformance of a display from its TG18-LN readings: AAPM TG18 §4.3 / IEC 62563-1 / PS3.14.

The 18-point luminance response test (``../shared/reference/display-qc.md`` §2): the display shows
the 18 TG18-LN patterns (central square at DDL 0, 15, …, 255 in 8 bits; 0, 240, …, 4080 in 12 bits),
a photometer reads the luminance ``L`` of each square in the dark, and ``Lamb`` (reflected ambient
light) is measured separately. With ``L' = L + Lamb`` (PS3.3 C.32.3.4: what the viewer sees),
:func:`luminance_response` computes exactly what pacsDisplay's ``lumR-evalQClr.tsp`` computes, the
reference this project follows:

1. ``Jmin = j(L'_0)``, ``Jmax = j(L'_last)`` by PS3.14 eq. 7-2; JNDs per gray level
   ``jpp = (Jmax − Jmin)/(p_last − p_0)`` (``/255`` for the 8-bit set);
2. measured contrast of interval k: ``dL/L_k = 2 (L'_k − L'_{k−1}) / (L'_k + L'_{k−1})``;
3. GSDF expectation: ``Lg_k = L(Jmin + (p_k − p_0)·jpp)`` by eq. 7-1 and
   ``dL/L_GSDF,k = 2 (Lg_k − Lg_{k−1}) / (Lg_k + Lg_{k−1})``;
4. ``κ_k = dL/L_k / dL/L_GSDF,k − 1`` (pacsDisplay divides both by the same JND step, which
   cancels);
5. the display passes when ``max |κ_k|`` is within the contrast-response limit (10 % primary,
   20 % secondary; :mod:`printserver.gsdf.qc_limits`).

``Lg`` is **not** pinned to ``L'min`` / ``L'max`` at the ends (unlike the calibration targets of
:func:`printserver.gsdf.gsdf.luminance_from_pvalues`): eq. 7-1 and eq. 7-2 disagree by up to 0.3 %,
and a pinned end would mix the two into the first and last interval's expected contrast.
pacsDisplay does the same. Some tools evaluate the expected contrast at the measured mean luminance
instead (about half a percentage point different on typical data); this module does not.

Readings are validated first (:func:`check_readings`): every error is a :class:`ReadingError` naming
the reading (``readings[3].luminance``) so that a CSV reader can name the line and a web form the
field.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from printserver.errors import ParameterError
from printserver.gsdf.gsdf import (JND_MAX, JND_MIN, LUMINANCE_HIGH, LUMINANCE_LOW, jnd_from_luminance,
                                   luminance_from_jnd)
from printserver.gsdf.qc_limits import (Check, DisplayClass, QCLimits, finite_or_none, judge,
                                        overall_pass)

#: the TG18-LN8 levels: DDL 0, 15, …, 255 (PS3.16 DCM 109805–109822; pacsDisplay's 18×1 mode)
LN8_LEVELS = np.arange(0, 256, 15)
#: the TG18-LN12 levels: DDL 0, 240, …, 4080 (TG18 shows them with WW/WL 4080/2040) [recalled]
LN12_LEVELS = np.arange(0, 4081, 240)
#: names of the level sets, by their highest DDL
LEVEL_SETS: dict[str, np.ndarray] = {"TG18-LN8": LN8_LEVELS, "TG18-LN12": LN12_LEVELS}


class ReadingError(ParameterError):
    """A reading that cannot be evaluated; ``index`` is its position in the caller's list (0-based),
    None when the problem is the set as a whole (a missing level, too few readings)."""

    def __init__(self, parameter: str, message: str, index: int | None = None) -> None:
        self.index = index
        super().__init__(parameter, message)


def _field(index: int, name: str) -> str:
    return f"readings[{index}].{name}"


def level_set(ddl: ArrayLike) -> tuple[str, np.ndarray]:
    """The TG18 level set that readings at ``ddl`` belong to: LN8 when no DDL exceeds 255, else LN12."""
    ddl = np.asarray(ddl, dtype=np.float64)
    if ddl.size and np.nanmax(ddl) > LN8_LEVELS[-1]:
        return "TG18-LN12", LN12_LEVELS
    return "TG18-LN8", LN8_LEVELS


@dataclass(frozen=True, eq=False)
class Readings:
    """Validated luminance readings, sorted by DDL.

    Attributes
    ----------
    level_set : str
        ``"TG18-LN8"``, ``"TG18-LN12"`` or ``"custom"``.
    ddl : numpy.ndarray
        The levels, strictly increasing (int64).
    luminance : numpy.ndarray
        Luminance measured at each level without ambient light, cd/m² (float64).
    ambient : float
        Reflected ambient light Lamb, cd/m².
    order : numpy.ndarray
        ``order[k]`` is the caller's index of the reading at ``ddl[k]`` (for error messages).
    """

    level_set: str
    ddl: np.ndarray
    luminance: np.ndarray
    ambient: float
    order: np.ndarray

    @property
    def luminance_prime(self) -> np.ndarray:
        """``L' = L + Lamb`` at each level."""
        return self.luminance + self.ambient


def check_ambient(ambient: float, parameter: str = "ambient") -> float:
    """Validate the reflected ambient light Lamb (finite, ≥ 0 cd/m²)."""
    try:
        value = float(ambient)
    except (TypeError, ValueError):
        raise ParameterError(parameter, f"must be a number of cd/m²; got {ambient!r}") from None
    if not np.isfinite(value) or value < 0:
        raise ParameterError(parameter, f"reflected ambient light must be ≥ 0 cd/m²; got {ambient!r}")
    return value


def check_readings(ddl: ArrayLike, luminance: ArrayLike, ambient: float = 0.0,
                   levels: ArrayLike | None = None) -> Readings:
    """Validate TG18 luminance readings; return them sorted by DDL.

    Rules (each broken rule raises :class:`ReadingError` naming the reading or the set):

    * ``ddl`` and ``luminance`` are equally long one-dimensional lists; each DDL an integer ≥ 0;
      each luminance a finite number ≥ 0 cd/m² (NaN and infinities refused);
    * the DDLs are exactly the expected levels, each once: ``levels`` when given (at least two,
      strictly increasing), else the TG18-LN8 set (0, 15, …, 255) or, when a DDL exceeds 255, the
      TG18-LN12 set (0, 240, …, 4080). A DDL outside the set, a DDL given twice and a missing
      level are refused; the readings may come in any order;
    * **monotonic**: sorted by DDL, no luminance is below the one of the level before (equal
      readings, e.g. a display that clips its whites, are accepted: that interval then has
      κ = −100 % and fails); the last level must be brighter than the first;
    * ``L' = L + Lamb`` lies within the GSDF's range, about 0.05 … 4000 cd/m² (PS3.14 §7.1): a
      display reading 0 cd/m² at DDL 0 needs its ambient light to be evaluated.

    Parameters
    ----------
    ddl, luminance : array_like
        The readings, in any order.
    ambient : float
        Reflected ambient light Lamb, cd/m² (≥ 0).
    levels : array_like, optional
        The expected level set, for level sets other than TG18's.

    Raises
    ------
    ReadingError
        See the rules above; ``parameter`` is ``readings[i].ddl``, ``readings[i].luminance``,
        ``readings`` or ``levels``. ``ParameterError("ambient")`` for a bad ambient value.
    """
    lamb = check_ambient(ambient)
    d = np.asarray(ddl, dtype=np.float64)
    lum = np.asarray(luminance, dtype=np.float64)
    if d.ndim != 1 or lum.ndim != 1 or d.shape != lum.shape:
        raise ReadingError("readings", "need one luminance per DDL, as two lists of equal length")
    for i, (x, y) in enumerate(zip(d.tolist(), lum.tolist())):
        if not np.isfinite(x) or x < 0 or x != int(x):
            raise ReadingError(_field(i, "ddl"), f"must be an integer ≥ 0; got {x:g}", i)
        if not np.isfinite(y):
            raise ReadingError(_field(i, "luminance"), f"must be a number of cd/m²; got {y!r} "
                                                       f"(DDL {int(x)})", i)
        if y < 0:
            raise ReadingError(_field(i, "luminance"), f"negative luminance {y:g} cd/m² at DDL {int(x)}", i)
    if levels is None:
        name, expected = level_set(d)
    else:
        name, expected = "custom", _check_levels(levels)
    d = d.astype(np.int64)
    seen: dict[int, int] = {}
    for i, x in enumerate(d.tolist()):
        if x in seen:
            raise ReadingError(_field(i, "ddl"), f"DDL {x} given twice (readings {seen[x]} and {i})", i)
        seen[x] = i
    wanted = set(expected.tolist())
    count = f"{name} needs {expected.size} readings at DDL {_level_list(expected)}; got {d.size}"
    for i, x in enumerate(d.tolist()):
        if x not in wanted:
            raise ReadingError(_field(i, "ddl"), f"DDL {x} is not a level of {name}: {count}", i)
    missing = [x for x in expected.tolist() if x not in seen]
    if missing:
        raise ReadingError("readings", f"missing DDL {', '.join(map(str, missing))}: {count}")
    order = np.argsort(d, kind="stable")
    d, lum = d[order], lum[order]
    for k in range(1, d.size):
        if lum[k] < lum[k - 1]:
            i = int(order[k])
            raise ReadingError(_field(i, "luminance"),
                               f"{lum[k]:g} cd/m² at DDL {d[k]} is below {lum[k - 1]:g} cd/m² at DDL "
                               f"{d[k - 1]}: luminance must not decrease as DDL increases "
                               f"(re-measure, or check the readings' order)", i)
    if lum[-1] <= lum[0]:
        raise ReadingError("readings", f"luminance does not increase from DDL {d[0]} "
                                       f"({lum[0]:g} cd/m²) to DDL {d[-1]} ({lum[-1]:g} cd/m²)")
    if lum[0] + lamb < LUMINANCE_LOW:
        i = int(order[0])
        raise ReadingError(_field(i, "luminance"),
                           f"L' = L + Lamb = {lum[0] + lamb:g} cd/m² at DDL {d[0]} is below the GSDF's "
                           f"{LUMINANCE_LOW:g} cd/m² (PS3.14 §7.1); give the ambient light (Lamb), "
                           f"which the viewer sees too", i)
    if lum[-1] + lamb > LUMINANCE_HIGH:
        i = int(order[-1])
        raise ReadingError(_field(i, "luminance"),
                           f"L' = L + Lamb = {lum[-1] + lamb:g} cd/m² at DDL {d[-1]} is above the "
                           f"GSDF's {LUMINANCE_HIGH:g} cd/m² (PS3.14 §7.1)", i)
    return Readings(name, d, lum, lamb, order)


def _check_levels(levels: ArrayLike) -> np.ndarray:
    lv = np.asarray(levels, dtype=np.float64)
    if lv.ndim != 1 or lv.size < 2 or not np.all(np.isfinite(lv)) or np.any(lv != np.round(lv)) \
            or lv.min() < 0 or np.any(np.diff(lv) <= 0):
        raise ParameterError("levels", "must be at least two integer DDLs ≥ 0, strictly increasing")
    return lv.astype(np.int64)


def _level_list(levels: np.ndarray) -> str:
    if levels.size <= 4:
        return ", ".join(map(str, levels.tolist()))
    return f"{levels[0]}, {levels[1]}, …, {levels[-1]}"


@dataclass(frozen=True, eq=False)
class LuminanceResponse:
    """The luminance response of a display against the GSDF (module docstring, steps 1–4).

    Per level (``n`` values): ``ddl``, ``luminance`` (as measured), ``luminance_prime`` (L'),
    ``jnd`` (j(L'), eq. 7-2) and ``target_luminance`` (the GSDF expectation ``Lg``, ambient
    included). Per interval (``n − 1`` values, interval k between levels k − 1 and k):
    ``contrast`` (measured dL/L), ``contrast_gsdf`` (dL/L of the GSDF), ``kappa``,
    ``jnd_step`` (measured ΔJ) and ``jnd_step_error`` (pacsDisplay's "JND per gray level"
    relative error, ``(ΔJ_k/Δp_k − jpp)/jpp``).
    """

    readings: Readings
    jnd: np.ndarray
    target_luminance: np.ndarray
    contrast: np.ndarray
    contrast_gsdf: np.ndarray
    kappa: np.ndarray
    jnd_step: np.ndarray
    jnd_step_error: np.ndarray

    @property
    def ddl(self) -> np.ndarray:
        return self.readings.ddl

    @property
    def luminance(self) -> np.ndarray:
        return self.readings.luminance

    @property
    def luminance_prime(self) -> np.ndarray:
        return self.readings.luminance_prime

    @property
    def ambient(self) -> float:
        return self.readings.ambient

    @property
    def lmin(self) -> float:
        """Luminance at the lowest level, without ambient light (cd/m²)."""
        return float(self.luminance[0])

    @property
    def lmax(self) -> float:
        """Luminance at the highest level, without ambient light (cd/m²)."""
        return float(self.luminance[-1])

    @property
    def lmin_prime(self) -> float:
        """``L'min = Lmin + Lamb`` (cd/m²)."""
        return float(self.luminance_prime[0])

    @property
    def lmax_prime(self) -> float:
        """``L'max = Lmax + Lamb`` (cd/m²)."""
        return float(self.luminance_prime[-1])

    @property
    def luminance_ratio(self) -> float:
        """``LR' = L'max / L'min``."""
        return self.lmax_prime / self.lmin_prime

    @property
    def ambient_ratio(self) -> float:
        """``Lamb / Lmin`` (pacsDisplay's AR = Lamb/(L'min − Lamb)); infinite when Lmin is 0."""
        return ambient_ratio(self.lmin, self.ambient)

    @property
    def ambient_fraction(self) -> float:
        """``Lamb / L'min``: the share of the darkest luminance that is reflected room light."""
        return self.ambient / self.lmin_prime

    @property
    def total_jnd(self) -> float:
        """``j(L'max) − j(L'min)``: JNDs the display spans (581.6 for L' 1 … 350 cd/m²)."""
        return float(self.jnd[-1] - self.jnd[0])

    @property
    def jnd_per_gray_level(self) -> float:
        """``jpp = total JNDs / (p_last − p_0)``: JNDs per DDL of the level set's bit depth."""
        return self.total_jnd / float(self.ddl[-1] - self.ddl[0])

    @property
    def max_abs_kappa(self) -> float:
        """``max_k |κ_k|``."""
        return float(np.max(np.abs(self.kappa)))

    @property
    def worst_interval(self) -> tuple[int, int]:
        """``(DDL from, DDL to)`` of the interval with the largest ``|κ|``."""
        k = int(np.argmax(np.abs(self.kappa)))
        return int(self.ddl[k]), int(self.ddl[k + 1])

    def as_dict(self) -> dict[str, object]:
        """The numbers as JSON-ready values (NaN and infinities as None)."""
        levels = [{"ddl": int(d), "luminance": float(lum), "luminance_prime": float(lp),
                   "jnd": float(j), "target_luminance": float(t)}
                  for d, lum, lp, j, t in zip(self.ddl, self.luminance, self.luminance_prime,
                                              self.jnd, self.target_luminance)]
        intervals = [{"from_ddl": int(self.ddl[k]), "to_ddl": int(self.ddl[k + 1]),
                      "contrast": float(self.contrast[k]), "contrast_gsdf": float(self.contrast_gsdf[k]),
                      "kappa": float(self.kappa[k]), "jnd_step": float(self.jnd_step[k]),
                      "jnd_step_error": float(self.jnd_step_error[k])}
                     for k in range(self.kappa.size)]
        worst_from, worst_to = self.worst_interval
        return {
            "level_set": self.readings.level_set,
            "ambient": self.ambient,
            "lmin": self.lmin, "lmax": self.lmax,
            "lmin_prime": self.lmin_prime, "lmax_prime": self.lmax_prime,
            "luminance_ratio": self.luminance_ratio,
            "ambient_ratio": finite_or_none(self.ambient_ratio),
            "ambient_fraction": self.ambient_fraction,
            "total_jnd": self.total_jnd,
            "jnd_per_gray_level": self.jnd_per_gray_level,
            "kappa": [float(k) for k in self.kappa],
            "max_abs_kappa": self.max_abs_kappa,
            "worst_interval": {"from_ddl": worst_from, "to_ddl": worst_to},
            "levels": levels,
            "intervals": intervals,
        }


def ambient_ratio(lmin: float, ambient: float) -> float:
    """``Lamb / Lmin`` with Lmin measured without ambient light; 0 without ambient light and
    infinite for a display whose Lmin reads 0 in a lit room."""
    if ambient == 0:
        return 0.0
    return float(ambient) / float(lmin) if lmin > 0 else float("inf")


def luminance_response(readings: Readings) -> LuminanceResponse:
    """Evaluate validated readings against the GSDF (module docstring, steps 1–4).

    Parameters
    ----------
    readings : Readings
        From :func:`check_readings`.

    Returns
    -------
    LuminanceResponse
    """
    p = readings.ddl.astype(np.float64)
    lp = readings.luminance_prime
    jnd = jnd_from_luminance(lp)
    jmin, jmax = float(jnd[0]), float(jnd[-1])
    jpp = (jmax - jmin) / (p[-1] - p[0])
    # j(L'max) may exceed 1023 by a fraction for the brightest displays (eq. 7-2 vs 7-1)
    target = luminance_from_jnd(np.clip(jmin + (p - p[0]) * jpp, JND_MIN, JND_MAX))
    contrast = _contrast(lp)
    contrast_gsdf = _contrast(target)
    step = np.diff(jnd)
    return LuminanceResponse(readings, jnd, target, contrast, contrast_gsdf,
                             contrast / contrast_gsdf - 1.0, step, (step / np.diff(p) - jpp) / jpp)


def _contrast(lum: np.ndarray) -> np.ndarray:
    """``dL/L`` of consecutive levels, ``2 (L_k − L_{k−1}) / (L_k + L_{k−1})`` (pacsDisplay)."""
    return 2.0 * np.diff(lum) / (lum[1:] + lum[:-1])


def ambient_checks(lmin: float, ambient: float, limits: QCLimits) -> tuple[Check, Check]:
    """The ambient-light criteria: ``Lamb/Lmin < 2/3`` (limit) and ``< 1/4`` (recommendation)."""
    ratio = ambient_ratio(lmin, ambient)
    return (judge("max_ambient_ratio", ratio, limits, "<"),
            judge("recommended_ambient_ratio", ratio, limits, "<", kind="recommendation"))


def response_checks(response: LuminanceResponse, limits: QCLimits) -> tuple[Check, ...]:
    """Every criterion of the luminance response test (reference display-qc.md §3 and §8)."""
    return (judge("contrast_response", response.max_abs_kappa, limits, "<="),
            judge("min_luminance_ratio", response.luminance_ratio, limits, ">="),
            judge("min_lmax_prime", response.lmax_prime, limits, ">="),
            *ambient_checks(response.lmin, response.ambient, limits))


@dataclass(frozen=True, eq=False)
class DisplayEvaluation:
    """A luminance response judged against a display class's limits."""

    response: LuminanceResponse
    display_class: DisplayClass
    limits: QCLimits
    checks: tuple[Check, ...]

    @property
    def passed(self) -> bool:
        """True when every limit is met (recommendations only warn)."""
        return overall_pass(self.checks)

    @property
    def warnings(self) -> tuple[str, ...]:
        """One sentence per recommendation that is not met."""
        return tuple(f"{c.name}: {c.value:.3g} is not {c.comparison} {c.limit:.3g} (recommended)"
                     for c in self.checks if c.kind == "recommendation" and c.passed is False)

    def as_dict(self) -> dict[str, object]:
        """The JSON of ``printserver qc evaluate --json`` and ``POST /api/qc/evaluate``."""
        out = {"display_class": self.display_class.value, **self.response.as_dict()}
        out.update(checks=[c.as_dict() for c in self.checks], limits=self.limits.as_dict(),
                   warnings=list(self.warnings), **{"pass": self.passed})
        return out


def evaluate_display(ddl: ArrayLike, luminance: ArrayLike, ambient: float = 0.0,
                     display_class: "str | DisplayClass" = DisplayClass.PRIMARY,
                     limits: QCLimits | None = None, levels: ArrayLike | None = None
                     ) -> DisplayEvaluation:
    """Validate, evaluate and judge a display's TG18-LN readings: the whole 18-point test.

    Parameters
    ----------
    ddl, luminance : array_like
        The readings (luminance without ambient light, cd/m²), in any order.
    ambient : float
        Reflected ambient light Lamb, cd/m².
    display_class : {"primary", "secondary"}
        Chooses the default limits (:data:`printserver.gsdf.qc_limits.DEFAULT_LIMITS`).
    limits : QCLimits, optional
        Limits to use instead of the class's defaults.
    levels : array_like, optional
        Expected level set other than TG18's (see :func:`check_readings`).

    Raises
    ------
    ReadingError, ParameterError
        Invalid readings, ambient light or display class, naming the field.
    """
    return evaluate_readings(check_readings(ddl, luminance, ambient, levels), display_class, limits)


def evaluate_readings(readings: Readings,
                      display_class: "str | DisplayClass" = DisplayClass.PRIMARY,
                      limits: QCLimits | None = None) -> DisplayEvaluation:
    """:func:`evaluate_display` for readings already validated (e.g. read from a CSV file by
    :func:`printserver.gsdf.readings.parse_readings_csv`)."""
    cls = DisplayClass.parse(display_class)
    limits = QCLimits.for_class(cls) if limits is None else limits
    response = luminance_response(readings)
    return DisplayEvaluation(response, cls, limits, response_checks(response, limits))
