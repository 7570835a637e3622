"""The cups output against a real, private cupsd with CUPS-PDF queues (tests/cups_fixtures.py):
films come out of CUPS as PDFs of the film size; a stopped queue turns the printer FAILURE and the
job waits; enabled again, the job prints exactly once; cancel reaches the CUPS job."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime, timezone

import numpy as np
import pytest
from pypdf import PdfReader

from conftest import require_tool
from printserver.jobs import JobState
from printserver.jobs.worker import Worker
from printserver.outputs.cups import media_for
from scp_fixtures import (FILM_BOX, IMAGE_BOX, PRINTER, PRINTER_INSTANCE, REPO, InProcessServer,
                          PrintSCU, image_box_ds)
from test_worker import page_mm, print_job, wait_for

pytestmark = pytest.mark.cups

TOOLS = ("cupsd", "lpadmin", "lp", "lpstat", "cancel", "cupsenable", "cupsdisable", "ipptool")


@pytest.fixture(scope="module")
def cups():
    from cups_fixtures import CupsServer

    for tool in TOOLS:
        require_tool(tool)
    if os.geteuid() != 0:
        pytest.skip("the cups-pdf backend runs only under a cupsd started as root (CI is root)")
    server = CupsServer().start()
    yield server
    server.stop()


def config(cups, queue: str, extra: str = "") -> str:
    cups.add_pdf_queue(queue)
    return f"""
