"""The render worker: queued jobs become PDF films in the printer's folder, recorded on the job;
bad input fails only its own job; the job store claims each job once, in priority order."""

from __future__ import annotations

import copy
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pypdf import PdfReader

from printserver.jobs import Job, JobState
from printserver.jobs.hold import HOLD_DIR_VARIABLE, HoldFolder, HoldPoint
from printserver.jobs.worker import Worker
from printserver.jobs.writer import JobWriter
from scp_fixtures import (FILM_BOX, IMAGE_BOX, REPO, InProcessServer, image_box_ds,
                          wait_process_gone)
from store_helpers import set_state

MM_PER_PT = 25.4 / 72

CONFIG = """
[[printers]]
ae_title = "PRINTSCP"
resolution_dpi = { STANDARD = 50 }
output = { kind = "pdf", path = "films", filename_template = "{printer}_{job_id}_film{film}.pdf" }

[[printers]]
ae_title = "PAPER"
resolution_dpi = { STANDARD = 50 }
output = { kind = "cups" }
"""


@pytest.fixture
def srv(tmp_path):
    server = InProcessServer(tmp_path / "srv", CONFIG)
    yield server
    server.stop()


def print_job(srv: InProcessServer, *, called: str = "PRINTSCP", fmt: str = "STANDARD\\2,2",
              copies: int = 1, size: tuple[int, int] = (40, 40), **film: str) -> Job:
    """Print one film through the Print SCP over loopback; return the job it queued."""
    before = {j.job_id for j in srv.store.list()}
    with srv.scu(called=called) as scu:
        fs = scu.film_session(NumberOfCopies=copies)
        fb = scu.film_box(fs, fmt, **film)
        assert fb.status == 0, hex(fb.status)
        boxes = [i.ReferencedSOPInstanceUID for i in fb.dataset.ReferencedImageBoxSequence]
        for position, uid in enumerate(boxes, start=1):
            pixels = np.full(size, 800 * position, np.uint16)
            status = scu.set(IMAGE_BOX, uid, image_box_ds(position, pixels)).status
            assert status in (0, 0xB604), hex(status)  # B604: will be demagnified
        assert scu.action(FILM_BOX, fb.affected_uid).status == 0
    (job,) = [j for j in srv.store.list() if j.job_id not in before]
    return job


def resubmit(srv: InProcessServer, job: Job, job_id: str, change) -> Job:
    """A new queued job made from ``job``'s spool files with ``change(manifest)`` applied, written
    through the same spool + store path the SCP uses (for input the SCP itself would refuse)."""
    manifest = copy.deepcopy(srv.spool.load_manifest(job))
    files = {b["image"]["file"]: (srv.spool.job_dir(job) / b["image"]["file"]).read_bytes()
             for f in manifest["films"] for b in f["image_boxes"] if b["image"]}
    manifest["job_id"] = job_id
    change(manifest)
    stamp = (datetime.now(timezone.utc) + timedelta(seconds=len(srv.store.list()))).isoformat()
    row = Job(**{**job.__dict__, "job_id": job_id, "print_job_uid": f"{job.print_job_uid}.{job_id[-1]}",
                 "spool_dir": job_id, "created_at": stamp, "updated_at": stamp})
    return JobWriter(srv.spool, srv.store).submit(row, manifest, files)


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "printserver", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=60)


def page_mm(page) -> tuple[float, float]:
    return float(page.mediabox.width) * MM_PER_PT, float(page.mediabox.height) * MM_PER_PT


# --- (a) a queued job becomes films -----------------------------------------------------------

