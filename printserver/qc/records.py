"""The QC records as plain dataclasses: displays, QC sessions, film constancy baselines and
measurements. ``to_dict()`` gives the JSON the API and the pages use (key lists in
``docs/qc.md``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from printserver.gsdf.film_constancy import (ConstancyLimits, ConstancySteps, ConstancyValues)
from printserver.gsdf.qc_limits import QCLimits


@dataclass(frozen=True)
class Display:
    """A display in the QC registry.

    Attributes
    ----------
    display_id : int
    name : str
        Unique in the registry.
    workstation, location : str
    display_class : str
        ``primary`` or ``secondary`` (AAPM TG18 §2): chooses the default limits.
    target_lmax, target_luminance_ratio : float or None
        The L'max (cd/m²) and LR' the display is calibrated to; reported beside the measured ones.
    limits : dict
        Overrides of the class's default QC limits (:class:`~printserver.gsdf.qc_limits.QCLimits`
        field → value, None switching a criterion off).
    notes : str
    retired : bool
        Out of service: kept with its history, not listed by default, not on the dashboard.
    created_at, created_by, updated_at : str
    """

    display_id: int
    name: str
    workstation: str
    location: str
    display_class: str
    target_lmax: float | None
    target_luminance_ratio: float | None
    limits: Mapping[str, float | None]
    notes: str
    retired: bool
    created_at: str
    created_by: str
    updated_at: str

    @property
    def qc_limits(self) -> QCLimits:
        """The limits a session of this display is judged against now."""
        return QCLimits.for_class(self.display_class).with_overrides(self.limits)

    def to_dict(self) -> dict[str, Any]:
        return {"display_id": self.display_id, "name": self.name,
                "workstation": self.workstation, "location": self.location,
                "display_class": self.display_class, "target_lmax": self.target_lmax,
                "target_luminance_ratio": self.target_luminance_ratio,
                "limits": dict(self.limits), "effective_limits": self.qc_limits.as_dict(),
                "notes": self.notes, "retired": self.retired, "created_at": self.created_at,
                "created_by": self.created_by, "updated_at": self.updated_at}


@dataclass(frozen=True)
class QCSession:
    """One QC session of a display: what was measured and the results computed when it was saved.

    Attributes
    ----------
    session_id, display_id : int
    measured_at, recorded_at : str
        When the readings were taken and when they were saved (ISO 8601 UTC).
    measured_by : str
        The user who recorded the session (the service's ``actor``).
    photometer_model, photometer_serial : str
    ambient : float
        Reflected ambient light Lamb, cd/m².
    display_class : str
        The class the session was judged as.
    level_set : str
        ``TG18-LN8`` or ``TG18-LN12``.
    readings : tuple of (int, float)
        (DDL, luminance without ambient light) in DDL order.
    uniformity : dict
        ``{"UN10": [cd/m², …], "UN80": [...]}`` (5 or 9 points each; either may be absent).
    visual : dict
        ``{"TG18-QC": {"passed": bool or None, "comment": str}, ...}``.
    results : dict
        ``evaluation`` (:meth:`DisplayEvaluation.as_dict`, the JSON of ``POST /api/qc/evaluate``),
        ``uniformity`` (per level, :meth:`Uniformity.as_dict`), ``visual``, ``targets``,
        ``limits`` (those used), ``failures`` (names of the failed criteria) and ``pass``.
    passed : bool
    lmax_prime, luminance_ratio, max_abs_kappa : float
    notes : str
    """

    session_id: int
    display_id: int
    measured_at: str
    recorded_at: str
    measured_by: str
    photometer_model: str
    photometer_serial: str
    ambient: float
    display_class: str
    level_set: str
    readings: tuple[tuple[int, float], ...]
    uniformity: Mapping[str, tuple[float, ...]]
    visual: Mapping[str, Mapping[str, Any]]
    results: Mapping[str, Any]
    passed: bool
    lmax_prime: float
    luminance_ratio: float
    max_abs_kappa: float
    notes: str = ""

    @property
    def evaluation(self) -> Mapping[str, Any]:
        """The luminance response evaluation as ``POST /api/qc/evaluate`` answers it."""
        return self.results["evaluation"]

    @property
    def ddl(self) -> list[int]:
        return [d for d, _ in self.readings]

    @property
    def luminance(self) -> list[float]:
        return [lum for _, lum in self.readings]

    def to_dict(self) -> dict[str, Any]:
        return {"session_id": self.session_id, "display_id": self.display_id,
                "measured_at": self.measured_at, "recorded_at": self.recorded_at,
                "measured_by": self.measured_by, "photometer_model": self.photometer_model,
                "photometer_serial": self.photometer_serial, "ambient": self.ambient,
                "display_class": self.display_class, "level_set": self.level_set,
                "readings": [{"ddl": d, "luminance": lum} for d, lum in self.readings],
                "uniformity": {k: list(v) for k, v in self.uniformity.items()},
                "visual": {k: dict(v) for k, v in self.visual.items()},
                "results": self.results, "pass": self.passed, "lmax_prime": self.lmax_prime,
                "luminance_ratio": self.luminance_ratio, "max_abs_kappa": self.max_abs_kappa,
                "notes": self.notes}


@dataclass(frozen=True)
class HistoryPoint:
    """One session in a display's history (the trend plots)."""

    session_id: int
    measured_at: str
    lmax_prime: float
    luminance_ratio: float
    max_abs_kappa: float
    passed: bool

    def to_dict(self) -> dict[str, Any]:
        return {"session_id": self.session_id, "measured_at": self.measured_at,
                "lmax_prime": self.lmax_prime, "luminance_ratio": self.luminance_ratio,
                "max_abs_kappa": self.max_abs_kappa, "pass": self.passed}


@dataclass(frozen=True)
class FilmBaseline:
    """A printer's film constancy baseline: the steps tracked, their values and the limits.

    ``measurement_id`` is the measurement it was taken from (None for values entered directly).
    """

    baseline_id: int
    printer: str
    set_at: str
    set_by: str
    measurement_id: int | None
    steps: ConstancySteps
    values: ConstancyValues
    limits: ConstancyLimits

    def to_dict(self) -> dict[str, Any]:
        return {"baseline_id": self.baseline_id, "printer": self.printer, "set_at": self.set_at,
                "set_by": self.set_by, "measurement_id": self.measurement_id,
                "steps": self.steps.as_dict(), "values": self.values.as_dict(),
                "limits": self.limits.as_dict()}


@dataclass(frozen=True)
class FilmMeasurement:
    """One film constancy measurement judged against the printer's baseline of the time.

    ``readings`` maps step (1 … 18) → density; ``checks`` are
    :meth:`~printserver.gsdf.film_constancy.ConstancyCheck.as_dict` dictionaries.
    """

    measurement_id: int
    printer: str
    measured_at: str
    measured_by: str
    baseline_id: int
    readings: Mapping[int, float]
    values: ConstancyValues
    checks: tuple[Mapping[str, Any], ...]
    passed: bool
    notes: str = ""
    failures: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "failures", tuple(c["name"] for c in self.checks
                                                   if c.get("passed") is False))

    def to_dict(self) -> dict[str, Any]:
        return {"measurement_id": self.measurement_id, "printer": self.printer,
                "measured_at": self.measured_at, "measured_by": self.measured_by,
                "baseline_id": self.baseline_id,
                "readings": [{"step": s, "density": d} for s, d in sorted(self.readings.items())],
                "values": self.values.as_dict(), "checks": [dict(c) for c in self.checks],
                "pass": self.passed, "failures": list(self.failures), "notes": self.notes}
