"""The PDF QC reports (issue 11): a display session's report and a printer calibration's report
open (pypdf, poppler), carry the display / printer, who measured, each criterion's result with its
limit, a signature line, are on the configured paper, and their plots are vector graphics (no
raster image in the file; the plot labels are text)."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
from pypdf import PdfReader

from conftest import require_tool
from printserver.config import Config, QCConfig
from printserver.errors import ConfigError, ParameterError
from printserver.gsdf.film_calibration import WEDGE_DRIVE_LEVELS
from printserver.qc import QCServices
from printserver.qc.reports import page_size
from test_gsdf_conformance import AMBIENT, P8, PASSES_20

POINTS = {"A4": (595.28, 841.89), "LETTER": (612.0, 792.0)}


def pdf_text(path) -> str:
    return subprocess.run([require_tool("pdftotext"), "-layout", str(path), "-"],
                          capture_output=True, text=True, check=True).stdout


def raster_images(path) -> list[str]:
    listing = subprocess.run([require_tool("pdfimages"), "-list", str(path)], capture_output=True,
                             text=True, check=True).stdout.splitlines()
    return listing[2:]  # after the two header lines


def check_paper(path, paper: str) -> None:
    reader = PdfReader(path)
    for page in reader.pages:
        assert (float(page.mediabox.width), float(page.mediabox.height)) == pytest.approx(
            POINTS[paper], abs=0.01)


@pytest.mark.parametrize("paper", ["A4", "LETTER"])
def test_display_session_report(job_store, tmp_path, paper):
    qc = QCServices(Config(data_dir=tmp_path, qc=QCConfig(report_page_size=paper)), job_store)
    display = qc.displays.create({"name": "RAD-3 left", "workstation": "RAD-3",
                                  "location": "reading room 2", "target_lmax": 400}, "alice")
    qc.sessions.record(display.display_id, {
        "readings": [[d, v] for d, v in zip(P8, np.array(PASSES_20) * 0.98)], "ambient": AMBIENT,
        "measured_at": "2026-01-05T09:00:00+00:00"}, "alice")
    session = qc.sessions.record(display.display_id, {
        "readings": [[d, v] for d, v in zip(P8, PASSES_20)], "ambient": AMBIENT,
        "photometer_model": "i1Display Pro", "photometer_serial": "J123",
        "uniformity": {"UN80": [300, 290, 280, 295, 305]},
        "visual": {"TG18-QC": {"passed": True, "comment": "all seen"},
                   "TG18-CT": {"passed": False, "comment": "moon 3 gone"}},
        "notes": "cleaned the screen first"}, "alice")
    download = qc.session_download(session.session_id, "report")
    assert download.media_type == "application/pdf" and download.filename.endswith("_report.pdf")
    path = tmp_path / download.filename
    path.write_bytes(download.content)
    check_paper(path, paper)
    reader = PdfReader(path)
    assert reader.metadata.title == "Display QC report: RAD-3 left"
    text = " ".join(pdf_text(path).split())
    for expected in ("Display QC report", "RAD-3 left", "reading room 2", "i1Display Pro",
                     "serial J123", "alice", "Result: FAIL", "Signature", "Reviewed by",
                     "Results per criterion", "Source of the limit", "Luminance response",
                     "GSDF target", "measured L' = L + Lamb", "History", "Readings",
                     "Uniformity", "cleaned the screen first", "moon 3 gone"):
        assert expected in text, expected
    results = {c["name"]: c["passed"] for c in session.evaluation["checks"]}
    assert results["contrast_response"] is False and results["min_luminance_ratio"] is True
    for label, verdict in (("contrast response, max", "FAIL"), ("luminance ratio LR'", "PASS"),
                           ("maximum luminance L'max", "PASS"), ("UN80: non-uniformity", "PASS"),
                           ("visual check TG18-QC", "PASS"), ("visual check TG18-CT", "FAIL")):
        line = next(l for l in pdf_text(path).splitlines() if label in l)
        assert verdict in line, line
    assert raster_images(path) == []  # the plots are vector graphics


def test_printer_calibration_report(job_store, tmp_path):
    qc = QCServices(Config(data_dir=tmp_path), job_store)
    od = 0.10 + 2.0 * (1 - WEDGE_DRIVE_LEVELS / 255) ** 1.8
    view = qc.printers.record("PRINTSCP", {"readings": [[s, round(float(v), 2)] for s, v in
                                                        enumerate(od, start=1)],
                                           "notes": "new film batch 42"}, "carol")
    download = qc.calibration_download("PRINTSCP", view.record.version, "report")
    path = tmp_path / download.filename
    path.write_bytes(download.content)
    check_paper(path, "A4")
    text = " ".join(pdf_text(path).split())
    for expected in ("Printer calibration report", "PRINTSCP", "carol", "Measured Dmin 0.10 OD",
                     "Measured Dmax 2.10 OD", "Densitometer readings", "Calibration LUT",
                     "GSDF target", "calibrated", "new film batch 42", "Signature",
                     # the printer's max_density 300 asks for more than the printer reaches
                     "Warning: max_density 3.00 OD is darker than the measured 2.10"):
        assert expected in text, expected
    assert raster_images(path) == []


def test_paper_sizes():
    assert page_size("a4") == pytest.approx(POINTS["A4"], abs=0.01)
    with pytest.raises(ParameterError):
        page_size("A3")
    with pytest.raises(ConfigError, match="report_page_size"):
        QCConfig(report_page_size="A3")