def test_worker_renders_a_queued_job_to_pdf_and_preview(srv):
    job = print_job(srv, copies=2, FilmSizeID="14INX17IN", FilmOrientation="PORTRAIT")
    worker = Worker(srv.config, srv.store, srv.spool, "test:w1")
    done = worker.run_once()
    assert done.job_id == job.job_id and done.state is JobState.DONE
    assert done.attempts == 1 and done.claimed_by == "test:w1"
    assert done.claimed_at and done.finished_at >= done.claimed_at
    assert done.message.startswith("1 film(s) rendered in")
    assert worker.run_once() is None  # nothing left

    (film,) = srv.store.films(job.job_id)
    folder = srv.config.data_dir / "films"
    # the template has no {copy}: one PDF for the film, one page per copy
    (pdf,) = film.pdf_files
    assert Path(pdf) == (folder / f"PRINTSCP_{job.job_id}_film1.pdf").resolve()
    pages = PdfReader(pdf).pages
    assert len(pages) == film.copies == 2
    for page in pages:
        width, height = page_mm(page)
        assert width == pytest.approx(355.6, abs=0.1) and height == pytest.approx(431.8, abs=0.1)
    assert (film.width_mm, film.height_mm, film.dpi) == (355.6, 431.8, 50.0)
    assert film.render_seconds > 0 and film.warnings == ()
    preview = Path(film.preview)
    assert preview.parent == (srv.config.data_dir / "films" / "previews").resolve()
    with Image.open(preview) as im:
        assert im.size == (700, 850)  # 14 x 17 in at 50 dpi, long side under 1000 px
    assert not [p for p in folder.rglob(".tmp-*")]  # no staging left behind

    shown = cli("jobs", "show", job.job_id, "--json", "--data-dir", str(srv.config.data_dir))
    assert shown.returncode == 0, shown.stderr
    record = json.loads(shown.stdout)["job"]
    assert record["state"] == "DONE" and record["attempts"] == 1 and record["finished_at"]
    assert record["films"][0]["pdf_files"] == [pdf]
    assert record["films"][0]["preview"] == film.preview
    listed = json.loads(cli("jobs", "list", "--json", "--data-dir",
                            str(srv.config.data_dir)).stdout)
    assert listed[0]["films"][0]["pdf_files"] == [pdf] and listed[0]["state"] == "DONE"
    text = cli("jobs", "show", job.job_id, "--data-dir", str(srv.config.data_dir)).stdout
    assert "355.6 x 431.8 mm" in text and pdf in text


def test_default_template_landscape_and_rerender_replaces_files(tmp_path):
    srv = InProcessServer(tmp_path / "srv", '[[printers]]\nae_title = "PRINTSCP"\n'
                                            'resolution_dpi = { STANDARD = 25 }\n')
    try:
        job = print_job(srv, copies=2, fmt="STANDARD\\1,1", FilmSizeID="8INX10IN",
                        FilmOrientation="LANDSCAPE")
        worker = Worker(srv.config, srv.store, srv.spool, "test:w1")
        assert worker.run_once().state is JobState.DONE
        (film,) = srv.store.films(job.job_id)
        # default template {printer}_{job_id}_film{film}_copy{copy}.pdf: one file per copy
        assert [Path(p).name for p in film.pdf_files] == [
            f"PRINTSCP_{job.job_id}_film1_copy1.pdf", f"PRINTSCP_{job.job_id}_film1_copy2.pdf"]
        for pdf in film.pdf_files:
            (page,) = PdfReader(pdf).pages
            width, height = page_mm(page)
            assert width == pytest.approx(254.0, abs=0.1) and height == pytest.approx(203.2, abs=0.1)
        # rendered again (as after a crash): the same files, replaced, not added
        set_state(srv.store, job.job_id, JobState.QUEUED)
        again = worker.run_once()
        assert again.state is JobState.DONE and again.attempts == 2
        assert sorted(p.name for p in (srv.config.data_dir / "films").glob("*.pdf")) == sorted(
            Path(p).name for p in film.pdf_files)
        assert len(srv.store.films(job.job_id)) == 1
    finally:
        srv.stop()


def test_the_hold_hook_holds_a_claimed_job_at_rendering_until_released(srv, tmp_path):
    hold = HoldFolder(tmp_path / "hold")
    first, second = print_job(srv), print_job(srv)
    worker = Worker(srv.config, srv.store, srv.spool, "test:w1",
                    HoldPoint.from_environment(hold.environment))
    results: list[Job] = []
    thread = threading.Thread(target=lambda: results.append(worker.run_once()), daemon=True)
    thread.start()
    held = hold.wait_held()
    assert (held.job_id, held.attempt, held.worker_id, held.pid) == (first.job_id, 1, "test:w1",
                                                                     os.getpid())
    assert srv.store.get(first.job_id).state is JobState.RENDERING and thread.is_alive()
    hold.release(first.job_id)
    thread.join(30)
    assert [j.job_id for j in results] == [first.job_id] and results[0].state is JobState.DONE
    # the worker's stop ends a hold too (it then carries on with its job)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    assert hold.wait_held().job_id == second.job_id
    stop.set()
    thread.join(30)
    assert not thread.is_alive() and srv.store.get(second.job_id).state is JobState.DONE
    # without PRINTSERVER_HOLD_DIR there is no hold point
    assert HoldPoint.from_environment({}) is None