[[printers]]
ae_title = "PAPER"
name = "paper printer"
resolution_dpi = {{ STANDARD = 50 }}
output = {{ kind = "cups", queue = "{queue}", host = "127.0.0.1", port = {cups.port} }}
{extra}
[workers]
count = 1
poll_interval = 0.1
follow_interval = 0.3
retry_delay = 0.5
retry_max_delay = 1.0
probe_interval = 0.5
"""


def run_until_finished(srv, job_id: str, timeout: float = 60.0):
    """Run a worker in this process until the job is finished; return it."""
    worker = Worker(srv.config, srv.store, srv.spool, "test:w1")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.run_once() is None:
            time.sleep(0.1)
        job = srv.store.get(job_id)
        if job.finished:
            return job
    raise AssertionError(f"job {job_id} not finished after {timeout} s: {srv.store.get(job_id)}")


def run_when_due(worker: Worker, timeout: float = 30.0):
    """``worker.run_once()`` until it claims a job (one waiting for its retry or follow time);
    return the job as recorded."""
    deadline = time.monotonic() + timeout
    while (job := worker.run_once()) is None:
        assert time.monotonic() < deadline, f"no job due after {timeout} s"
        time.sleep(0.05)
    return job


def new_pdfs(cups, before: set, count: int, timeout: float = 30.0) -> list:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fresh = [p for p in cups.pdfs() if p not in before]
        if len(fresh) >= count:
            return fresh
        time.sleep(0.2)
    return [p for p in cups.pdfs() if p not in before]


def test_media_names():
    assert media_for("A4", 210, 297) == "A4" and media_for("A3", 420, 297) == "A3"
    assert media_for("8_5INX11IN", 215.9, 279.4) == "Letter"
    assert media_for("14INX17IN", 431.8, 355.6) == "Custom.355.6x431.8mm"
    assert media_for("24CMX30CM", 240, 300) == "Custom.240x300mm"
    assert media_for("14INX17IN", 355.6, 431.8, {"14INX17IN": "na_14x17"}) == "na_14x17"


def test_films_come_out_of_cups_as_pdfs_of_the_film_size(cups, tmp_path):
    srv = InProcessServer(tmp_path / "srv", config(cups, "paper1"))
    try:
        before = set(cups.pdfs())
        job = print_job(srv, called="PAPER", fmt="STANDARD\\1,2", copies=2,
                        FilmSizeID="14INX17IN", FilmOrientation="PORTRAIT")
        worker = Worker(srv.config, srv.store, srv.spool, "test:w1")
        printing = worker.run_once()
        assert printing.state is JobState.PRINTING, printing.message
        (reference,) = printing.output_ref.split()
        assert reference.startswith("paper1-") and printing.printing_at
        done = run_until_finished(srv, job.job_id)
        assert done.state is JobState.DONE, done.message
        assert f"printed as {reference}" in done.message and done.attempts == 1
        assert reference in cups.completed("paper1")
        (film,) = srv.store.films(job.job_id)
        sent = PdfReader(film.pdf_files[0]).pages  # one copy rendered; CUPS makes the copies
        assert len(sent) == 1
        (pdf,) = new_pdfs(cups, before, 1)
        pages = PdfReader(pdf).pages
        assert len(pages) == 2  # two copies
        for page in pages:
            width, height = page_mm(page)
            assert width == pytest.approx(355.6, abs=1) and height == pytest.approx(431.8, abs=1)
        state = srv.store.printer_state("PAPER")
        assert (state.output_status, state.output_status_info) == ("NORMAL", "NORMAL")

        before = set(cups.pdfs())
        a4 = print_job(srv, called="PAPER", fmt="STANDARD\\1,1", FilmSizeID="A4",
                       FilmOrientation="PORTRAIT")
        assert run_until_finished(srv, a4.job_id).state is JobState.DONE
        (pdf,) = new_pdfs(cups, before, 1)
        (page,) = PdfReader(pdf).pages
        width, height = page_mm(page)
        assert width == pytest.approx(210, abs=1) and height == pytest.approx(297, abs=1)
    finally:
        srv.stop()


def test_the_paper_printers_characteristic_curve_is_applied(cups, tmp_path):
    from printserver.layout.device import MeasuredPrinterProfile

    curve = tmp_path / "paper.csv"  # a reflection step wedge: DDL 0 darkest, 255 paper white
    curve.write_text("ddl,od\n0,2.05\n64,1.20\n128,0.62\n192,0.25\n255,0.06\n")
    text = config(cups, "paper6", f'characteristic_file = "{curve}"\n')
    text = text.replace("[workers]", f'[[printers]]\nae_title = "LIGHTBOX"\n'
                        f'resolution_dpi = {{ STANDARD = 50 }}\n'
                        f'output = {{ kind = "cups", queue = "paper6", host = "127.0.0.1", '
                        f'port = {cups.port} }}\n\n[workers]')
    srv = InProcessServer(tmp_path / "srv", text)
    try:
        values = {}
        for printer in ("PAPER", "LIGHTBOX"):
            job = print_job(srv, called=printer, fmt="STANDARD\\1,1", BorderDensity="WHITE",
                            EmptyImageDensity="WHITE", FilmSizeID="A4")
            assert run_until_finished(srv, job.job_id).state is JobState.DONE
            (film,) = srv.store.films(job.job_id)
            (image,) = PdfReader(film.pdf_files[0]).pages[0].images
            values[printer] = image.image.convert("L").getpixel((0, 0))
        # the white border is Min Density 0.20 OD: sent as the drive level the paper prints at
        # 0.20 OD, not the light box's sRGB grey (208)
        expected = int(MeasuredPrinterProfile.from_file(curve).drive_lut()[200])
        assert values["PAPER"] == expected and 192 < expected < 255
        assert values["LIGHTBOX"] == 208
    finally:
        srv.stop()


def test_a_missing_queue_is_check_printer_and_the_job_waits(cups, tmp_path):
    text = config(cups, "paper2").replace('queue = "paper2"', 'queue = "nosuchqueue"')
    srv = InProcessServer(tmp_path / "srv", text)
    try:
        job = print_job(srv, called="PAPER", fmt="STANDARD\\1,1")
        waiting = Worker(srv.config, srv.store, srv.spool, "test:w1").run_once()
        assert waiting.state is JobState.QUEUED and waiting.retries == 1, waiting.message
        assert "no queue 'nosuchqueue'" in waiting.message and waiting.retry_at
        state = srv.store.printer_state("PAPER")
        assert (state.output_status, state.output_status_info) == ("FAILURE", "CHECK PRINTER")
        with srv.scu(called="PAPER") as scu:
            r = scu.get(PRINTER, PRINTER_INSTANCE, [0x21100010, 0x21100020])
            assert (r.dataset.PrinterStatus, r.dataset.PrinterStatusInfo) == (
                "FAILURE", "CHECK PRINTER")
        assert srv.store.get(job.job_id).state is JobState.QUEUED
    finally:
        srv.stop()


def test_a_rejecting_queue_is_printer_offline_until_it_accepts_again(cups, tmp_path):
    srv = InProcessServer(tmp_path / "srv", config(cups, "paper3"))
    try:
        job = print_job(srv, called="PAPER", fmt="STANDARD\\1,1")
        worker = Worker(srv.config, srv.store, srv.spool, "test:w1")
        cups.tool("cupsreject", "-r", "maintenance", "paper3")
        waiting = worker.run_once()  # checked before rendering: nothing is sent
        assert waiting.state is JobState.QUEUED and "rejects jobs: maintenance" in waiting.message
        assert cups.not_completed("paper3") == [] and cups.completed("paper3") == []
        state = srv.store.printer_state("PAPER")
        assert (state.output_status, state.output_status_info) == ("FAILURE", "PRINTER OFFLINE")
        assert waiting.retry_at > waiting.updated_at  # not claimed before it (unit-tested)
        cups.tool("cupsaccept", "paper3")
        assert run_when_due(worker).state is JobState.PRINTING  # at its retry time
        assert run_until_finished(srv, job.job_id).state is JobState.DONE
        assert srv.store.printer_state("PAPER").output_status == "NORMAL"
    finally:
        srv.stop()


def test_cancel_while_printing_cancels_the_cups_job(cups, tmp_path):
    from printserver.jobs import lifecycle

    held = 'output = { kind = "cups", queue = "paper5", host = "127.0.0.1", ' \
           f'port = {cups.port}, options = {{ job-hold-until = "indefinite" }} }}'
    text = config(cups, "paper5")
    text = "\n".join(held if line.startswith("output =") else line for line in text.splitlines())
    srv = InProcessServer(tmp_path / "srv", text)
    try:
        before = set(cups.pdfs())
        job = print_job(srv, called="PAPER", fmt="STANDARD\\1,1")
        worker = Worker(srv.config, srv.store, srv.spool, "test:w1")
        printing = worker.run_once()
        assert printing.state is JobState.PRINTING
        (reference,) = printing.output_ref.split()
        followed = run_when_due(worker)  # asked at its follow time: held in CUPS, still printing
        assert (followed.job_id, followed.state) == (job.job_id, JobState.PRINTING)
        assert cups.not_completed("paper5") == [reference]

        marked = lifecycle.cancel(srv.store, job.job_id)
        assert marked.state is JobState.PRINTING and marked.cancel_requested
        cancelled = worker.run_once()  # followed at once, not at the next follow time
        assert cancelled.job_id == job.job_id and cancelled.state is JobState.CANCELLED
        assert reference in cancelled.message
        assert cups.not_completed("paper5") == [] and reference in cups.completed("paper5")
        assert not [p for p in cups.pdfs() if p not in before]
        assert len(srv.store.films(job.job_id)) == 1  # the rendered film stays recorded
    finally:
        srv.stop()


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "printserver", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=60)


def print_film(port: int, film_size: str, pixels: np.ndarray) -> None:
    """One 1 x 1 film to the PAPER printer of a serve, over DICOM."""
    with PrintSCU(port, called="PAPER") as scu:
        fs = scu.film_session()
        fb = scu.film_box(fs, "STANDARD\\1,1", FilmSizeID=film_size)
        (box,) = [i.ReferencedSOPInstanceUID for i in fb.dataset.ReferencedImageBoxSequence]
        assert scu.set(IMAGE_BOX, box, image_box_ds(1, pixels)).status == 0
        assert scu.action(FILM_BOX, fb.affected_uid).status == 0


def printer_status_over_dicom(port: int) -> tuple[str, str]:
    with PrintSCU(port, called="PAPER") as scu:
        r = scu.get(PRINTER, PRINTER_INSTANCE, [0x21100010, 0x21100020])
        assert r.status == 0, hex(r.status)
        return r.dataset.PrinterStatus, r.dataset.PrinterStatusInfo


def printers_list(scp) -> dict:
    out = cli("printers", "list", "--json", "--config", str(scp.config_path),
              "--data-dir", str(scp.data_dir))
    assert out.returncode == 0, out.stderr
    (row,) = json.loads(out.stdout)
    return row


def test_stopped_queue_fails_the_printer_and_the_job_waits_then_prints_once(cups,
                                                                         print_scp_factory):
    queue = "paper4"
    scp = print_scp_factory(config(cups, queue))
    assert printer_status_over_dicom(scp.port) == ("NORMAL", "NORMAL")
    cups.disable(queue, "out of paper")
    # serve's probe sees the stopped queue while no job is printing
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and printers_list(scp)["status"] != "FAILURE":
        time.sleep(0.2)
    assert printer_status_over_dicom(scp.port) == ("FAILURE", "PRINTER OFFLINE")
    before = set(cups.pdfs())
    ramp = (np.arange(64 * 64, dtype=np.uint32).reshape(64, 64) % 4096).astype(np.uint16)
    print_film(scp.port, "14INX17IN", ramp)
    store = scp.store()
    (job,) = store.list()

    # the job waits (retried with back-off), the printer is FAILURE / PRINTER OFFLINE
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and store.get(job.job_id).retries < 2:
        time.sleep(0.1)
    waiting = store.get(job.job_id)
    assert waiting.state is JobState.QUEUED and waiting.retries >= 2, waiting
    assert "stopped: out of paper" in waiting.message
    assert printer_status_over_dicom(scp.port) == ("FAILURE", "PRINTER OFFLINE")
    row = printers_list(scp)
    assert (row["status"], row["status_info"]) == ("FAILURE", "PRINTER OFFLINE")
    assert row["queue_length"] == 1 and "out of paper" in row["message"]
    assert cups.not_completed(queue) == [] and not [p for p in cups.pdfs() if p not in before]

    # started again: printed once, the printer NORMAL again
    cups.enable(queue)
    done = wait_for(store, job.job_id, {"DONE", "FAILED", "CANCELLED"}, timeout=60)
    assert done.state is JobState.DONE, done.message
    assert len(cups.completed(queue)) == 1 and done.output_ref == cups.completed(queue)[0]
    assert len(new_pdfs(cups, before, 1)) == 1
    # the worker goes on claiming and following: a later job goes through the same rounds (the
    # waiting job, older, would be claimed before it), and nothing of the first is sent again
    print_film(scp.port, "A4", ramp)
    (later,) = [j for j in store.list() if j.job_id != job.job_id]
    later = wait_for(store, later.job_id, {"DONE", "FAILED", "CANCELLED"}, timeout=60)
    assert later.state is JobState.DONE, later.message
    assert sorted(cups.completed(queue)) == sorted([done.output_ref, later.output_ref])
    assert cups.not_completed(queue) == [] and len(new_pdfs(cups, before, 2)) == 2
    assert store.get(job.job_id).attempts == done.attempts
    assert printer_status_over_dicom(scp.port) == ("NORMAL", "NORMAL")
    assert printers_list(scp)["status"] == "NORMAL"


def test_a_job_already_in_cups_is_not_sent_again(cups, tmp_path):
    """A worker that died between lp and recording the CUPS job id: the retry finds the job by
    its title and sends nothing."""
    from printserver.outputs import open_output

    srv = InProcessServer(tmp_path / "srv", config(cups, "paper7"))
    try:
        job = print_job(srv, called="PAPER", fmt="STANDARD\\1,1")
        manifest = srv.spool.load_manifest(job)
        output = open_output(srv.config.printer("PAPER"), srv.config)

        def load(film: int, position: int):
            return srv.spool.load_pixels(job, film, position, manifest)

        first = output.deliver(manifest, load)
        again = output.deliver(manifest, load)
        assert first.references == again.references and len(first.references) == 1
        all_jobs = cups.tool("lpstat", "-W", "all", "-o", "paper7").stdout.splitlines()
        assert len(all_jobs) == 1
    finally:
        srv.stop()


def test_kill_9_while_printing_follows_the_same_cups_job_after_restart(cups, print_scp_factory):
    queue = "paper8"
    text = config(cups, queue).replace(
        f'port = {cups.port} }}', f'port = {cups.port}, options = {{ job-hold-until = '
        f'"indefinite" }} }}')
    scp = print_scp_factory(text)
    before = set(cups.pdfs())
    print_film(scp.port, "A4", np.full((32, 32), 2000, np.uint16))
    store = scp.store()
    (job,) = store.list()
    printing = wait_for(store, job.job_id, {"PRINTING", "FAILED"}, timeout=30)
    assert printing.state is JobState.PRINTING and printing.output_ref
    scp.kill()
    restarted_at = datetime.now(timezone.utc)
    scp.restart()
    # the restarted serve follows the job (a follow round records its next follow time; a
    # requeue at start clears it): still held in CUPS, still PRINTING
    deadline = time.monotonic() + 30
    while not ((followed := store.get(job.job_id)).retry_at
               and datetime.fromisoformat(followed.updated_at) > restarted_at):
        assert time.monotonic() < deadline, f"not followed after the restart: {followed}"
        time.sleep(0.05)
    assert followed.state is JobState.PRINTING and followed.output_ref == printing.output_ref
    cups.tool("lp", "-i", printing.output_ref.rsplit("-", 1)[1], "-H", "resume")
    done = wait_for(store, job.job_id, {"DONE", "FAILED", "CANCELLED"}, timeout=60)
    assert done.state is JobState.DONE and done.attempts == 1, done.message
    assert done.output_ref == printing.output_ref
    assert len(cups.tool("lpstat", "-W", "all", "-o", queue).stdout.splitlines()) == 1
    assert len(new_pdfs(cups, before, 1)) == 1
    log = scp.log_path.read_text()
    assert log.count(f"job {job.job_id}: DONE, printed as {done.output_ref}") == 1
    assert log.count(f"job {job.job_id}: PRINTING as") == 1  # sent once, before the kill
