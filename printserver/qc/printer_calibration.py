"""Film and paper printer calibration with a densitometer: print the step wedge, enter its
densities, store the printer's characteristic curve and calibration LUT as a new version.

The workflow (``docs/qc.md`` §6):

1. :meth:`PrinterCalibrationService.print_step_wedge` registers a wedge
   (:class:`~printserver.jobs.printer_calibrations.StepWedge`) and prints the ``STEP-WEDGE``
   pattern through printserver's own Print SCU to the printer's AE title on printserver's own SCP
   (the path a modality's film takes), with the Film Session Label ``STEP WEDGE <id>``: the
   worker renders that job uncalibrated, each step's P-value sent as the device's drive level;
2. the operator reads the 18 steps with a densitometer;
3. :meth:`PrinterCalibrationService.record` checks the readings (a list, or CSV ``step,density`` /
   ``pvalue,density``; errors name the reading or the line), computes the curve and the LUT
   (:func:`printserver.gsdf.film_calibration.printer_calibration`) and stores them as the printer's
   next version, with who and when. The worker applies the newest version from the next job on
   (it takes precedence over the printer's ``characteristic_file``), each film records the version
   it was rendered through, and Printer N-GET answers Date / Time of Last Calibration from it.

Only printers whose output printserver drives (``pdf`` and ``cups``) take a calibration: a DICOM
film printer or a PACS receives P-values and applies its own calibration
(:class:`~printserver.qc.errors.CalibrationNotApplicable`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from printserver.config import Config, PrinterConfig
from printserver.errors import ParameterError, PrintserverError
from printserver.gsdf.film_calibration import (HEADERS, PrinterCalibration, WedgeReadings,
                                               check_wedge_readings, parse_wedge_csv,
                                               printer_calibration, wedge_pvalues)
from printserver.jobs.printer_calibrations import (PrinterCalibrationRecord, PrinterCalibrations,
                                                   StepWedge)
from printserver.jobs.store import JobStore
from printserver.layout.step_wedge import NAME as WEDGE_PATTERN
from printserver.qc.errors import CalibrationNotApplicable, UnknownRecordError
from printserver.qc.fields import Field, clean, printer_of, reading_pairs, readings_source

log = logging.getLogger(__name__)

#: output kinds whose device printserver drives through a device profile
CALIBRATED_OUTPUTS = ("pdf", "cups")
#: bits of the wedge printserver prints (P-values 0, 15, …, 255)
WEDGE_BITS = 8

CALIBRATION_FIELDS = (
    Field("by", "choice", choices=tuple(HEADERS), default="step"),
    Field("wedge_id", max_length=32, default=""),
    Field("notes", max_length=2000, multiline=True, default=""),
    Field("readings_csv", max_length=20_000, multiline=True),
)
CALIBRATION_INPUTS = tuple(f.name for f in CALIBRATION_FIELDS) + ("readings",)


class WedgePrintError(PrintserverError):
    """The step wedge could not be printed (the message says what the SCP answered)."""


@dataclass(frozen=True)
class WedgePrint:
    """A step wedge sent to a printer: the wedge (with its job id) and what the SCP answered
    (:meth:`printserver.scu.result.PrintResult.to_dict`)."""

    wedge: StepWedge
    result: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"wedge": self.wedge.to_dict(), "result": dict(self.result)}


@dataclass(frozen=True, eq=False)
class CalibrationView:
    """A stored calibration with what follows from its readings (curve, LUT, predicted densities)."""

    record: PrinterCalibrationRecord
    analysis: PrinterCalibration

    def lut_table(self, every: int = 15) -> list[dict[str, float]]:
        """Every ``every``-th input level (and the last): input P-value, drive level, target and
        predicted density (the report's LUT summary)."""
        a = self.analysis
        inputs = sorted(set(range(0, a.lut.levels, every)) | {a.lut.levels - 1})
        return [{"input": i, "ddl": int(a.lut.output[i]), "target_od": float(a.target_od[i]),
                 "predicted_od": float(a.predicted_od[i])} for i in inputs]

    def to_dict(self) -> dict[str, Any]:
        """The record (:meth:`PrinterCalibrationRecord.to_dict`) plus ``steps`` (step, P-value,
        drive level, density), ``max_od_error`` and ``lut_table``."""
        a = self.analysis
        steps = [{"step": int(s), "pvalue": int(p), "ddl": int(d), "density": float(od)}
                 for s, p, d, od in zip(a.readings.steps, wedge_pvalues(WEDGE_BITS),
                                        a.readings.ddl, a.readings.density)]
        return {**self.record.to_dict(), "steps": steps, "max_od_error": a.max_od_error,
                "lut_table": self.lut_table()}


def analyse(record: PrinterCalibrationRecord) -> PrinterCalibration:
    """Curve, LUT and predicted densities of a stored calibration, from its readings."""
    readings = check_wedge_readings(range(1, len(record.readings) + 1), record.readings)
    return printer_calibration(readings, record.illumination, record.ambient,
                               f"printer {record.printer} calibration {record.version}")


def check_wedge_list(readings: Any, by: str, bits: int | None) -> WedgeReadings:
    """Wedge readings as a list of ``{"step"|"pvalue", "density"}`` mappings or ``(step,
    density)`` pairs; errors name ``readings[i].step`` (or ``.pvalue``, ``.density``)."""
    keys, density = reading_pairs(readings, (by, "density"))
    return check_wedge_readings(keys, density, by, bits)


class PrinterCalibrationService:
    """Step wedges, calibration versions and their analysis, per printer.

    Parameters
    ----------
    config
        The printers, the SCP's address (the wedge is printed to it) and ``[qc]``.
    calibrations
        The calibration records of the job store.
    jobs
        The job store (to find the wedge's job by its Print Job UID).
    """

    def __init__(self, config: Config, calibrations: PrinterCalibrations, jobs: JobStore) -> None:
        self.config = config
        self.calibrations = calibrations
        self.jobs = jobs

    def printer(self, ae_title: str) -> PrinterConfig:
        """The printer ``ae_title`` (exactly). Raises :class:`UnknownPrinterError`."""
        return printer_of(self.config, ae_title)

    def _calibratable(self, ae_title: str) -> PrinterConfig:
        printer = self.printer(ae_title)
        kind = printer.output.kind.strip().lower()
        if kind not in CALIBRATED_OUTPUTS:
            raise CalibrationNotApplicable(
                "printer", f"{printer.ae_title} sends its films to a {kind} output, which receives "
                           f"P-values and calibrates itself; only pdf and cups printers take a "
                           f"calibration (film constancy works for every printer)")
        return printer

    # -- the step wedge --------------------------------------------------------------------------
    def print_step_wedge(self, ae_title: str, actor: str, *, host: str | None = None,
                         port: int | None = None, calling_ae: str | None = None,
                         timeout: float = 30.0) -> WedgePrint:
        """Register a step wedge and print it on ``ae_title`` through printserver's own Print SCU
        and SCP (module docstring).

        Parameters
        ----------
        host, port
            The SCP; default the configured DICOM port on this machine (127.0.0.1 when the SCP
            listens on every address). The SCP must not require TLS (the Print SCU has none).
        calling_ae
            Default ``[qc] calling_ae``.

        Raises
        ------
        UnknownPrinterError, CalibrationNotApplicable
        WedgePrintError
            The SCP could not be reached or answered a failure (the wedge stays registered,
            unprinted).
        """
        from printserver.scu.images import ImageSource, pattern_image
        from printserver.scu.session import FilmOptions, PrintSCU

        printer = self._calibratable(ae_title)
        wedge = self.calibrations.add_wedge(printer.ae_title, actor, WEDGE_BITS)
        listen = self.config.dicom.host
        host = host or ("127.0.0.1" if listen in ("", "0.0.0.0") else "::1" if listen == "::"
                        else listen)
        scu = PrintSCU(host, int(port or self.config.dicom.port), printer.ae_title,
                       calling_ae or self.config.qc.calling_ae, timeout=timeout,
                       kind="printserver SCP")
        source = ImageSource(f"pattern {WEDGE_PATTERN}",
                             lambda: pattern_image(WEDGE_PATTERN, WEDGE_BITS))
        try:
            result = scu.print([source], FilmOptions(film_session_label=wedge.film_session_label),
                               fill_boxes=True)
        except PrintserverError as exc:
            raise WedgePrintError(f"printing step wedge {wedge.wedge_id} on {printer.ae_title}: "
                                  f"{exc}") from exc
        if result.exit_status != 0:
            answers = "; ".join(f"{r.operation} {r.sop_class}: {r.meaning}" for r in result.failures)
            raise WedgePrintError(f"printing step wedge {wedge.wedge_id} on {printer.ae_title}: "
                                  f"{answers or result.problem}")
        job_id = ""
        for uid in result.print_job_uids:
            job = self.jobs.get_by_uid(uid)
            if job is not None:
                job_id = job.job_id
                self.calibrations.set_wedge_job(wedge.wedge_id, job_id)
                break
        log.info("step wedge %s printed on %s by %s as job %s", wedge.wedge_id, printer.ae_title,
                 actor or "?", job_id or "?")
        return WedgePrint(replace(wedge, job_id=job_id), result.to_dict())

    def wedges(self, ae_title: str) -> list[StepWedge]:
        """The printer's newest step wedges, newest first."""
        return self.calibrations.wedges(self.printer(ae_title).ae_title)

    # -- calibrations ----------------------------------------------------------------------------
    def check(self, ae_title: str, inputs: Mapping[str, Any]) -> tuple[PrinterConfig,
                                                                       WedgeReadings, dict]:
        """Check a calibration's input (keys :data:`CALIBRATION_INPUTS`: ``readings`` or
        ``readings_csv``, ``by``, ``wedge_id``, ``notes``); nothing is saved."""
        printer = self._calibratable(ae_title)
        unknown = [k for k in inputs if k not in CALIBRATION_INPUTS]
        if unknown:
            raise ParameterError(str(unknown[0]), f"not a field (known: {', '.join(CALIBRATION_INPUTS)})")
        fields = clean(CALIBRATION_FIELDS, {k: v for k, v in inputs.items() if k != "readings"})
        bits = None
        if fields["wedge_id"]:
            wedge = self.calibrations.wedge(fields["wedge_id"].upper())
            if wedge is None or wedge.printer != printer.ae_title:
                raise ParameterError("wedge_id", f"no step wedge {fields['wedge_id']!r} was printed "
                                                 f"on {printer.ae_title}")
            fields["wedge_id"], bits = wedge.wedge_id, wedge.bits
        if readings_source(inputs, "the densities of the 18 steps") == "readings":
            readings = check_wedge_list(inputs["readings"], fields["by"], bits)
        else:
            readings = parse_wedge_csv(fields["readings_csv"], "densities.csv", bits)
        return printer, readings, fields

    def preview(self, ae_title: str, inputs: Mapping[str, Any]) -> PrinterCalibration:
        """The curve and LUT the input would give, without saving it."""
        printer, readings, _ = self.check(ae_title, inputs)
        return printer_calibration(readings, printer.illumination, printer.reflected_ambient_light)

    def record(self, ae_title: str, inputs: Mapping[str, Any], actor: str) -> CalibrationView:
        """Check the densities, compute the curve and the LUT, store them as the printer's next
        version (module docstring). Applied by the worker from the next job on.

        Raises
        ------
        UnknownPrinterError, CalibrationNotApplicable
        ParameterError, InputFileError
            Bad input, naming the field or the CSV line; nothing is stored.
        """
        if not actor or not str(actor).strip():
            raise ParameterError("actor", "who measured is required")
        printer, readings, fields = self.check(ae_title, inputs)
        analysis = printer_calibration(readings, printer.illumination,
                                       printer.reflected_ambient_light,
                                       f"printer {printer.ae_title} calibration")
        curve = analysis.curve
        record = self.calibrations.add(
            printer.ae_title, str(actor).strip()[:64], readings=readings.density.tolist(),
            ddl=curve.ddl.tolist(), od=curve.values.tolist(), max_ddl=curve.max_ddl,
            illumination=printer.illumination, ambient=printer.reflected_ambient_light,
            dmin=analysis.dmin, dmax=analysis.dmax, lut=analysis.lut.output.tolist(),
            wedge_id=fields["wedge_id"], notes=fields["notes"])
        log.info("printer %s: calibration version %d recorded by %s (%.2f–%.2f OD)",
                 printer.ae_title, record.version, actor, analysis.dmin, analysis.dmax)
        return CalibrationView(record, analysis)

    def current(self, ae_title: str) -> CalibrationView | None:
        """The version applied to the printer's next films, or None."""
        record = self.calibrations.newest(self.printer(ae_title).ae_title)
        return CalibrationView(record, analyse(record)) if record is not None else None

    def get(self, ae_title: str, version: int) -> CalibrationView:
        """Raises :class:`UnknownRecordError`."""
        printer = self.printer(ae_title)
        record = self.calibrations.get(printer.ae_title, int(version))
        if record is None:
            raise UnknownRecordError(f"printer {printer.ae_title} has no calibration {version}")
        return CalibrationView(record, analyse(record))

    def history(self, ae_title: str) -> list[PrinterCalibrationRecord]:
        """Every version of the printer, newest first."""
        return self.calibrations.history(self.printer(ae_title).ae_title)


def film_density_check(view: CalibrationView, min_density: int, max_density: int) -> str:
    """A warning when a printer's configured density range (hundredths of OD) asks for more than
    the calibration measured (films are then clipped to what the printer reaches); else ''."""
    low, high = min_density / 100.0, max_density / 100.0
    parts = []
    if high > view.analysis.dmax + 0.005:
        parts.append(f"max_density {high:.2f} OD is darker than the measured {view.analysis.dmax:.2f}")
    if low < view.analysis.dmin - 0.005:
        parts.append(f"min_density {low:.2f} OD is lighter than the measured {view.analysis.dmin:.2f}")
    return ("; ".join(parts) + ": such densities are printed as the nearest the printer reaches"
            if parts else "")


__all__ = ["CALIBRATED_OUTPUTS", "CalibrationView", "PrinterCalibrationService", "WedgePrint",
           "WedgePrintError", "analyse", "check_wedge_list", "film_density_check"]