# --- (b) bad input never kills the worker ------------------------------------------------------

def test_bad_jobs_fail_with_a_reason_and_the_next_job_renders(srv):
    template = print_job(srv, fmt="STANDARD\\4,5", size=(200, 200), FilmSizeID="14INX17IN")
    corrupt = print_job(srv, fmt="STANDARD\\1,1")
    pixel_file = srv.spool.job_dir(corrupt) / "film001_box001.raw"
    data = bytearray(pixel_file.read_bytes())
    data[100:104] = bytes(b ^ 0xFF for b in data[100:104])
    pixel_file.write_bytes(bytes(data))

    def fail_if_too_big(manifest):  # slipped past the SCP's own check
        for box in manifest["films"][0]["image_boxes"]:
            box["attributes"]["RequestedDecimateCropBehavior"] = "FAIL"

    def bad_copies(manifest):  # a value render_job does not expect: an internal error
        manifest["copies"] = "many"

    def unknown_film_size(manifest):
        manifest["films"][0]["attributes"]["FilmSizeID"] = "99INX99IN"

    too_big = resubmit(srv, template, "job-too-big-1", fail_if_too_big)
    odd = resubmit(srv, template, "job-bad-copies-2", bad_copies)
    size = resubmit(srv, template, "job-bad-size-3", unknown_film_size)
    truncated = resubmit(srv, template, "job-truncated-4", lambda m: None)
    manifest_path = srv.spool.job_dir(truncated) / "manifest.json"
    manifest_path.write_bytes(manifest_path.read_bytes()[:50])
    paper = print_job(srv, called="PAPER", fmt="STANDARD\\1,1")
    good = print_job(srv, fmt="STANDARD\\1,1")

    worker = Worker(srv.config, srv.store, srv.spool, "test:w1")
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and srv.store.list([JobState.QUEUED, JobState.RENDERING]):
        time.sleep(0.1)
    assert thread.is_alive()  # still looping after every bad job
    stop.set()
    thread.join(10)
    assert not thread.is_alive()

    def final(job: Job) -> Job:
        return srv.store.get(job.job_id)

    assert final(template).state is JobState.DONE
    assert final(template).message.endswith("warning(s)")  # 200 px demagnified: B604 warnings
    expected = {
        corrupt: "SHA-256 does not match",
        too_big: "larger than",
        odd: "internal error: ValueError",
        size: "99INX99IN",
        truncated: "manifest.json: unreadable",
        paper: "output kind 'cups' needs output.queue",
    }
    for job, reason in expected.items():
        record = final(job)
        assert record.state is JobState.FAILED, (job.job_id, record.message)
        assert reason in record.message, record.message
        assert record.finished_at and srv.store.films(job.job_id) == []
    assert final(good).state is JobState.DONE
    # jobs show still shows a job whose manifest is damaged, with the reason
    data_dir = str(srv.config.data_dir)
    shown = cli("jobs", "show", truncated.job_id, "--json", "--data-dir", data_dir)
    assert shown.returncode == 0, shown.stderr
    record = json.loads(shown.stdout)
    assert record["job"]["state"] == "FAILED" and record["manifest"] is None
    assert "manifest unreadable" in record["manifest_error"]
    assert "FAILED" in cli("jobs", "show", truncated.job_id, "--data-dir", data_dir).stdout
    (film,) = srv.store.films(good.job_id)
    assert Path(film.pdf_files[0]).is_file()
    # nothing of a failed job in the output folder
    names = [p.name for p in (srv.config.data_dir / "films").iterdir()]
    assert not [n for n in names if any(j.job_id in n for j in expected)]


# --- the job store: claiming, priorities, requeueing, migration -----------------------------

def _row(job_id: str, priority: str = "MED", minute: int = 0) -> Job:
    stamp = f"2026-01-01T00:{minute:02d}:00.000+00:00"
    return Job(job_id=job_id, print_job_uid=f"1.2.3.{abs(hash(job_id)) % 10**8}",
               state=JobState.QUEUED, printer="PRINTSCP", calling_ae="CT", called_ae="PRINTSCP",
               film_session_label="", print_priority=priority, film_count=1, copies=1,
               created_at=stamp, updated_at=stamp, spool_dir=job_id, manifest_sha256="")


