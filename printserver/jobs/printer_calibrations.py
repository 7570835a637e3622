"""Printer calibrations in the job store: the versions of each printer's measured curve, and the
calibration step wedges printed to measure it.

``printserver.qc`` computes a calibration from a densitometer's readings and adds it here
(:meth:`PrinterCalibrations.add`: the next version, in one transaction). Two readers below the
QC services use it:

* the render worker, for every job (:meth:`PrinterCalibrations.for_render`, one indexed query):
  the newest version's curve is applied from the next job on; a job whose Film Session Label
  names a step wedge registered here for its printer (``STEP WEDGE <id>``,
  :meth:`PrinterCalibrations.add_wedge`) is rendered **uncalibrated**, so that the wedge measures
  the device itself. The label is only honoured for a wedge this store issued (its id is random),
  so a modality cannot switch its films to uncalibrated output;
* the Print SCP's Printer N-GET, for Date / Time of Last Calibration (0018,1200) / (0018,1201)
  (:meth:`PrinterCalibrations.last_calibrated`).

A version is never changed or removed: the history is the record of what was applied when.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, func, select, update

from printserver.jobs.database import Database
from printserver.jobs.errors import JobStoreError
from printserver.jobs.schema import now, printer_calibrations, step_wedges
from printserver.layout.job_render import CALIBRATION_KEY

__all__ = ["CALIBRATION_KEY", "PrinterCalibrationRecord", "PrinterCalibrations", "StepWedge",
           "WEDGE_LABEL_PREFIX"]

#: Film Session Label of a calibration wedge: this prefix and the wedge's id
WEDGE_LABEL_PREFIX = "STEP WEDGE "
#: tries to add a version when another node added one at the same moment (PostgreSQL)
_ADD_TRIES = 3

_NEWEST = (select(printer_calibrations).where(printer_calibrations.c.printer == bindparam("ae"))
           .order_by(printer_calibrations.c.version.desc()).limit(1))


class CalibrationConflict(JobStoreError):
    """Another calibration of the same printer was stored at the same moment, every time we tried."""


@dataclass(frozen=True)
class PrinterCalibrationRecord:
    """One stored version of a printer's calibration.

    Attributes
    ----------
    printer : str
        The printer's AE title.
    version : int
        1, 2, … per printer; the newest is applied.
    created_at, created_by : str
        When (ISO 8601 UTC) and by whom it was recorded.
    wedge_id : str
        The step wedge measured (empty when the readings came without one).
    readings : tuple of float
        The densities of steps 1 … 18 as entered.
    ddl, od : tuple
        The characteristic curve: drive levels and densities (what the renderer interpolates).
    max_ddl : int
    illumination, ambient : float
        Light-box luminance L0 and reflected ambient light La of the curve (cd/m²).
    dmin, dmax : float
        The lightest and darkest density measured.
    lut : tuple of int
        The calibration LUT: drive level for each 8-bit input P-value.
    notes : str
    """

    printer: str
    version: int
    created_at: str
    created_by: str
    wedge_id: str
    readings: tuple[float, ...]
    ddl: tuple[int, ...]
    od: tuple[float, ...]
    max_ddl: int
    illumination: float
    ambient: float
    dmin: float
    dmax: float
    lut: tuple[int, ...]
    notes: str = ""

    @property
    def label(self) -> str:
        """How a film records it (``FilmRecord.calibration``): ``version N``."""
        return f"version {self.version}"

    def render_entry(self) -> dict[str, Any]:
        """The :data:`CALIBRATION_KEY` entry that makes the renderer apply this curve."""
        return {"mode": "curve", "label": self.label, "ddl": list(self.ddl), "od": list(self.od),
                "max_ddl": self.max_ddl, "illumination": self.illumination,
                "ambient": self.ambient}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: every attribute, lists for the tuples, and ``label``."""
        out = asdict(self)
        for key in ("readings", "ddl", "od", "lut"):
            out[key] = list(out[key])
        out["label"] = self.label
        return out


@dataclass(frozen=True)
class StepWedge:
    """A calibration step wedge printed (or about to be) on a printer."""

    wedge_id: str
    printer: str
    requested_at: str
    requested_by: str
    bits: int
    job_id: str = ""

    @property
    def film_session_label(self) -> str:
        return f"{WEDGE_LABEL_PREFIX}{self.wedge_id}"

    @property
    def label(self) -> str:
        """How a film rendered for it records its calibration."""
        return f"uncalibrated step wedge {self.wedge_id}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "film_session_label": self.film_session_label}


def _record(row: Row) -> PrinterCalibrationRecord:
    curve = json.loads(row.curve)
    return PrinterCalibrationRecord(
        printer=row.printer, version=int(row.version), created_at=row.created_at,
        created_by=row.created_by, wedge_id=row.wedge_id,
        readings=tuple(float(v) for v in json.loads(row.readings)),
        ddl=tuple(int(v) for v in curve["ddl"]), od=tuple(float(v) for v in curve["od"]),
        max_ddl=int(curve["max_ddl"]), illumination=float(row.illumination),
        ambient=float(row.ambient), dmin=float(row.dmin), dmax=float(row.dmax),
        lut=tuple(int(v) for v in json.loads(row.lut)), notes=row.notes)


def _wedge(row: Row) -> StepWedge:
    return StepWedge(row.wedge_id, row.printer, row.requested_at, row.requested_by, int(row.bits),
                     row.job_id)


