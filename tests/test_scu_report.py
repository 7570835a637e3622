"""Print SCU result, report and progress: status categories (PS3.7 C.1), text and JSON, the
progress line and the per-image log lines."""

from __future__ import annotations

import io
import json
import logging

import numpy as np

from printserver.scu.images import PrintImage
from printserver.scu.progress import BarProgress, LogProgress, progress_for
from printserver.scu.report import as_json, as_text
from printserver.scu.result import DimseResponse, EventReport, PrintResult

FILM_BOX = "1.2.840.10008.5.1.1.2"
IMAGE_BOX = "1.2.840.10008.5.1.1.4"


def result(*responses: DimseResponse) -> PrintResult:
    r = PrintResult("127.0.0.1", 104, "FILM1", "QA")
    r.responses.extend(responses)
    return r


def test_categories_and_exit_status():
    ok = result(DimseResponse("N-CREATE", FILM_BOX, "1.2", 0x0000),
                DimseResponse("N-SET", IMAGE_BOX, "1.3", 0xB604, "demagnified"),
                DimseResponse("N-SET", IMAGE_BOX, "1.4", 0x0107))
    assert [r.category for r in ok.responses] == ["success", "warning", "warning"]
    assert ok.exit_status == 0 and len(ok.warnings) == 2
    bad = result(DimseResponse("N-SET", IMAGE_BOX, "1.3", 0xC603),
                 DimseResponse("N-ACTION", FILM_BOX, "1.2", 0xA700),
                 DimseResponse("N-DELETE", FILM_BOX, "1.2", None))
    assert [(r.meaning, r.category) for r in bad.responses] == [
        ("IMAGE_TOO_LARGE", "failure"), ("UNKNOWN", "failure"), ("NO_RESPONSE", "no response")]
    assert bad.exit_status == 1
    aborted = result(DimseResponse("N-CREATE", FILM_BOX, "1.2", 0))
    aborted.problem = "the printer aborted the association"
    assert aborted.exit_status == 1


def test_text_and_json_reports():
    r = result(DimseResponse("N-GET", "1.2.840.10008.5.1.1.16", "1.2.840.10008.5.1.1.17", 0,
                             context="printer status NORMAL"),
               DimseResponse("N-CREATE", FILM_BOX, None, 0x0106, "Film Size ID: 'A4'",
                             ["(2010,0050)"], "film 1"))
    r.events.append(EventReport("1.2.840.10008.5.1.1.14", "9.9", 3,
                                {"ExecutionStatusInfo": "NORMAL"}))
    text = as_text(r).splitlines()
    assert text[0] == "printer FILM1 at 127.0.0.1:104"
    assert text[2].split()[:5] == ["N-CREATE", "Basic", "Film", "Box", "0x0106"]
    assert "INVALID_ATTRIBUTE_VALUE" in text[2] and "[Film Size ID: 'A4']" in text[2]
    assert "offending (2010,0050)" in text[2]
    assert text[3] == "event  N-EVENT-REPORT Print Job DONE  ExecutionStatusInfo=NORMAL"
    assert text[-1].startswith("FAILED: 0 film(s) printed") and "1 failure(s)" in text[-1]
    data = json.loads(as_json(r))
    assert data["exit_status"] == 1
    assert data["responses"][1] == {
        "operation": "N-CREATE", "sop_class_uid": FILM_BOX, "instance_uid": None,
        "status": "0x0106", "error_comment": "Film Size ID: 'A4'", "offending": ["(2010,0050)"],
        "context": "film 1", "sop_class": "Basic Film Box", "status_code": 0x0106,
        "meaning": "INVALID_ATTRIBUTE_VALUE", "category": "failure"}
    assert data["events"][0]["event"] == "DONE"


def test_progress_bar_and_log_lines(caplog):
    image = PrintImage(np.zeros((100, 50), np.uint16), 12, "a.dcm", "min/max")
    stream = io.StringIO()
    bar = BarProgress(stream)
    bar.start(2)
    bar.image_sent(1, 2, image, 1, 1)
    bar.image_sent(2, 2, image, 1, 2)
    bar.finish()
    out = stream.getvalue()
    assert out.count("\r") == 3 and out.endswith("\n")
    assert "   2/2 images" in out and "#" * 30 in out
    assert isinstance(progress_for(io.StringIO()), LogProgress)  # not a terminal
    with caplog.at_level(logging.INFO, logger="printserver.scu"):
        LogProgress().image_sent(1, 2, image, 1, 1)
    assert caplog.messages == [
        "image 1/2 sent: film 1 position 1, a.dcm (50 x 100, 12-bit, min/max)"]