def test_claim_order_requeue_and_claim_checks(job_store):
    with job_store as store:
        store.add(_row("low-oldest", "LOW", 0))
        store.add(_row("med-new", "MED", 3))
        store.add(_row("high-new", "HIGH", 4))
        store.add(_row("med-old", "MED", 1))
        claimed = [store.claim_next("w1").job_id for _ in range(4)]
        assert claimed == ["high-new", "med-old", "med-new", "low-oldest"]
        assert store.claim_next("w1") is None
        assert all(store.get(j).state is JobState.RENDERING for j in claimed)
        # a worker that lost its job cannot record it
        from printserver.jobs.store import ClaimLostError

        with pytest.raises(ClaimLostError):
            store.complete("high-new", "w2", [])
        assert store.get("high-new").state is JobState.RENDERING
        # only the dead worker's jobs when named; max_attempts turns a repeat offender FAILED
        store.requeue_stale(["w-other"])
        assert store.get("high-new").state is JobState.RENDERING
        requeued = store.requeue_stale(max_attempts=3)
        assert {j.job_id for j in requeued} == set(claimed)
        assert all(j.state is JobState.QUEUED and "requeued" in j.message for j in requeued)
        for attempt in (2, 3):
            while (job := store.claim_next("w3")) is not None:
                assert job.attempts == attempt
            store.requeue_stale(max_attempts=3)
        gave_up = store.get("high-new")
        assert gave_up.state is JobState.FAILED and "gave up after 3 attempts" in gave_up.message


CLAIMER = """
import sys
from printserver.config import Config
from printserver.jobs.store import open_job_store
store = open_job_store(Config(database_url=sys.argv[1]))
ids = []
while (job := store.claim_next(sys.argv[2])) is not None:
    ids.append(job.job_id)
print(" ".join(ids))
"""


def test_each_job_is_claimed_by_exactly_one_process(job_store):
    from pg_fixtures import store_url

    store = job_store
    for n in range(60):
        store.add(_row(f"job{n:03d}", minute=n % 60))
    procs = [subprocess.Popen([sys.executable, "-c", CLAIMER, store_url(store), f"p{k}"],
                              cwd=REPO, stdout=subprocess.PIPE, text=True) for k in range(3)]
    outputs = [p.communicate(timeout=60)[0].split() for p in procs]
    claimed = [j for out in outputs for j in out]
    assert sorted(claimed) == [f"job{n:03d}" for n in range(60)]  # all, none twice
    for k, out in enumerate(outputs):
        assert all(store.get(j).claimed_by == f"p{k}" for j in out)


OLD_SCHEMA = """
CREATE TABLE jobs (job_id TEXT PRIMARY KEY, print_job_uid TEXT NOT NULL UNIQUE, state TEXT NOT NULL,
    printer TEXT NOT NULL, calling_ae TEXT NOT NULL, called_ae TEXT NOT NULL,
    film_session_label TEXT NOT NULL, print_priority TEXT NOT NULL, film_count INTEGER NOT NULL,
    copies INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    spool_dir TEXT NOT NULL, manifest_sha256 TEXT NOT NULL, message TEXT NOT NULL DEFAULT '');
INSERT INTO jobs VALUES ('old1', '1.2.9', 'QUEUED', 'PRINTSCP', 'CT', 'PRINTSCP', '', 'MED', 1, 1,
    '2026-01-01T00:00:00.000+00:00', '2026-01-01T00:00:00.000+00:00', 'old1', 'x', '');
"""


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_database_of_the_first_release_is_migrated(backend, tmp_path, request):
    from printserver.config import Config
    from printserver.jobs.migrate import upgrade
    from printserver.jobs.store import open_job_store

    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
        db = sqlite3.connect(tmp_path / "db.sqlite3")
        db.executescript(OLD_SCHEMA)
        db.close()
    else:
        import psycopg

        url = request.getfixturevalue("postgres").new_database()
        with psycopg.connect(url, autocommit=True) as db:
            db.execute(OLD_SCHEMA)
    assert upgrade(Config(database_url=url)).from_revision is None  # no revisions back then
    with open_job_store(Config(database_url=url)) as store:
        old = store.get("old1")
        assert old.state is JobState.QUEUED and old.attempts == 0 and old.claimed_by == ""
        assert store.claim_next("w1").attempts == 1
        assert store.complete("old1", "w1", [], "ok").state is JobState.DONE
    assert not upgrade(Config(database_url=url)).changed  # upgrading twice adds nothing twice
    with open_job_store(Config(database_url=url)) as again:
        assert again.get("old1").finished_at


