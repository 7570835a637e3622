"""The QC records in the job store's database (SQLite or PostgreSQL): displays, QC sessions, film
constancy baselines and measurements.

Rows ↔ :mod:`printserver.qc.records`; no rule lives here (the services check everything before
they call a write). Every write is one transaction that commits before the method returns, so a
record is durable when it is returned; every failure of the database leaves as
:class:`~printserver.jobs.errors.JobStoreError` naming the work.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Row, and_, delete, func, select, update

from printserver.gsdf.film_constancy import ConstancyLimits, ConstancySteps, ConstancyValues
from printserver.jobs.database import Database
from printserver.jobs.errors import JobStoreError
from printserver.jobs.schema import displays, film_baselines, film_constancy, now, qc_sessions
from printserver.qc.errors import DuplicateDisplayError
from printserver.qc.records import Display, FilmBaseline, FilmMeasurement, HistoryPoint, QCSession


class _NameTaken(JobStoreError):
    """The unique constraint on ``displays.name`` refused a row."""


def _display(row: Row) -> Display:
    return Display(display_id=int(row.display_id), name=row.name, workstation=row.workstation,
                   location=row.location, display_class=row.display_class,
                   target_lmax=row.target_lmax, target_luminance_ratio=row.target_luminance_ratio,
                   limits=json.loads(row.limits), notes=row.notes, retired=bool(row.retired),
                   created_at=row.created_at, created_by=row.created_by, updated_at=row.updated_at)


def _session(row: Row) -> QCSession:
    return QCSession(
        session_id=int(row.session_id), display_id=int(row.display_id),
        measured_at=row.measured_at, recorded_at=row.recorded_at, measured_by=row.measured_by,
        photometer_model=row.photometer_model, photometer_serial=row.photometer_serial,
        ambient=float(row.ambient), display_class=row.display_class, level_set=row.level_set,
        readings=tuple((int(d), float(lum)) for d, lum in json.loads(row.readings)),
        uniformity={k: tuple(v) for k, v in json.loads(row.uniformity).items()},
        visual=json.loads(row.visual), results=json.loads(row.results),
        passed=bool(row.passed), lmax_prime=float(row.lmax_prime),
        luminance_ratio=float(row.luminance_ratio), max_abs_kappa=float(row.max_abs_kappa),
        notes=row.notes)


def _baseline(row: Row) -> FilmBaseline:
    return FilmBaseline(
        baseline_id=int(row.baseline_id), printer=row.printer, set_at=row.set_at,
        set_by=row.set_by, measurement_id=row.measurement_id,
        steps=ConstancySteps(int(row.low_step), int(row.mid_step), int(row.high_step)),
        values=ConstancyValues(float(row.base_fog), float(row.mid_density),
                               float(row.density_difference)),
        limits=ConstancyLimits(**json.loads(row.limits)))


def _measurement(row: Row) -> FilmMeasurement:
    return FilmMeasurement(
        measurement_id=int(row.measurement_id), printer=row.printer, measured_at=row.measured_at,
        measured_by=row.measured_by, baseline_id=int(row.baseline_id),
        readings={int(k): float(v) for k, v in json.loads(row.readings).items()},
        values=ConstancyValues(float(row.base_fog), float(row.mid_density),
                               float(row.density_difference)),
        checks=tuple(json.loads(row.results)), passed=bool(row.passed), notes=row.notes)


def _latest(table: Any, group: Any, order: tuple[Any, ...]) -> Any:
    """The newest row per ``group`` (a window function: SQLite ≥ 3.25 and PostgreSQL)."""
    rank = func.row_number().over(partition_by=group, order_by=[o.desc() for o in order])
    ranked = select(table, rank.label("rank")).subquery()
    return select(ranked).where(ranked.c.rank == 1)


class QCStore:
    """The QC tables of a job store's database."""

    def __init__(self, database: Database) -> None:
        self.db = database

    # -- displays --------------------------------------------------------------------------------
    def add_display(self, values: Mapping[str, Any], actor: str) -> Display:
        """Insert a display; :class:`DuplicateDisplayError` when its name is taken."""
        at = now()
        row_values = {**values, "limits": json.dumps(dict(values.get("limits") or {})),
                      "retired": int(bool(values.get("retired"))), "created_at": at,
                      "created_by": actor, "updated_at": at}
        try:
            with self.db.write(f"registering display {values['name']!r}", _NameTaken) as c:
                row = c.execute(displays.insert().values(**row_values).returning(*displays.c)).one()
        except _NameTaken:
            raise DuplicateDisplayError(values["name"]) from None
        return _display(row)

    def update_display(self, display_id: int, values: Mapping[str, Any]) -> Display | None:
        """Change some fields of a display; None when there is no such display."""
        row_values = dict(values)
        if "limits" in row_values:
            row_values["limits"] = json.dumps(dict(row_values["limits"] or {}))
        if "retired" in row_values:
            row_values["retired"] = int(bool(row_values["retired"]))
        try:
            with self.db.write(f"updating display {display_id}", _NameTaken) as c:
                row = c.execute(update(displays).where(displays.c.display_id == display_id)
                                .values(updated_at=now(), **row_values)
                                .returning(*displays.c)).first()
        except _NameTaken:
            raise DuplicateDisplayError(values.get("name", "")) from None
        return _display(row) if row is not None else None

    def display(self, display_id: int) -> Display | None:
        with self.db.read(f"reading display {display_id}") as c:
            row = c.execute(select(displays).where(displays.c.display_id == display_id)).first()
        return _display(row) if row is not None else None

    def display_by_name(self, name: str) -> Display | None:
        with self.db.read(f"reading display {name!r}") as c:
            row = c.execute(select(displays).where(displays.c.name == name)).first()
        return _display(row) if row is not None else None

    def displays(self, include_retired: bool = False) -> list[Display]:
        """Displays by name."""
        query = select(displays).order_by(displays.c.name)
        if not include_retired:
            query = query.where(displays.c.retired == 0)
        with self.db.read("listing displays") as c:
            return [_display(r) for r in c.execute(query)]

    def delete_display(self, display_id: int) -> bool | None:
        """Remove a display without sessions: True; False when it has sessions (nothing removed);
        None when there is no such display."""
        with self.db.write(f"removing display {display_id}") as c:
            if c.execute(select(displays.c.display_id).where(
                    displays.c.display_id == display_id)).first() is None:
                return None
            if c.execute(select(qc_sessions.c.session_id).where(
                    qc_sessions.c.display_id == display_id).limit(1)).first() is not None:
                return False
            c.execute(delete(displays).where(displays.c.display_id == display_id))
            return True

    # -- sessions --------------------------------------------------------------------------------
    def add_session(self, values: Mapping[str, Any]) -> QCSession:
        """Insert a session (every value already checked); durable when this returns."""
        row_values = dict(values)
        for key in ("readings", "uniformity", "visual", "results"):
            row_values[key] = json.dumps(row_values[key], allow_nan=False)
        row_values["passed"] = int(bool(row_values["passed"]))
        with self.db.write(f"saving a QC session of display {values['display_id']}") as c:
            row = c.execute(qc_sessions.insert().values(recorded_at=now(), **row_values)
                            .returning(*qc_sessions.c)).one()
        return _session(row)

    def session(self, session_id: int) -> QCSession | None:
        with self.db.read(f"reading QC session {session_id}") as c:
            row = c.execute(select(qc_sessions).where(qc_sessions.c.session_id == session_id)).first()
        return _session(row) if row is not None else None

    def sessions(self, display_id: int, limit: int = 50) -> list[QCSession]:
        """The display's sessions, newest first."""
        with self.db.read(f"listing the QC sessions of display {display_id}") as c:
            return [_session(r) for r in c.execute(
                select(qc_sessions).where(qc_sessions.c.display_id == display_id)
                .order_by(qc_sessions.c.measured_at.desc(), qc_sessions.c.session_id.desc())
                .limit(int(limit)))]

    def history(self, display_id: int) -> list[HistoryPoint]:
        """The display's sessions, oldest first, as the numbers of the trend plots."""
        s = qc_sessions.c
        with self.db.read(f"reading the QC history of display {display_id}") as c:
            return [HistoryPoint(int(r.session_id), r.measured_at, float(r.lmax_prime),
                                 float(r.luminance_ratio), float(r.max_abs_kappa), bool(r.passed))
                    for r in c.execute(select(s.session_id, s.measured_at, s.lmax_prime,
                                              s.luminance_ratio, s.max_abs_kappa, s.passed)
                                       .where(s.display_id == display_id)
                                       .order_by(s.measured_at, s.session_id))]

    def latest_sessions(self) -> list[tuple[Display, QCSession]]:
        """Each display in service with its newest session (displays without one left out)."""
        latest = _latest(qc_sessions, qc_sessions.c.display_id,
                         (qc_sessions.c.measured_at, qc_sessions.c.session_id)).subquery()
        with self.db.read("reading the newest QC sessions", snapshot=True) as c:
            rows = c.execute(select(latest).where(latest.c.display_id.in_(
                select(displays.c.display_id).where(displays.c.retired == 0)))).all()
            found = {int(r.display_id): _session(r) for r in rows}
            shown = [_display(r) for r in c.execute(
                select(displays).where(displays.c.display_id.in_(list(found)))
                .order_by(displays.c.name))] if found else []
        return [(d, found[d.display_id]) for d in shown]

    # -- film constancy --------------------------------------------------------------------------
    @staticmethod
    def _insert_baseline(c: Connection, printer: str, actor: str, at: str,
                         measurement_id: int | None, steps: ConstancySteps,
                         values: ConstancyValues, limits: ConstancyLimits) -> int:
        return int(c.execute(film_baselines.insert().values(
            printer=printer, set_at=at, set_by=actor, measurement_id=measurement_id,
            low_step=steps.low, mid_step=steps.mid, high_step=steps.high,
            base_fog=values.base_fog, mid_density=values.mid_density,
            density_difference=values.density_difference, limits=json.dumps(limits.as_dict()))
            .returning(film_baselines.c.baseline_id)).scalar_one())

    def add_measurement(self, printer: str, actor: str, measured_at: str,
                        readings: Mapping[int, float], values: ConstancyValues,
                        checks: list[dict[str, Any]], passed: bool, notes: str,
                        baseline_id: int | None = None,
                        new_baseline: tuple[ConstancySteps, ConstancyLimits] | None = None
                        ) -> tuple[FilmMeasurement, FilmBaseline | None]:
        """Insert a measurement judged against ``baseline_id``, or, with ``new_baseline``, make it
        the printer's first baseline in the same transaction."""
        with self.db.write(f"saving a film constancy measurement of printer {printer}") as c:
            at = now()
            if new_baseline is not None:
                steps, limits = new_baseline
                baseline_id = self._insert_baseline(c, printer, actor, at, None, steps, values,
                                                    limits)
            row = c.execute(film_constancy.insert().values(
                printer=printer, measured_at=measured_at, measured_by=actor,
                baseline_id=baseline_id, readings=json.dumps({str(k): v for k, v in readings.items()}),
                base_fog=values.base_fog, mid_density=values.mid_density,
                density_difference=values.density_difference,
                results=json.dumps(checks, allow_nan=False), passed=int(passed), notes=notes)
                .returning(*film_constancy.c)).one()
            baseline = None
            if new_baseline is not None:
                c.execute(update(film_baselines).where(film_baselines.c.baseline_id == baseline_id)
                          .values(measurement_id=int(row.measurement_id)))
                baseline = _baseline(c.execute(select(film_baselines).where(
                    film_baselines.c.baseline_id == baseline_id)).one())
        return _measurement(row), baseline

    def add_baseline(self, printer: str, actor: str, measurement_id: int | None,
                     steps: ConstancySteps, values: ConstancyValues,
                     limits: ConstancyLimits) -> FilmBaseline:
        with self.db.write(f"setting the film baseline of printer {printer}") as c:
            baseline_id = self._insert_baseline(c, printer, actor, now(), measurement_id, steps,
                                                values, limits)
            return _baseline(c.execute(select(film_baselines).where(
                film_baselines.c.baseline_id == baseline_id)).one())

    def baseline(self, printer: str) -> FilmBaseline | None:
        """The printer's current baseline (the newest set)."""
        with self.db.read(f"reading the film baseline of printer {printer}") as c:
            row = c.execute(select(film_baselines).where(film_baselines.c.printer == printer)
                            .order_by(film_baselines.c.baseline_id.desc()).limit(1)).first()
        return _baseline(row) if row is not None else None

    def baseline_by_id(self, baseline_id: int) -> FilmBaseline | None:
        with self.db.read(f"reading film baseline {baseline_id}") as c:
            row = c.execute(select(film_baselines).where(
                film_baselines.c.baseline_id == baseline_id)).first()
        return _baseline(row) if row is not None else None

    def measurement(self, measurement_id: int) -> FilmMeasurement | None:
        with self.db.read(f"reading film measurement {measurement_id}") as c:
            row = c.execute(select(film_constancy).where(
                film_constancy.c.measurement_id == measurement_id)).first()
        return _measurement(row) if row is not None else None

    def measurements(self, printer: str, limit: int = 100) -> list[FilmMeasurement]:
        """The printer's measurements, newest first."""
        with self.db.read(f"listing the film measurements of printer {printer}") as c:
            return [_measurement(r) for r in c.execute(
                select(film_constancy).where(film_constancy.c.printer == printer)
                .order_by(film_constancy.c.measured_at.desc(),
                          film_constancy.c.measurement_id.desc()).limit(int(limit)))]

    def latest_measurements(self, printers: list[str]) -> list[FilmMeasurement]:
        """The newest measurement of each of ``printers`` that has one."""
        if not printers:
            return []
        latest = _latest(film_constancy, film_constancy.c.printer,
                         (film_constancy.c.measured_at, film_constancy.c.measurement_id)).subquery()
        with self.db.read("reading the newest film measurements") as c:
            return [_measurement(r) for r in c.execute(
                select(latest).where(and_(latest.c.printer.in_(printers)))
                .order_by(latest.c.printer))]
