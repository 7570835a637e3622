"""What a QC page offers for download, as :class:`Download` values (name, media type, bytes):
a view only sends them.

Display sessions (:data:`SESSION_DOWNLOADS`):

* ``readings``: the readings as CSV ``ddl,luminance`` (what a session's ``readings_csv`` imports);
* ``lut-csv``, ``lut-dcmtk``, ``lut-cal``: the display's calibration LUT computed from the
  session's readings (:mod:`printserver.gsdf.display_lut`): ``input,output`` CSV, the readings as
  a DCMTK characteristic file (``dcmdspfn +Im`` and ``printserver gsdf lut --monitor-file``
  compute the same LUT from it), an ArgyllCMS ``.cal`` file that ``dispwin`` loads;
* ``json``: the evaluation, exactly the JSON ``POST /api/qc/evaluate`` answers
  (:meth:`~printserver.gsdf.conformance.DisplayEvaluation.as_dict`);
* ``report``: the PDF QC report (:mod:`printserver.qc.reports`).

Printer calibrations (:data:`CALIBRATION_DOWNLOADS`): ``readings`` (CSV ``step,density``),
``lut-csv`` (``input,output``: drive level per 8-bit P-value), ``curve-dcmtk`` (DCMTK
``printer.lut`` format), ``report`` (PDF).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from printserver.errors import ParameterError
from printserver.gsdf.display_lut import argyll_cal, dcmtk_characteristic, display_lut, lut_csv
from printserver.gsdf.film_calibration import dcmtk_printer_characteristic, wedge_csv
from printserver.gsdf.readings import readings_csv
from printserver.qc.records import Display, HistoryPoint, QCSession
from printserver.qc.sessions import session_readings

if TYPE_CHECKING:  # pragma: no cover - typing only
    from printserver.qc.printer_calibration import CalibrationView

SESSION_DOWNLOADS = ("readings", "lut-csv", "lut-dcmtk", "lut-cal", "json", "report")
CALIBRATION_DOWNLOADS = ("readings", "lut-csv", "curve-dcmtk", "report")

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Download:
    """A file to send: ``filename`` (safe: ``A-Z a-z 0-9 . _ -``), ``media_type``, ``content``."""

    filename: str
    media_type: str
    content: bytes


def safe_name(text: str) -> str:
    """``text`` as part of a file name (anything but ``A-Z a-z 0-9 . _ -`` becomes ``_``)."""
    return _UNSAFE.sub("_", str(text).strip()).strip("._") or "display"


def _stem(display: Display, session: QCSession) -> str:
    return f"{safe_name(display.name)}_qc{session.session_id}_{session.measured_at[:10]}"


def session_download(kind: str, display: Display, session: QCSession,
                     history: Sequence[HistoryPoint] = (), page_size: str = "A4") -> Download:
    """The download ``kind`` (:data:`SESSION_DOWNLOADS`) of a session.

    Raises
    ------
    ParameterError
        ``kind`` unknown; ``lut-*`` for readings that cannot be calibrated (equal readings).
    """
    stem = _stem(display, session)
    if kind == "readings":
        text = readings_csv(session.ddl, session.luminance)
        return Download(f"{stem}_readings.csv", "text/csv", text.encode())
    if kind == "json":
        text = json.dumps(session.evaluation, indent=2, allow_nan=False)
        return Download(f"{stem}.json", "application/json", text.encode())
    if kind == "report":
        from printserver.qc.reports import session_report

        return Download(f"{stem}_report.pdf", "application/pdf",
                        session_report(display, session, history, page_size))
    if kind in ("lut-csv", "lut-dcmtk", "lut-cal"):
        readings = session_readings(session)
        title = (f"{display.name}: QC session {session.session_id} of {session.measured_at}, "
                 f"Lamb {session.ambient:g} cd/m2")
        if kind == "lut-dcmtk":
            return Download(f"{stem}_monitor.lut", "text/plain",
                            dcmtk_characteristic(readings, title).encode())
        lut = display_lut(readings)
        if kind == "lut-csv":
            return Download(f"{stem}_lut.csv", "text/csv", lut_csv(lut).encode())
        return Download(f"{stem}.cal", "application/octet-stream",
                        argyll_cal(lut, f"GSDF calibration of {title}", session.measured_at[:10])
                        .encode())
    raise ParameterError("kind", f"{kind!r} is not one of {', '.join(SESSION_DOWNLOADS)}")


def calibration_download(kind: str, view: CalibrationView, printer_name: str = "",
                         page_size: str = "A4", warning: str = "") -> Download:
    """The download ``kind`` (:data:`CALIBRATION_DOWNLOADS`) of a printer calibration; ``warning``
    goes into the report."""
    record = view.record
    stem = f"{safe_name(record.printer)}_calibration{record.version}_{record.created_at[:10]}"
    if kind == "readings":
        return Download(f"{stem}_densities.csv", "text/csv",
                        wedge_csv(view.analysis.readings).encode())
    if kind == "lut-csv":
        text = "input,output\n" + "".join(f"{i},{d}\n" for i, d in enumerate(record.lut))
        return Download(f"{stem}_lut.csv", "text/csv", text.encode())
    if kind == "curve-dcmtk":
        title = f"printer {record.printer}: calibration {record.version} of {record.created_at}"
        return Download(f"{stem}_printer.lut", "text/plain",
                        dcmtk_printer_characteristic(view.analysis.curve, title).encode())
    if kind == "report":
        from printserver.qc.reports import calibration_report

        return Download(f"{stem}_report.pdf", "application/pdf",
                        calibration_report(view, printer_name, page_size, warning))
    raise ParameterError("kind", f"{kind!r} is not one of {', '.join(CALIBRATION_DOWNLOADS)}")