# --- printserver serve: workers in their own processes ---------------------------------------

def wait_for(store, job_id: str, states: set[str], timeout: float = 60.0) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = store.get(job_id)
        if job is not None and job.state.value in states:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} not {states} after {timeout} s: {store.get(job_id)}")


def test_pool_replaces_a_dead_worker_and_requeues_its_job(tmp_path, monkeypatch):
    import signal

    from printserver.jobs.pool import WorkerPool

    hold = HoldFolder(tmp_path / "hold")
    monkeypatch.setenv(HOLD_DIR_VARIABLE, str(hold.path))  # the pool's workers hold every job
    srv = InProcessServer(tmp_path / "srv", "[workers]\ncount = 1\n")
    pool = WorkerPool(srv.config)
    try:
        job = print_job(srv, fmt="STANDARD\\1,1")
        pool.start()
        held = hold.wait_held()  # claimed: RENDERING, and the worker provably on it
        assert held.job_id == job.job_id and held.attempt == 1
        (pid,) = pool.workers.values()
        assert held.pid == pid and srv.store.get(job.job_id).state is JobState.RENDERING
        os.kill(pid, signal.SIGKILL)
        wait_process_gone(pid)
        hold.release(job.job_id)
        done = wait_for(srv.store, job.job_id, {"DONE", "FAILED"})
        assert done.state is JobState.DONE and done.attempts == 2, done.message
        assert list(pool.workers.values()) != [pid]
        assert done.claimed_by == next(iter(pool.workers)) != held.worker_id
        assert len(list((srv.config.data_dir / "films").glob("*.pdf"))) == 1
        running = list(pool.workers.values())
    finally:
        pool.stop()
        srv.stop()
    for pid in running:  # stopped and reaped
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_pool_stops_after_an_idle_worker_was_killed(tmp_path):
    """A worker killed while it waits for work (kill -9, out of memory) must not hang serve's stop
    (it did with a multiprocessing.Event: the dead waiter stayed counted as a sleeper)."""
    import signal

    from printserver.jobs.pool import WorkerPool
    from scp_fixtures import process_state

    srv = InProcessServer(tmp_path / "srv", "[workers]\ncount = 1\npoll_interval = 600\n")
    pool = WorkerPool(srv.config)
    try:
        job = print_job(srv, fmt="STANDARD\\1,1")
        pool.start()
        assert wait_for(srv.store, job.job_id, {"DONE", "FAILED"}).state is JobState.DONE
        (pid,) = pool.workers.values()
        # one more (empty) claim, then the worker waits 600 s for work or its stop: asleep
        deadline = time.monotonic() + 30
        asleep = 0
        while asleep < 3:  # three looks in a row, 50 ms apart
            asleep = asleep + 1 if process_state(pid) == "S" else 0
            assert time.monotonic() < deadline, f"worker {pid} never idle: {process_state(pid)}"
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)
        wait_process_gone(pid)
    finally:
        stopper = threading.Thread(target=pool.stop, daemon=True)
        stopper.start()
        stopper.join(30)
        srv.stop()
    assert not stopper.is_alive(), "WorkerPool.stop hangs after a worker was killed while idle"


E2E_CONFIG = """
[[printers]]
ae_title = "FILMPDF"
resolution_dpi = { STANDARD = 50, HIGH = 100 }

[workers]
count = 1
"""


