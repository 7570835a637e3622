"""The QC services the pages and the JSON API call: one object over the job store's database.

:class:`QCServices` offers

* ``displays``: :class:`~printserver.qc.displays.DisplayService` (the registry);
* ``sessions``: :class:`~printserver.qc.sessions.SessionService` (evaluate, record, history);
* ``printers``: :class:`~printserver.qc.printer_calibration.PrinterCalibrationService` (step wedge,
  calibration versions);
* ``constancy``: :class:`~printserver.qc.constancy.FilmConstancyService`;
* :meth:`QCServices.out_of_limit` (the dashboard), :meth:`QCServices.session_download` and
  :meth:`QCServices.calibration_download` (files and PDF reports).

Errors for the web to map: :class:`~printserver.qc.errors.UnknownRecordError` and
:class:`~printserver.jobs.services.UnknownPrinterError` → 404;
:class:`~printserver.qc.errors.DuplicateDisplayError` and
:class:`~printserver.qc.errors.RecordInUseError` → 409; any other
:class:`~printserver.errors.ParameterError` / :class:`~printserver.errors.InputFileError` → 400
with the message (it names the field or the line); a
:class:`~printserver.jobs.errors.JobStoreError` → 503.

Usage::

    with QCServices.open(config) as qc:
        display = qc.displays.create({"name": "RAD-3 left", "display_class": "primary"}, "alice")
        session = qc.sessions.record(display.display_id, {"readings_csv": text, "ambient": 0.2},
                                     actor="alice")
        pdf = qc.session_download(session.session_id, "report")
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from printserver.config import Config
from printserver.jobs.database import Database
from printserver.jobs.printer_calibrations import PrinterCalibrations
from printserver.jobs.store import JobStore, open_job_store
from printserver.qc.constancy import FilmConstancyService
from printserver.qc.displays import DisplayService
from printserver.qc.downloads import Download, calibration_download, session_download
from printserver.qc.printer_calibration import PrinterCalibrationService, film_density_check
from printserver.qc.sessions import SessionService
from printserver.qc.store import QCStore


@dataclass(frozen=True)
class OutOfLimit:
    """A display or printer whose newest QC result failed (the dashboard shows it).

    Attributes
    ----------
    kind : {"display", "printer"}
    name : str
        The display's name or the printer's AE title.
    record_id : int
        The failed session's id (display) or measurement's id (printer constancy).
    measured_at : str
    failures : tuple of str
        The criteria that failed (``contrast_response``, ``UN80 max_uniformity_deviation``,
        ``visual TG18-CT``, ``mid_density`` …).
    display_id : int or None
        The display's id (None for a printer).
    """

    kind: str
    name: str
    record_id: int
    measured_at: str
    failures: tuple[str, ...]
    display_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "record_id": self.record_id,
                "measured_at": self.measured_at, "failures": list(self.failures),
                "display_id": self.display_id}


class QCServices:
    """Every QC service over one job store database (see the module docstring).

    Parameters
    ----------
    config
        Printers, the SCP's address, ``[qc]``.
    jobs
        The job store whose database holds the QC records (``QCServices`` shares its connection
        pool and does not close it).
    """

    def __init__(self, config: Config, jobs: JobStore) -> None:
        self.config = config
        self.jobs = jobs
        self._owned = False
        database: Database = jobs.db
        self.store = QCStore(database)
        self.calibrations = PrinterCalibrations(database)
        self.displays = DisplayService(self.store)
        self.sessions = SessionService(self.store)
        self.printers = PrinterCalibrationService(config, self.calibrations, jobs)
        self.constancy = FilmConstancyService(config, self.store)

    @classmethod
    def open(cls, config: Config) -> QCServices:
        """Open the job store of ``config`` (at the head revision, else
        :class:`~printserver.jobs.errors.JobStoreError` saying what to run); :meth:`close` closes
        it."""
        services = cls(config, open_job_store(config))
        services._owned = True
        return services

    def out_of_limit(self) -> list[OutOfLimit]:
        """The displays in service whose newest session failed, then the configured printers
        whose newest film constancy measurement is out of limits (by name)."""
        found = [OutOfLimit("display", display.name, session.session_id, session.measured_at,
                            tuple(session.results.get("failures", ())), display.display_id)
                 for display, session in self.store.latest_sessions() if not session.passed]
        printers = [p.ae_title for p in self.config.printers]
        found += [OutOfLimit("printer", m.printer, m.measurement_id, m.measured_at, m.failures)
                  for m in self.store.latest_measurements(printers) if not m.passed]
        return found

    def session_download(self, session_id: int, kind: str) -> Download:
        """A session's file (:data:`printserver.qc.downloads.SESSION_DOWNLOADS`): readings CSV,
        LUT (CSV, DCMTK, ``.cal``), evaluation JSON, PDF report (with the display's history)."""
        session = self.sessions.get(session_id)
        display = self.displays.get(session.display_id)
        history = self.store.history(display.display_id) if kind == "report" else []
        return session_download(kind, display, session, history,
                                self.config.qc.report_page_size)

    def calibration_download(self, ae_title: str, version: int, kind: str) -> Download:
        """A printer calibration's file (:data:`printserver.qc.downloads.CALIBRATION_DOWNLOADS`)."""
        view = self.printers.get(ae_title, version)
        printer = self.printers.printer(ae_title)
        return calibration_download(kind, view, printer.name, self.config.qc.report_page_size,
                                    film_density_check(view, printer.min_density,
                                                       printer.max_density))

    def close(self) -> None:
        """Close the job store if :meth:`open` opened it."""
        if self._owned:
            self.jobs.close()

    def __enter__(self) -> QCServices:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
