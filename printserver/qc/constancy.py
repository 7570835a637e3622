"""Film printer constancy records: measurements of a printed step wedge against the printer's
baseline (:mod:`printserver.gsdf.film_constancy` has the quantities, the aims and the limits).

* The first measurement of a printer (all 18 steps) becomes its **baseline**: the steps closest to
  the aims are chosen, its base + fog, mid density and density difference are the reference, and
  the limits (defaults, or ``limits`` overrides) are kept with it.
* Later measurements need only the tracked steps (and base + fog, or step 18); each is judged
  against the baseline of the time and stored with its checks and pass / fail.
* :meth:`FilmConstancyService.set_baseline` makes another measurement the baseline (after a
  recalibration, a new film batch), optionally with other limits or steps.

The newest measurement of each printer that failed shows in
:meth:`printserver.qc.services.QCServices.out_of_limit`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from printserver.config import Config, PrinterConfig
from printserver.errors import ParameterError
from printserver.gsdf.film_calibration import WEDGE_STEPS
from printserver.gsdf.readings import csv_pairs, reading_lines
from printserver.gsdf.film_constancy import (DEFAULT_CONSTANCY_LIMITS, ConstancyLimits,
                                             ConstancySteps, check_step_densities, choose_steps,
                                             constancy_values, evaluate_constancy)
from printserver.qc.errors import UnknownRecordError
from printserver.qc.fields import (Field, clean, limit_overrides, printer_of, reading_pairs,
                                   readings_source)
from printserver.qc.records import FilmBaseline, FilmMeasurement
from printserver.qc.sessions import parse_time
from printserver.qc.store import QCStore

log = logging.getLogger(__name__)

CONSTANCY_FIELDS = (
    Field("base_fog", "number", minimum=0, maximum=10),
    Field("notes", max_length=2000, multiline=True, default=""),
    Field("readings_csv", max_length=20_000, multiline=True),
)
CONSTANCY_INPUTS = tuple(f.name for f in CONSTANCY_FIELDS) + ("readings", "measured_at", "limits")


def check_limit_overrides(limits: Any, base: ConstancyLimits = DEFAULT_CONSTANCY_LIMITS
                          ) -> ConstancyLimits:
    """``base`` with overrides (:func:`~printserver.qc.fields.limit_overrides`: errors name
    ``limits.<name>``)."""
    return base.with_overrides(limit_overrides(limits, base))


def step_densities(inputs: Mapping[str, Any], csv_text: str | None,
                   required: tuple[int, ...]) -> dict[int, float]:
    """The measured steps from ``readings`` (``{step, density}`` mappings or pairs) or a CSV
    ``step,density`` text; errors name ``readings[i].…`` or the CSV line."""
    if readings_source(inputs, "the densities of the wedge's steps") == "readings":
        steps, density = reading_pairs(inputs["readings"], ("step", "density"))
        return check_step_densities(steps, density, required)
    name = "densities.csv"
    keys, values, lines = csv_pairs(csv_text or "", ("step", "density"), name)
    with reading_lines(name, lines):
        return check_step_densities(keys, values, required)


class FilmConstancyService:
    """Film constancy measurements and baselines per printer (every output kind)."""

    def __init__(self, config: Config, store: QCStore) -> None:
        self.config = config
        self.store = store

    def printer(self, ae_title: str) -> PrinterConfig:
        """The printer ``ae_title`` (exactly). Raises :class:`UnknownPrinterError`."""
        return printer_of(self.config, ae_title)

    def record(self, ae_title: str, inputs: Mapping[str, Any], actor: str) -> FilmMeasurement:
        """Check, evaluate and store a measurement (module docstring).

        ``inputs``: ``readings`` or ``readings_csv`` (``step,density``), ``base_fog`` (OD; default
        the density of step 18), ``measured_at``, ``notes``, and for a printer's first measurement
        ``limits`` (overrides of the default constancy limits).

        Raises
        ------
        UnknownPrinterError
        ParameterError, InputFileError
            Bad input, naming the field or the CSV line; nothing is stored.
        """
        printer = self.printer(ae_title)
        if not actor or not str(actor).strip():
            raise ParameterError("actor", "who measured is required")
        unknown = [k for k in inputs if k not in CONSTANCY_INPUTS]
        if unknown:
            raise ParameterError(str(unknown[0]), f"not a field (known: {', '.join(CONSTANCY_INPUTS)})")
        fields = clean(CONSTANCY_FIELDS, {k: v for k, v in inputs.items()
                                          if k in {f.name for f in CONSTANCY_FIELDS}})
        measured_at = parse_time(inputs.get("measured_at"))
        baseline = self.store.baseline(printer.ae_title)
        actor = str(actor).strip()[:64]
        if baseline is None:
            limits = check_limit_overrides(inputs.get("limits"))
            density = step_densities(inputs, fields["readings_csv"], tuple(range(1, WEDGE_STEPS + 1)))
            steps = choose_steps([density[s] for s in range(1, WEDGE_STEPS + 1)])
            values = constancy_values(density, steps, fields["base_fog"])
            checks = evaluate_constancy(values, values, limits)
            measurement, _ = self.store.add_measurement(
                printer.ae_title, actor, measured_at, density, values, [c.as_dict() for c in checks],
                True, fields["notes"], new_baseline=(steps, limits))
            log.info("printer %s: first film constancy measurement, baseline set by %s",
                     printer.ae_title, actor)
            return measurement
        if inputs.get("limits") not in (None, "", {}):
            raise ParameterError("limits", "the limits are the baseline's: set a new baseline to "
                                           "change them")
        required = (baseline.steps.low, baseline.steps.mid, baseline.steps.high) + (
            (WEDGE_STEPS,) if fields["base_fog"] is None else ())
        density = step_densities(inputs, fields["readings_csv"], tuple(sorted(set(required))))
        values = constancy_values(density, baseline.steps, fields["base_fog"])
        checks = evaluate_constancy(values, baseline.values, baseline.limits)
        passed = all(c.passed is not False for c in checks)
        measurement, _ = self.store.add_measurement(
            printer.ae_title, actor, measured_at, density, values, [c.as_dict() for c in checks],
            passed, fields["notes"], baseline_id=baseline.baseline_id)
        if not passed:
            log.warning("printer %s: film constancy out of limits: %s", printer.ae_title,
                        ", ".join(measurement.failures))
        return measurement

    def set_baseline(self, ae_title: str, actor: str, measurement_id: int | None = None, *,
                     limits: Mapping[str, Any] | None = None,
                     steps: Mapping[str, int] | None = None) -> FilmBaseline:
        """Make a stored measurement (default: the newest) the printer's baseline.

        The tracked steps are ``steps`` (``{"low", "mid", "high"}``), else chosen again when the
        measurement has all 18 steps, else the current baseline's; the limits are the overrides
        given on the current baseline's (or the defaults).

        Raises
        ------
        UnknownPrinterError, UnknownRecordError, ParameterError
        """
        printer = self.printer(ae_title)
        if measurement_id is None:
            newest = self.store.measurements(printer.ae_title, 1)
            if not newest:
                raise UnknownRecordError(f"printer {printer.ae_title} has no film measurement")
            measurement = newest[0]
        else:
            found = self.store.measurement(int(measurement_id))
            if found is None or found.printer != printer.ae_title:
                raise UnknownRecordError(f"printer {printer.ae_title} has no film measurement "
                                         f"{measurement_id}")
            measurement = found
        current = self.store.baseline(printer.ae_title)
        chosen = self._steps(steps, measurement, current)
        # base + fog as the measurement recorded it (given, or its step 18)
        values = constancy_values(measurement.readings, chosen, measurement.values.base_fog)
        new_limits = check_limit_overrides(limits, current.limits if current else
                                           DEFAULT_CONSTANCY_LIMITS)
        baseline = self.store.add_baseline(printer.ae_title, str(actor).strip()[:64],
                                           measurement.measurement_id, chosen, values, new_limits)
        log.info("printer %s: film baseline set by %s from measurement %d", printer.ae_title,
                 actor, measurement.measurement_id)
        return baseline

    @staticmethod
    def _steps(steps: Mapping[str, int] | None, measurement: FilmMeasurement,
               current: FilmBaseline | None) -> ConstancySteps:
        if steps:
            f = {name: Field(f"steps.{name}", "number", required=True, minimum=1,
                             maximum=WEDGE_STEPS) for name in ("low", "mid", "high")}
            unknown = set(steps) - set(f)
            if unknown:
                raise ParameterError(f"steps.{sorted(unknown)[0]}", "not a step (low, mid, high)")
            chosen = ConstancySteps(*(int(f[n].clean(steps.get(n))) for n in ("low", "mid", "high")))
        elif len(measurement.readings) == WEDGE_STEPS:
            chosen = choose_steps([measurement.readings[s] for s in range(1, WEDGE_STEPS + 1)])
        elif current is not None:
            chosen = current.steps
        else:
            raise ParameterError("steps", "the measurement has not all steps: name the steps")
        missing = [s for s in (chosen.low, chosen.mid, chosen.high) if s not in measurement.readings]
        if missing:
            raise ParameterError("steps", f"measurement {measurement.measurement_id} has no "
                                          f"reading of step {missing[0]}")
        return chosen

    def baseline(self, ae_title: str) -> FilmBaseline | None:
        """The printer's current baseline, or None before its first measurement."""
        return self.store.baseline(self.printer(ae_title).ae_title)

    def get(self, measurement_id: int) -> FilmMeasurement:
        """Raises :class:`UnknownRecordError`."""
        found = self.store.measurement(int(measurement_id))
        if found is None:
            raise UnknownRecordError(f"no film measurement {measurement_id}")
        return found

    def history(self, ae_title: str, limit: int = 100) -> list[FilmMeasurement]:
        """The printer's measurements, newest first."""
        if not 1 <= int(limit) <= 1000:
            raise ParameterError("limit", f"must be 1 … 1000; got {limit}")
        return self.store.measurements(self.printer(ae_title).ae_title, int(limit))