@pytest.mark.dcmtk
def test_dcmtk_job_comes_out_of_serve_as_the_requested_pdf(print_scp_factory, tmp_path):
    from conftest import require_tool
    from dcmtk_print import FilmOptions, PrinterProfile, pattern, render, spool, write_config, \
        write_image

    for tool in ("dcmpsprt", "dcmprscu", "pdftoppm"):
        require_tool(tool)
    scp = print_scp_factory(E2E_CONFIG)
    cfg = write_config(tmp_path / "scu", [PrinterProfile(ae_title=scp.ae_title, host=scp.host,
                                                         port=scp.port)])
    files = [write_image(tmp_path / f"i{k}.dcm", pattern(48, 40, 12, seed=k), 12) for k in range(4)]
    stored = render(cfg, files, FilmOptions(columns=2, rows=2, film_size="14INX17IN",
                                            orientation="PORTRAIT", magnification="REPLICATE",
                                            border_density="WHITE"))
    spool(cfg, stored).assert_ok()
    store = scp.store()
    (job,) = store.list()
    job = wait_for(store, job.job_id, {"DONE", "FAILED"})
    assert job.state is JobState.DONE, job.message
    (pdf,) = (scp.data_dir / "films").glob("*.pdf")
    assert pdf.name == f"FILMPDF_{job.job_id}_film1_copy1.pdf"
    (page,) = PdfReader(pdf).pages
    width, height = page_mm(page)
    assert width == pytest.approx(355.6, abs=0.1) and height == pytest.approx(431.8, abs=0.1)

    # the film as a viewer shows it, at 25 dpi: 350 x 425 pixels, four images centred in the
    # four quadrants of the 2 x 2 format, WHITE border (the film base) everywhere else
    subprocess.run(["pdftoppm", "-r", "25", "-gray", str(pdf), str(tmp_path / "page")],
                   check=True, timeout=60)
    with Image.open(next(tmp_path.glob("page*.pgm"))) as im:
        px = np.asarray(im).astype(int)
    assert px.shape == (425, 350)
    border = int(np.median(np.concatenate([px[0], px[-1], px[:, 0], px[:, -1]])))
    assert abs(border - 208) <= 3  # 0.20 OD on the light box (docs/rendering.md)
    image = np.abs(px - border) > 8
    markers = []
    for row in range(2):
        for col in range(2):
            cell = image[row * 212:(row + 1) * 212 + 1, col * 175:(col + 1) * 175]
            ys, xs = np.nonzero(cell)
            assert len(ys) > 1000, f"no image in box {row * 2 + col + 1}"
            centre = ((ys.min() + ys.max()) / 2 + row * 212, (xs.min() + xs.max()) / 2 + col * 175)
            assert centre == pytest.approx((425 / 4 * (2 * row + 1), 350 / 4 * (2 * col + 1)),
                                           abs=3)
            # each pattern's marker block (at 5/12 of the height, 2/5 of the width)
            y = row * 212 + ys.min() + round((ys.max() - ys.min()) * 5 / 12)
            x = col * 175 + xs.min() + round((xs.max() - xs.min()) * 2 / 5)
            markers.append(px[y, x])
    # marker values by seed 0..3 are 1365, 2362, 3359, 260 of 4095: boxes 4 < 1 < 2 < 3 in grey
    assert markers[3] < markers[0] < markers[1] < markers[2], markers
    # nothing printed on the cross between the boxes
    assert not image[210:215].any() and not image[:, 173:177].any()

    shown = cli("jobs", "show", job.job_id, "--json", "--data-dir", str(scp.data_dir))
    assert json.loads(shown.stdout)["job"]["films"][0]["pdf_files"] == [str(pdf.resolve())]
    assert scp.stop() == 0
    assert "render workers stopped" in scp.log_path.read_text()


def test_own_print_scu_job_comes_out_of_serve_as_the_requested_pdf(print_scp_factory, tmp_path):
    """printserver print (the project's Print SCU) with four real CT / MR images in a 2 x 2 film to
    printserver serve: one PDF of the film size with an image centred in each quadrant."""
    import pydicom

    from conftest import require_tool

    require_tool("pdftoppm")
    test_files = Path(pydicom.__file__).parent / "data" / "test_files"
    images = [test_files / n for n in ("CT_small.dcm", "MR_small.dcm", "693_J2KI.dcm",
                                       "CT_small.dcm")]
    scp = print_scp_factory(E2E_CONFIG)
    sent = subprocess.run(
        [sys.executable, "-m", "printserver", "print", "--host", scp.host, "--port",
         str(scp.port), "--called-aet", scp.ae_title, "--format", "STANDARD\\2,2",
         "--film-size", "14INX17IN", "--orientation", "PORTRAIT", "--json",
         *[str(p) for p in images]],
        capture_output=True, text=True, timeout=120, cwd=REPO)
    assert sent.returncode == 0, sent.stderr
    store = scp.store()
    (job,) = store.list()
    job = wait_for(store, job.job_id, {"DONE", "FAILED"})
    assert job.state is JobState.DONE, job.message
    (pdf,) = (scp.data_dir / "films").glob("*.pdf")
    (page,) = PdfReader(pdf).pages
    width, height = page_mm(page)
    assert width == pytest.approx(355.6, abs=0.1) and height == pytest.approx(431.8, abs=0.1)
    subprocess.run(["pdftoppm", "-r", "25", "-gray", str(pdf), str(tmp_path / "page")],
                   check=True, timeout=60)
    with Image.open(next(tmp_path.glob("page*.pgm"))) as im:
        px = np.asarray(im).astype(int)
    assert px.shape == (425, 350)
    border = int(np.median(np.concatenate([px[0], px[-1], px[:, 0], px[:, -1]])))
    for row in range(2):
        for col in range(2):
            cell = px[row * 212 + 5:(row + 1) * 212 - 5, col * 175 + 5:(col + 1) * 175 - 5]
            assert (np.abs(cell - border) > 8).sum() > 2000, f"no image in box {row * 2 + col + 1}"
            assert cell.std() > 10, f"box {row * 2 + col + 1} is flat"
    # square images in tall boxes fill the width and are centred vertically: the band between
    # the two rows of boxes is border only (the default BLACK)
    assert np.abs(px[200:225] - border).max() <= 8
    # boxes 1 and 4 carry the same CT image: the same film content (up to the viewer's sampling
    # phase); box 2 (MR) differs
    cells = [px[r * 212:(r + 1) * 212, c * 175:(c + 1) * 175] for r in range(2) for c in range(2)]
    assert abs(cells[0].mean() - cells[3].mean()) < 1.0 and abs(cells[0].std() - cells[3].std()) < 1.0
    assert np.abs(cells[0] - cells[3]).mean() < 8 < np.abs(cells[0] - cells[1]).mean()


