"""``printserver print`` (the Print SCU) over real associations on 127.0.0.1 (issue 5, Acceptance:
"prints a 2×2 film of real-looking CT images to DCMTK's dcmprscp and to printserver itself; the
statuses it reports are the ones the printer sent").

Every print runs the command as a subprocess. What the printer received is read from the printer
itself: dcmprscp's DIMSE dump and its database of Hardcopy Grayscale images; printserver's job
store, spool and log.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest

from conftest import REPO, require_tool
from dcmtk_print import DcmprscpServer, free_port, parse_dump
from printserver.jobs.spool import Spool
from printserver.layout.patterns import tg18_qc_like
from printserver.scu.images import load_print_image

TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"
#: real-looking CT and MR: native CT without a window, JPEG 2000 CT with one, MR native and RLE
IMAGES = [TEST_FILES / n for n in ("CT_small.dcm", "693_J2KI.dcm", "MR_small.dcm",
                                   "MR_small_RLE.dcm")]
NO_WORKERS = "[workers]\ncount = 0\n"


def run_print(*args: Any, timeout: float = 60, verbose: int = 0
              ) -> subprocess.CompletedProcess[str]:
    """``python -m printserver [-v…] print ARGS`` with its stdout and stderr."""
    argv = [sys.executable, "-m", "printserver", *(["-" + "v" * verbose] if verbose else []),
            "print", *map(str, args)]
    return subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=timeout,
                          check=False)


def to(printer: Any) -> list[str]:
    return ["--host", printer.host, "--port", str(printer.port), "--called-aet", printer.ae_title]


def report(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    return json.loads(proc.stdout)


def answered(rep: dict[str, Any]) -> list[tuple[str, str, int]]:
    """(operation, SOP class as DCMTK names it, status) of every response the SCU reported."""
    return [(r["operation"], r["sop_class"].replace(" ", "") + "SOPClass", r["status_code"])
            for r in rep["responses"]]


def dcmprscp_answers(log: str) -> list[tuple[str, str, int]]:
    """(operation, SOP class, status) of every response dcmprscp sent, from its --dump log."""
    messages = parse_dump(log)
    requests = {m.fields.get("Message ID"): m for m in messages
                if m.direction == "INCOMING" and not m.is_response}
    out = []
    for rsp in (m for m in messages if m.direction == "OUTGOING" and m.is_response):
        rq = requests[rsp.fields.get("Message ID Being Responded To")]
        out.append((rq.type.split()[0], rq.sop_class, rsp.status))
    return out


# --- DCMTK's dcmprscp ----------------------------------------------------------------------------

@pytest.mark.dcmtk
def test_2x2_ct_film_to_dcmprscp(tmp_path: Path) -> None:
    require_tool("dcmprscp")
    with DcmprscpServer(tmp_path / "dcmprscp") as scp:
        # -vv: pynetdicom logs every PDU and DIMSE message it sends and receives, so that a
        # failure shows both sides' view of the association (dcmprscp runs with --debug --dump)
        proc = run_print(*to(scp), "--format", "STANDARD\\2,2", "--label", "CT QA", "--json",
                         *IMAGES, verbose=2)
        assert proc.returncode == 0, (f"{proc.stdout}\n--- SCU log ---\n{proc.stderr[-20000:]}"
                                      f"\n--- dcmprscp log ---\n{scp.log()[-20000:]}")
        rep = report(proc)
        ops = [(r["operation"], r["sop_class"]) for r in rep["responses"]]
        assert ops == [("N-GET", "Printer"), ("N-CREATE", "Basic Film Session"),
                       ("N-CREATE", "Basic Film Box")] + [
                          ("N-SET", "Basic Grayscale Image Box")] * 4 + [
                          ("N-ACTION", "Basic Film Box"), ("N-DELETE", "Basic Film Box"),
                          ("N-DELETE", "Basic Film Session")]
        assert answered(rep) == dcmprscp_answers(scp.log())  # the statuses dcmprscp sent
        assert rep["printer"]["printer_status"] == "NORMAL"
        assert rep["films_printed"] == 1 and rep["images_sent"] == 4

        stored = scp.stored_prints()
        assert len(stored) == 1
        assert stored[0].FilmBoxContentSequence[0].ImageDisplayFormat == "STANDARD\\2,2"
        received = scp.received(stored[0])  # Hardcopy Grayscale images in dcmprscp's database
        assert sorted(received) == [1, 2, 3, 4]
        for position, path in enumerate(IMAGES, start=1):
            got = received[position]
            assert (int(got.BitsStored), got.PhotometricInterpretation) == (12, "MONOCHROME2")
            assert np.array_equal(got.pixel_array, load_print_image(path, 12).pixels), path

        # a failure is reported as dcmprscp sent it: 3,2 is not one of its display formats
        refused = run_print(*to(scp), "--format", "STANDARD\\3,2", "--json", IMAGES[0])
        assert refused.returncode == 1, refused.stderr
        rep = report(refused)
        film_box = [r for r in rep["responses"] if r["sop_class"] == "Basic Film Box"]
        assert [(r["status"], r["meaning"], r["category"]) for r in film_box] == [
            ("0x0106", "INVALID_ATTRIBUTE_VALUE", "failure")]
        assert answered(rep) == dcmprscp_answers(scp.log())[-len(rep["responses"]):]
        assert rep["responses"][-1]["operation"] == "N-DELETE"  # the session is cleaned up
        assert len(scp.stored_prints()) == 1  # nothing more printed

        # dcmprscp does not accept the Basic Annotation Box context: usage error, one line
        no_annotation = run_print(*to(scp), "--label", "x", "--annotation-format", "LABEL",
                                  IMAGES[0])
        assert no_annotation.returncode == 2
        assert no_annotation.stderr.splitlines() == [
            f"printserver: error: {scp.ae_title} at {scp.host}:{scp.port} does not support "
            "Basic Annotation Box (--annotation-format)"]


# --- printserver ---------------------------------------------------------------------------------

def test_2x2_ct_film_to_printserver(print_scp_factory: Any) -> None:
    scp = print_scp_factory(NO_WORKERS)
    proc = run_print(*to(scp), "--format", "STANDARD\\2,2", "--film-size", "14INX17IN",
                     "--medium", "clear film", "--copies", "2", "--json", *IMAGES)
    assert proc.returncode == 0, proc.stderr
    rep = report(proc)
    assert {r["status"] for r in rep["responses"]} == {"0x0000"}
    assert len(rep["responses"]) == 10
    # one image log line per image on a non-terminal stderr
    assert [ln for ln in proc.stderr.splitlines() if "image " in ln and " sent: " in ln] != []
    assert sum(" sent: film 1 position " in ln for ln in proc.stderr.splitlines()) == 4

    jobs = scp.store().list()
    assert len(jobs) == 1
    job = jobs[0]
    assert rep["print_job_uids"] == [job.print_job_uid]  # from the N-ACTION reply (2100,0500)
    assert [(e["sop_class"], e["event"], e["instance_uid"]) for e in rep["events"]] == [
        ("Print Job", "PENDING", job.print_job_uid)]
    assert job.calling_ae == "PRINTSCU"
    spool = Spool(scp.data_dir / "spool")
    try:
        manifest = spool.load_manifest(job)
        assert manifest["film_session"]["attributes"]["MediumType"] == "CLEAR FILM"
        assert manifest["film_session"]["attributes"]["NumberOfCopies"] == 2
        film = manifest["films"][0]
        assert film["attributes"]["ImageDisplayFormat"] == "STANDARD\\2,2"
        assert len(film["image_boxes"]) == 4
        for position, path in enumerate(IMAGES, start=1):
            image = film["image_boxes"][position - 1]["image"]
            assert (image["bits_stored"], image["photometric_interpretation"]) == (
                12, "MONOCHROME2")
            want = load_print_image(path, 12).pixels  # windowed 12-bit
            assert np.array_equal(spool.load_pixels(job, 1, position), want), path
    finally:
        spool.close()


def test_failure_status_is_reported_and_exit_1(print_scp_factory: Any) -> None:
    # strict: a film size the printer does not have is refused (lenient: its default, 0116)
    scp = print_scp_factory(NO_WORKERS + '[dicom]\nstrict_attributes = true\n'
                            '[[printers]]\nae_title = "FILM"\n'
                            'film_sizes = ["14INX17IN", "8INX10IN"]\n'
                            'display_formats = ["STANDARD\\\\1,1", "STANDARD\\\\2,2"]\n')
    proc = run_print(*to(scp), "--film-size", "A4", "--json", IMAGES[0])
    assert proc.returncode == 1, proc.stderr
    rep = report(proc)
    assert rep["exit_status"] == 1 and rep["films_printed"] == 0
    failed = [r for r in rep["responses"] if r["category"] == "failure"]
    assert [(r["operation"], r["sop_class"], r["status"], r["meaning"]) for r in failed] == [
        ("N-CREATE", "Basic Film Box", "0x0106", "INVALID_ATTRIBUTE_VALUE")]
    assert "A4" in failed[0]["error_comment"]
    # the SCP logged the status and comment it answered
    assert f"INVALID_ATTRIBUTE_VALUE (0x0106): {failed[0]['error_comment']}" in \
        scp.log_path.read_text()
    assert [r["operation"] for r in rep["responses"]][-1] == "N-DELETE"  # session cleaned up

    # the same in text: a display format this printer does not accept. An Error Comment is one LO
    # value, which cannot hold the format's backslash: the SCP sends it as '/'.
    text = run_print(*to(scp), "--format", "STANDARD\\3,3", IMAGES[0])
    assert text.returncode == 1
    line = next(ln for ln in text.stdout.splitlines()
                if ln.startswith("N-CREATE  Basic Film Box"))
    assert "0x0106" in line and "INVALID_ATTRIBUTE_VALUE" in line
    comment = line[line.index("[") + 1:line.rindex("]")]
    assert comment.startswith("ImageDisplayFormat: 'STANDARD/3,3' not in this printer's formats")
    assert "INVALID_ATTRIBUTE_VALUE (0x0106): ImageDisplayFormat: 'STANDARD\\3,3' not in" in \
        scp.log_path.read_text()
    assert text.stdout.splitlines()[-1].startswith("FAILED: 0 film(s) printed")
    assert scp.store().list() == []


def test_bad_usage_unreadable_file_rejected_association_exit_2(print_scp: Any,
                                                                tmp_path: Path) -> None:
    notes = tmp_path / "notes.dcm"
    notes.write_text("this is not DICOM\n")
    cases = [
        (["--bits", "10", IMAGES[0]], "--bits"),
        ([IMAGES[0], "--pattern", "TG18-QC"], "one of them"),
        ([notes], "notes.dcm: not a DICOM file"),
        ([TEST_FILES / "SC_rgb_small_odd.dcm"], "colour image"),
    ]
    for extra, message in cases:
        proc = run_print(*to(print_scp), *extra)
        assert proc.returncode == 2, (extra, proc.stderr)
        assert proc.stdout == ""
        assert len(proc.stderr.splitlines()) == 1 and message in proc.stderr, proc.stderr
    rejected = run_print("--host", print_scp.host, "--port", print_scp.port,
                         "--called-aet", "NOSUCHPRINTER", IMAGES[0])
    assert rejected.returncode == 2
    assert len(rejected.stderr.splitlines()) == 1 and "rejected the association" in rejected.stderr
    assert "reason 0x07" in rejected.stderr  # called AE title not recognized (PS3.8 Table 9-21)
    nobody = run_print("--host", "127.0.0.1", "--port", free_port(), "--called-aet", "PRINTSCP",
                       "--timeout", "5", IMAGES[0])
    assert nobody.returncode == 2
    assert len(nobody.stderr.splitlines()) == 1 and "cannot associate" in nobody.stderr
    assert print_scp.store().list() == []


def test_pattern_and_several_films_in_one_session(print_scp_factory: Any) -> None:
    scp = print_scp_factory(NO_WORKERS)
    proc = run_print(*to(scp), "--pattern", "tg18-qc", "--format", "STANDARD\\1,2", "--bits", "8",
                     "--min-density", "5", "--json")
    assert proc.returncode == 0, proc.stderr  # a warning is not a failure
    rep = report(proc)
    assert rep["images_sent"] == 2  # the pattern fills every box of one film
    warned = [(r["sop_class"], r["status"], r["meaning"], r["category"]) for r in rep["responses"]
              if r["status"] != "0x0000"]
    assert warned == [("Basic Film Box", "0xB605", "DENSITY_OUT_OF_RANGE", "warning")]
    # five images in STANDARD\2,1 boxes: three film boxes, printed by one Film Session N-ACTION,
    # with a LIN OD Presentation LUT and the label in annotation box 1 of every film
    five = [*IMAGES, IMAGES[1]]
    proc = run_print(*to(scp), "--format", "STANDARD\\2,1", "--session-print", "--plut", "LIN OD",
                     "--label", "QA week 48", "--annotation-format", "LABEL", "--json", *five)
    assert proc.returncode == 0, proc.stderr
    rep = report(proc)
    assert [r["sop_class"] for r in rep["responses"] if r["operation"] == "N-ACTION"] == [
        "Basic Film Session"]
    assert rep["films_printed"] == 3 and rep["images_sent"] == 5

    store, spool = scp.store(), Spool(scp.data_dir / "spool")
    try:
        pattern_job, session_job = sorted(store.list(), key=lambda j: j.created_at)
        want = tg18_qc_like(1024, 8)
        for position in (1, 2):
            assert np.array_equal(spool.load_pixels(pattern_job, 1, position), want)
        manifest = spool.load_manifest(session_job)
        assert manifest["action"] == "FILM_SESSION" and len(manifest["films"]) == 3
        filled = [[b["image"] is not None for b in f["image_boxes"]] for f in manifest["films"]]
        assert filled == [[True, True], [True, True], [True, False]]
        assert {f["presentation_lut"]["shape"] for f in manifest["films"]} == {"LIN OD"}
        assert [f["annotation_boxes"][0]["text"] for f in manifest["films"]] == ["QA week 48"] * 3
        assert np.array_equal(spool.load_pixels(session_job, 3, 1),
                              load_print_image(IMAGES[1], 12).pixels)
    finally:
        spool.close()


# --- a printer that stops answering -------------------------------------------------------------

def test_printer_that_aborts_mid_film_is_a_failure_with_no_response() -> None:
    """A real pynetdicom SCP on 127.0.0.1 that aborts the association at the first image box:
    the SCU reports the N-SET as unanswered, the problem, and exit status 1."""
    from pydicom.dataset import Dataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid
    from pynetdicom import AE, evt
    from pynetdicom.sop_class import (BasicFilmBox, BasicGrayscaleImageBox,
                                      BasicGrayscalePrintManagementMeta, PrintJob)

    from printserver.scu.images import image_source
    from printserver.scu.session import FilmOptions, PrintSCU

    def on_get(event: Any) -> tuple[int, Dataset]:
        ds = Dataset()
        ds.PrinterStatus, ds.PrinterStatusInfo = "NORMAL", "NORMAL"
        return 0x0000, ds

    def on_create(event: Any) -> tuple[int, Dataset]:
        ds = Dataset()
        if event.request.AffectedSOPClassUID == BasicFilmBox:
            item = Dataset()
            item.ReferencedSOPClassUID = BasicGrayscaleImageBox
            item.ReferencedSOPInstanceUID = generate_uid()
            ds.ReferencedImageBoxSequence = [item]
        ds.AffectedSOPInstanceUID = generate_uid()  # SCP-assigned UID (pitfall P1)
        return 0x0000, ds

    def on_set(event: Any) -> tuple[int, None]:
        event.assoc.abort()
        return 0x0110, None

    ae = AE("ABORTER")
    for uid in (BasicGrayscalePrintManagementMeta, PrintJob):
        ae.add_supported_context(uid, ExplicitVRLittleEndian)
    port = free_port()
    server = ae.start_server(("127.0.0.1", port), block=False, evt_handlers=[
        (evt.EVT_N_GET, on_get), (evt.EVT_N_CREATE, on_create), (evt.EVT_N_SET, on_set)])
    try:
        scu = PrintSCU("127.0.0.1", port, "ABORTER", timeout=10)
        result = scu.print([image_source(IMAGES[0])], FilmOptions())
    finally:
        server.shutdown()
    assert [(r.operation, r.status) for r in result.responses] == [
        ("N-GET", 0), ("N-CREATE", 0), ("N-CREATE", 0), ("N-SET", None)]
    assert result.responses[-1].category == "no response"
    assert "association aborted" in result.problem
    assert result.exit_status == 1 and result.films_printed == 0


def test_quick_rejections_are_reported_as_rejections(tmp_path: Path) -> None:
    """pynetdicom 3.0.4 reports about 1 in 50 quick A-ASSOCIATE-RJs as an abort; the Print SCU
    notes the RJ as it arrives (RejectionWatch) and names its reason every time."""
    from printserver.scu.session import AssociationError, PrintSCU
    from scp_fixtures import InProcessServer

    server = InProcessServer(tmp_path / "scp")
    try:
        scu = PrintSCU("127.0.0.1", server.port, "NOSUCHPRINTER", timeout=10)
        for _ in range(40):
            with pytest.raises(AssociationError, match=r"rejected the association .*reason 0x07"):
                scu._associate(want_plut=False, want_annotation=False)
    finally:
        server.stop()
