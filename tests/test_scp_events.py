"""Print Job and Printer N-EVENT-REPORTs from ``printserver serve`` to pynetdicom SCUs (PS3.4
H.4.5.1, H.4.6.1), over real associations on 127.0.0.1 with the render workers running.

One server for the module (a 50 dpi printer so that films render in a fraction of a second):
PRINTSCP writes PDFs, BROKEN has a CUPS output without a queue (the worker fails every job),
OTHER is a second PDF printer.

No test sleeps to see that nothing came: :func:`notifier_barrier` waits until the notifier has
polled twice after the moment of interest, and a request then flushes to its association
whatever those polls queued (an event waiting for an association goes out before the response
to the SCU's next request).
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from scp_fixtures import (FILM_BOX, FILM_SESSION, IMAGE_BOX, META, PRINT_JOB, PRINTER,
                          PRINTER_INSTANCE, REPO, PrintSCU, ServerProcess, free_port,
                          image_box_ds)

CONFIG = """
[workers]
count = 1
poll_interval = 0.1

[[printers]]
ae_title = "PRINTSCP"
name = "events printer"
resolution_dpi = { STANDARD = 50 }
output = { kind = "pdf", path = "films" }

[[printers]]
ae_title = "BROKEN"
resolution_dpi = { STANDARD = 50 }
output = { kind = "cups" }