class PrinterCalibrations:
    """The printer calibrations and step wedges of a job store's database."""

    def __init__(self, database: Database) -> None:
        self.db = database

    # -- versions --------------------------------------------------------------------------------
    def add(self, printer: str, created_by: str, *, readings: list[float], ddl: list[int],
            od: list[float], max_ddl: int, illumination: float, ambient: float, dmin: float,
            dmax: float, lut: list[int], wedge_id: str = "", notes: str = ""
            ) -> PrinterCalibrationRecord:
        """Store the next version of ``printer``'s calibration; durable when this returns."""
        curve = json.dumps({"ddl": [int(v) for v in ddl], "od": [float(v) for v in od],
                            "max_ddl": int(max_ddl)})
        values = {"printer": printer, "created_by": created_by, "wedge_id": wedge_id,
                  "readings": json.dumps([float(v) for v in readings]), "curve": curve,
                  "illumination": float(illumination), "ambient": float(ambient),
                  "dmin": float(dmin), "dmax": float(dmax),
                  "lut": json.dumps([int(v) for v in lut]), "notes": notes}
        newest = select(func.max(printer_calibrations.c.version)).where(
            printer_calibrations.c.printer == printer)
        for attempt in range(_ADD_TRIES):
            try:
                with self.db.write(f"storing a calibration of printer {printer}",
                                   CalibrationConflict) as connection:
                    version = int(connection.execute(newest).scalar() or 0) + 1
                    row = connection.execute(printer_calibrations.insert().values(
                        version=version, created_at=now(), **values)
                        .returning(*printer_calibrations.c)).one()
                return _record(row)
            except CalibrationConflict:
                if attempt == _ADD_TRIES - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def newest(self, printer: str) -> PrinterCalibrationRecord | None:
        """The version applied to ``printer``'s next films, or None."""
        with self.db.read(f"reading the calibration of printer {printer}") as connection:
            row = connection.execute(_NEWEST, {"ae": printer}).first()
        return _record(row) if row is not None else None

    def get(self, printer: str, version: int) -> PrinterCalibrationRecord | None:
        with self.db.read(f"reading calibration {version} of printer {printer}") as connection:
            row = connection.execute(select(printer_calibrations).where(
                printer_calibrations.c.printer == printer,
                printer_calibrations.c.version == int(version))).first()
        return _record(row) if row is not None else None

    def history(self, printer: str) -> list[PrinterCalibrationRecord]:
        """Every version of ``printer``, newest first."""
        with self.db.read(f"reading the calibrations of printer {printer}") as connection:
            return [_record(r) for r in connection.execute(
                select(printer_calibrations).where(printer_calibrations.c.printer == printer)
                .order_by(printer_calibrations.c.version.desc()))]

    def last_calibrated(self, printer: str) -> datetime | None:
        """When the newest version was recorded (UTC), or None (Printer N-GET)."""
        with self.db.read(f"reading the calibration time of printer {printer}") as connection:
            at = connection.execute(select(func.max(printer_calibrations.c.created_at)).where(
                printer_calibrations.c.printer == printer)).scalar()
        return datetime.fromisoformat(at) if at else None

    # -- step wedges -----------------------------------------------------------------------------
    def add_wedge(self, printer: str, requested_by: str, bits: int = 8) -> StepWedge:
        """Register a calibration wedge about to be printed on ``printer`` (a new random id)."""
        wedge = StepWedge(secrets.token_hex(6).upper(), printer, now(), requested_by, int(bits))
        with self.db.write(f"registering a step wedge for printer {printer}") as connection:
            connection.execute(step_wedges.insert().values(
                wedge_id=wedge.wedge_id, printer=printer, requested_at=wedge.requested_at,
                requested_by=requested_by, bits=wedge.bits, job_id=""))
        return wedge

    def set_wedge_job(self, wedge_id: str, job_id: str) -> None:
        """Record the job that printed a wedge."""
        with self.db.write(f"recording the job of step wedge {wedge_id}") as connection:
            connection.execute(update(step_wedges).where(step_wedges.c.wedge_id == wedge_id)
                               .values(job_id=job_id))

    def wedge(self, wedge_id: str) -> StepWedge | None:
        with self.db.read(f"reading step wedge {wedge_id}") as connection:
            row = connection.execute(select(step_wedges).where(
                step_wedges.c.wedge_id == wedge_id)).first()
        return _wedge(row) if row is not None else None

    def wedges(self, printer: str, limit: int = 20) -> list[StepWedge]:
        """The newest wedges of ``printer``, newest first."""
        with self.db.read(f"reading the step wedges of printer {printer}") as connection:
            return [_wedge(r) for r in connection.execute(
                select(step_wedges).where(step_wedges.c.printer == printer)
                .order_by(step_wedges.c.requested_at.desc(), step_wedges.c.wedge_id.desc())
                .limit(int(limit)))]

    # -- the renderer ----------------------------------------------------------------------------
    def for_render(self, printer: str, film_session_label: str = "") -> dict[str, Any] | None:
        """The :data:`CALIBRATION_KEY` entry for a job of ``printer`` (module docstring): the
        uncalibrated device for a step wedge registered for this printer, else the newest
        version's curve, else None (the printer's characteristic file or default profile)."""
        label = film_session_label.strip()
        if label.startswith(WEDGE_LABEL_PREFIX):
            wedge = self.wedge(label[len(WEDGE_LABEL_PREFIX):].strip())
            if wedge is not None and wedge.printer == printer:
                return {"mode": "uncalibrated", "label": wedge.label}
        newest = self.newest(printer)
        return newest.render_entry() if newest is not None else None