def test_kill_9_while_rendering_renders_the_job_once_after_restart(print_scp_factory, tmp_path,
                                                                  monkeypatch):
    from scp_fixtures import PrintSCU

    hold = HoldFolder(tmp_path / "hold")
    monkeypatch.setenv(HOLD_DIR_VARIABLE, str(hold.path))  # serve's workers hold every job
    scp = print_scp_factory("[workers]\ncount = 1\n")
    with PrintSCU(scp.port) as scu:
        fs = scu.film_session()
        fb = scu.film_box(fs, "STANDARD\\1,1")
        (box,) = [i.ReferencedSOPInstanceUID for i in fb.dataset.ReferencedImageBoxSequence]
        ramp = (np.arange(512 * 512, dtype=np.uint32).reshape(512, 512) % 4096).astype(np.uint16)
        assert scu.set(IMAGE_BOX, box, image_box_ds(1, ramp)).status == 0
        assert scu.action(FILM_BOX, fb.affected_uid).status == 0
    store = scp.store()
    (job,) = store.list()
    held = hold.wait_held()  # the worker has claimed the job and holds it at RENDERING
    assert held.job_id == job.job_id and held.attempt == 1
    scp.kill()
    # the worker dies with serve (a worker that outlived serve would render the job once
    # released, or at its stop, and record it DONE)
    wait_process_gone(held.pid)
    films = scp.data_dir / "films"
    after_kill = store.get(job.job_id)
    assert (after_kill.state, after_kill.claimed_by) == (JobState.RENDERING, held.worker_id)
    assert not list(films.glob("*.pdf")), "a worker kept rendering after serve was killed"

    hold.release(job.job_id)
    scp.restart()
    done = wait_for(store, job.job_id, {"DONE", "FAILED"})
    assert done.state is JobState.DONE and done.attempts == 2, done.message
    (pdf,) = films.glob("*.pdf")
    assert len(PdfReader(pdf).pages) == 1
    assert [f.pdf_files for f in store.films(job.job_id)] == [(str(pdf.resolve()),)]
    log = scp.log_path.read_text()
    assert f"job {job.job_id} left unfinished by a previous run" in log
    assert log.count(f"job {job.job_id}: DONE") == 1


def test_workers_config(tmp_path):
    from printserver.config import load_config
    from printserver.errors import ConfigError

    assert load_config(None).workers.processes == os.cpu_count()
    path = tmp_path / "c.toml"
    path.write_text("[workers]\ncount = 0\npoll_interval = 0.5\n")
    workers = load_config(path).workers
    assert (workers.processes, workers.poll_interval, workers.max_attempts) == (0, 0.5, 3)
    for bad in ("count = -1", "count = 'two'", "poll_interval = 0", "max_attempts = 0",
                "threads = 2"):
        path.write_text(f"[workers]\n{bad}\n")
        with pytest.raises(ConfigError):
            load_config(path)