[[printers]]
ae_title = "OTHER"
resolution_dpi = { STANDARD = 50 }
output = { kind = "pdf", path = "films-other" }
"""

#: PS3.3 C.13.9.1 Printer Status Info / Execution Status Info terms a FAILURE may carry here
FAILURE_INFO = {"UNKNOWN", "INVALID PAGE DES", "INSUFFIC MEMORY", "CHECK PRINTER", "PRINTER DOWN"}


@pytest.fixture(scope="module")
def scp(tmp_path_factory):
    base = tmp_path_factory.mktemp("events")
    cfg = base / "printserver.toml"
    cfg.write_text(CONFIG)
    server = ServerProcess("127.0.0.1", free_port(), "PRINTSCP", base / "data", cfg,
                           base / "server.log")
    server.start()
    yield server
    server.stop()


class TrackingSCU(PrintSCU):
    """PrintSCU that notes whether one of its own requests was in flight when an event came."""

    def __init__(self, *args, **kw) -> None:
        self.busy = threading.Event()
        self.events_while_busy = 0
        super().__init__(*args, **kw)

    def _on_event(self, event):
        if self.busy.is_set():
            self.events_while_busy += 1
        return super()._on_event(event)

    def call(self, method, *args):
        self.busy.set()
        try:
            return method(*args)
        finally:
            self.busy.clear()


def print_film(scu: PrintSCU, label: str = "events study") -> tuple[str, str, str]:
    """One 1x1 film; returns (film session UID, film box UID, Print Job UID of the N-ACTION)."""
    fs = scu.film_session(FilmSessionLabel=label)
    fb = scu.film_box(fs, "STANDARD\\1,1", FilmSizeID="8INX10IN")
    assert fb.status == 0, hex(fb.status)
    (box,) = [i.ReferencedSOPInstanceUID for i in fb.dataset.ReferencedImageBoxSequence]
    pixels = np.arange(32 * 32, dtype=np.uint16).reshape(32, 32) * 4
    assert scu.set(IMAGE_BOX, box, image_box_ds(1, pixels)).status == 0
    act = scu.action(FILM_BOX, fb.affected_uid)
    assert act.status == 0, hex(act.status)
    (item,) = act.dataset[0x21000500].value
    assert item.ReferencedSOPClassUID == PRINT_JOB
    return fs, fb.affected_uid, str(item.ReferencedSOPInstanceUID)


def job_events(scu: PrintSCU, uid: str) -> list:
    return [e for e in scu.event_reports if e.class_uid == PRINT_JOB and e.instance_uid == uid]


def wait_until(predicate, timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def final_event(scu: PrintSCU, uid: str) -> bool:
    return any(e.event_type in (3, 4) for e in job_events(scu, uid))


def notifier_barrier(scp: ServerProcess) -> None:
    """Return once the event notifier has run two whole polls of the job store since the call:
    OTHER's Printer Status changes (pause, then resume) and an association to OTHER is told of
    each. Events those polls queued for other associations went out by the time each answers
    its next request."""
    with PrintSCU(scp.port, called="OTHER", contexts=(PRINTER,)) as marker:
        assert marker.get(PRINTER, PRINTER_INSTANCE).status == 0  # subscribed by now
        try:
            printers_cli(scp, "pause", "OTHER")
            wait_until(lambda: len(printer_events(marker)) == 1, 10, "OTHER's WARNING")
        finally:
            printers_cli(scp, "resume", "OTHER")
        wait_until(lambda: len(printer_events(marker)) == 2, 10, "OTHER's NORMAL")


def test_good_job_pending_printing_done_in_order(scp):
    with PrintSCU(scp.port) as scu:
        fs, fb, uid = print_film(scu)
        wait_until(lambda: final_event(scu, uid), what="DONE")  # no requests meanwhile
        notifier_barrier(scp)
        pj = scu.get(PRINT_JOB, uid)  # and whatever came after DONE has come
        events = job_events(scu, uid)
        assert [e.event_type for e in events] == [1, 2, 3]
        assert [e.information.ExecutionStatusInfo for e in events] == ["QUEUED", "NORMAL",
                                                                       "NORMAL"]
        for e in events:
            assert e.information.FilmSessionLabel == "events study"
            assert e.information.PrinterName == "events printer"
        assert len(scu.event_reports) == 3  # and no Printer event: the printer did not change
        assert pj.status == 0
        assert (pj.dataset.ExecutionStatus, pj.dataset.ExecutionStatusInfo) == ("DONE", "NORMAL")
        assert scu.delete(FILM_BOX, fb).status == 0
        assert scu.delete(FILM_SESSION, fs).status == 0
        assert scu.is_established
    job = scp.store().get_by_uid(uid)
    assert job is not None and job.state.value == "DONE"


def test_failing_job_gives_failure_with_execution_status_info(scp):
    with PrintSCU(scp.port, called="BROKEN") as scu:
        fs, fb, uid = print_film(scu, "broken study")
        wait_until(lambda: final_event(scu, uid), what="FAILURE")
        events = job_events(scu, uid)
        types = [e.event_type for e in events]
        assert types[0] == 1 and types[-1] == 4 and set(types) <= {1, 2, 4}, types
        assert types == sorted(types)
        failure = events[-1].information
        assert failure.ExecutionStatusInfo in FAILURE_INFO
        assert failure.FilmSessionLabel == "broken study"
        pj = scu.get(PRINT_JOB, uid)
        assert pj.status == 0 and pj.dataset.ExecutionStatus == "FAILURE"
        assert scu.delete(FILM_SESSION, fs).status == 0
    job = scp.store().get_by_uid(uid)
    assert job.state.value == "FAILED" and "needs output.queue" in job.message


def test_requests_right_after_n_action_race_with_events(scp):
    """N-DELETEs right after the N-ACTION, then N-GET Print Job polled without pause until DONE
    arrives: the events come while the SCU's requests are in flight; every request is answered
    correctly, every event arrives, in order, and the association is never aborted."""
    collisions = 0
    log_start = scp.log_path.stat().st_size
    for attempt in range(10):
        scu = TrackingSCU(scp.port)
        assert scu.is_established
        fs, fb, uid = print_film(scu, f"race {attempt}")
        assert scu.call(scu.delete, FILM_BOX, fb).status == 0
        assert scu.call(scu.delete, FILM_SESSION, fs).status == 0
        deadline = time.monotonic() + 30
        seen = []
        while not final_event(scu, uid):
            assert time.monotonic() < deadline, f"attempt {attempt}: no DONE"
            assert scu.is_established, f"attempt {attempt}: association ended"
            pj = scu.call(scu.get, PRINT_JOB, uid)
            assert pj.status == 0
            seen.append(pj.dataset.ExecutionStatus)
            assert scu.call(scu.get, PRINTER, PRINTER_INSTANCE).status == 0
        assert [e.event_type for e in job_events(scu, uid)] == [1, 2, 3], attempt
        assert set(seen) <= {"PENDING", "PRINTING", "DONE"}
        assert seen == sorted(seen, key=["PENDING", "PRINTING", "DONE"].index)
        assert scu.is_established
        collisions += scu.events_while_busy
        scu.release()
        assert scu.assoc.is_released and not scu.assoc.is_aborted
    # PENDING comes inside the N-ACTION; PRINTING and DONE (20 events) while the SCU polls: each
    # goes out just before a response, so while one of the SCU's requests is in flight, unless
    # the SCU sat idle for the SCP's quiet time (0.5 s) between two requests
    assert collisions > 0
    log = scp.log_path.read_bytes()[log_start:].decode()
    assert "dropped" not in log and "abort" not in log.lower()


def test_no_print_job_context_no_events(scp):
    before = {j.job_id for j in scp.store().list()}
    with PrintSCU(scp.port, contexts=(META,)) as scu:
        fs = scu.film_session(FilmSessionLabel="no print job")
        fb = scu.film_box(fs, "STANDARD\\1,1", FilmSizeID="8INX10IN")
        (box,) = [i.ReferencedSOPInstanceUID for i in fb.dataset.ReferencedImageBoxSequence]
        assert scu.set(IMAGE_BOX, box, image_box_ds(1, np.zeros((16, 16), np.uint16))).status == 0
        act = scu.action(FILM_BOX, fb.affected_uid)
        assert act.status == 0 and not act.dataset  # no Referenced Print Job Sequence
        store = scp.store()
        (job,) = [j for j in store.list() if j.job_id not in before]
        wait_until(lambda: store.get(job.job_id).state.value == "DONE", what="job DONE")
        notifier_barrier(scp)
        assert scu.delete(FILM_SESSION, fs).status == 0
        assert scu.event_reports == []
        assert scu.get(PRINTER, PRINTER_INSTANCE).dataset.PrinterStatus == "NORMAL"
        assert scu.is_established


def printers_cli(scp: ServerProcess, *args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "printserver", "printers", *args,
                           "--config", str(scp.config_path), "--data-dir", str(scp.data_dir)],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def printer_events(scu: PrintSCU) -> list:
    return [e for e in scu.event_reports if e.class_uid == PRINTER]


def test_printer_pause_and_resume_are_sent_to_that_printers_associations(scp):
    meta = PrintSCU(scp.port)
    standalone = PrintSCU(scp.port, contexts=(PRINTER,))
    print_job_only = PrintSCU(scp.port, contexts=(PRINT_JOB,))
    other = PrintSCU(scp.port, called="OTHER")
    scus = (meta, standalone, print_job_only, other)
    try:
        assert all(s.is_established for s in scus)
        for scu in (meta, standalone, other):  # answered: subscribed, with the status of now
            assert scu.get(PRINTER, PRINTER_INSTANCE).status == 0
        assert print_job_only.get(PRINT_JOB, "1.2.3.4").status == 0x0112
        printers_cli(scp, "pause", "PRINTSCP")
        wait_until(lambda: printer_events(meta) and printer_events(standalone), 10,
                   "Printer WARNING")
        for scu in (meta, standalone):
            (warning,) = printer_events(scu)
            assert warning.instance_uid == PRINTER_INSTANCE and warning.event_type == 2
            assert warning.information.PrinterStatusInfo == "PRINTER OFFLINE"
            assert warning.information.PrinterName == "events printer"
        status = meta.get(PRINTER, PRINTER_INSTANCE).dataset
        assert (status.PrinterStatus, status.PrinterStatusInfo) == ("WARNING", "PRINTER OFFLINE")
        printers_cli(scp, "resume", "PRINTSCP")
        wait_until(lambda: len(printer_events(meta)) == 2 and len(printer_events(standalone)) == 2,
                   10, "Printer NORMAL")
        for scu in (meta, standalone):
            normal = printer_events(scu)[-1]
            assert normal.event_type == 1 and normal.instance_uid == PRINTER_INSTANCE
        # the poll that found the pause has queued all it would for anyone: flush and look
        assert print_job_only.get(PRINT_JOB, "1.2.3.4").status == 0x0112
        assert other.get(PRINTER, PRINTER_INSTANCE).status == 0
        assert print_job_only.event_reports == [] and other.event_reports == []
        assert all(s.is_established for s in scus)
    finally:
        printers_cli(scp, "resume", "PRINTSCP")
        for scu in scus:
            scu.release()


def test_scu_without_event_handler_answers_0110_and_keeps_its_association(scp):
    """Pitfall P16: a pynetdicom SCU without an EVT_N_EVENT_REPORT handler answers 0110; the
    SCP takes that as an answer and goes on."""
    from pynetdicom import evt

    log_start = scp.log_path.stat().st_size
    with PrintSCU(scp.port, calling="NOHANDLER") as scu:
        scu.assoc.unbind(evt.EVT_N_EVENT_REPORT, scu._on_event)
        fs, fb, uid = print_film(scu, "no handler")
        assert scu.delete(FILM_BOX, fb).status == 0
        done = f"events for NOHANDLER: Print Job DONE ({uid}) answered 0x0110"
        wait_until(lambda: done in scp.log_path.read_bytes()[log_start:].decode(),
                   what="DONE answered 0110")
        pj = scu.get(PRINT_JOB, uid)
        assert pj.status == 0 and pj.dataset.ExecutionStatus == "DONE"
        assert scu.delete(FILM_SESSION, fs).status == 0
        assert scu.is_established and scu.event_reports == []
    log = scp.log_path.read_bytes()[log_start:].decode()
    for name in ("PRINTING", "DONE"):
        assert f"events for NOHANDLER: Print Job {name} ({uid}) answered 0x0110" in log


def test_release_right_after_n_action_drops_the_events_quietly(scp):
    with PrintSCU(scp.port, calling="QUICK") as scu:
        _fs, _fb, uid = print_film(scu, "quick")
    store = scp.store()
    job = store.get_by_uid(uid)
    wait_until(lambda: store.get(job.job_id).state.value == "DONE", what="job DONE")
    with PrintSCU(scp.port, contexts=(PRINT_JOB,)) as later:  # N-GET on a later association
        pj = later.get(PRINT_JOB, uid)
        assert pj.status == 0 and pj.dataset.ExecutionStatus == "DONE"
        notifier_barrier(scp)
        assert later.get(PRINT_JOB, uid).status == 0
        assert later.event_reports == []  # events only on the association that made the job
    errors = [line for line in scp.log_path.read_text().splitlines()
              if " ERROR printserver" in line or "Exception in thread" in line]
    assert errors == []
