"""Job lifecycle around outputs that can be down: back-off and claim rules, printer pause/resume
and status, cancel / retry / reprint, retention that never touches an unfinished job."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from printserver.config import WorkersConfig
from printserver.jobs import lifecycle
from printserver.jobs.model import FilmRecord, Job, JobState, PrinterState
from printserver.jobs.printer_status import combined_status
from printserver.jobs.retention import purge
from printserver.jobs.store import ClaimLostError, JobStateError
from printserver.jobs.worker import Worker, retry_delay
from scp_fixtures import REPO, InProcessServer
from test_worker import print_job

UTC = timezone.utc


def _row(job_id: str, printer: str = "PRINTSCP", minute: int = 0) -> Job:
    stamp = f"2026-01-01T00:{minute:02d}:00.000+00:00"
    return Job(job_id=job_id, print_job_uid=f"1.2.3.{abs(hash(job_id)) % 10**8}",
               state=JobState.QUEUED, printer=printer, calling_ae="CT", called_ae=printer,
               film_session_label="", print_priority="MED", film_count=1, copies=1,
               created_at=stamp, updated_at=stamp, spool_dir=job_id, manifest_sha256="")


@pytest.fixture
def store(job_store):
    """The job store, on SQLite and on PostgreSQL (tests/pg_fixtures.py)."""
    return job_store


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "printserver", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=60)


# --- back-off and claim rules ----------------------------------------------------------------

def test_retry_delay_doubles_and_is_capped():
    workers = WorkersConfig(retry_delay=5.0, retry_max_delay=60.0)
    assert [retry_delay(n, workers) for n in range(6)] == [5, 10, 20, 40, 60, 60]
    assert retry_delay(1000, workers) == 60


def test_a_postponed_job_is_not_claimed_before_its_retry_time(store):
    store.add(_row("a", minute=0))
    store.add(_row("b", minute=1))
    now = datetime.now(UTC)
    a = store.claim_next("w1")
    assert a.job_id == "a" and a.attempts == 1
    waiting = store.postpone("a", "w1", now + timedelta(seconds=30), "CUPS queue stopped")
    assert waiting.state is JobState.QUEUED and waiting.retries == 1 and waiting.retry_at
    assert waiting.claimed_by == "" and waiting.message == "CUPS queue stopped"
    with pytest.raises(ClaimLostError):  # no longer held
        store.postpone("a", "w1", now, "again")
    # the older job waits: the younger one goes first, then nothing until the retry time
    assert store.claim_next("w2").job_id == "b"
    assert store.claim_next("w2") is None
    assert store.claim_next("w2", now=now + timedelta(seconds=10)) is None
    again = store.claim_next("w2", now=now + timedelta(seconds=31))
    assert again.job_id == "a" and again.attempts == 2 and again.retries == 1
    assert again.retry_at == ""
    # a worker death after waits: only the deaths count towards max_attempts
    assert store.requeue_stale(["w2"], max_attempts=2)[0].state is JobState.QUEUED


def test_printing_jobs_are_followed_without_new_attempts_and_never_rendered_twice(store):
    store.add(_row("p"))
    job = store.claim_next("w1")
    film = FilmRecord("p", 1, 1, ("/x.pdf",), "", 355.6, 431.8, 50.0, 0.1)
    now = datetime.now(UTC)
    printing = store.start_printing("p", "w1", ["paper-7"], [film], now + timedelta(seconds=5),
                                    "sent")
    assert printing.state is JobState.PRINTING and printing.output_ref == "paper-7"
    assert printing.claimed_by == "" and printing.printing_at and store.films("p") == [film]
    assert store.claim_next("w2") is None  # not due yet
    followed = store.claim_next("w2", now=now + timedelta(seconds=6))
    assert followed.state is JobState.PRINTING and followed.claimed_by == "w2"
    assert followed.attempts == job.attempts == 1
    assert store.claim_next("w3", now=now + timedelta(seconds=6)) is None  # held by w2
    # the follower dies: the job stays PRINTING (its CUPS job exists), let go for another worker
    (left,) = store.requeue_stale(["w2"], max_attempts=1)
    assert left.state is JobState.PRINTING and left.claimed_by == "" and left.retry_at == ""
    assert store.requeue_stale(max_attempts=1) == []  # at start-up too: nothing to requeue
    assert store.claim_next("w3").claimed_by == "w3"
    done = store.complete("p", "w3", store.films("p"), "printed")
    assert done.state is JobState.DONE and store.films("p") == [film]


# --- printers: pause, resume, status ---------------------------------------------------------

def test_a_paused_printer_keeps_its_jobs_waiting(store):
    store.add(_row("paper1", "PAPER", 0))
    store.add(_row("film1", "FILM", 1))
    paused = store.set_paused("PAPER", True)
    assert paused.paused and paused.paused_at
    assert store.claim_next("w1").job_id == "film1"
    assert store.claim_next("w1") is None
    assert store.queue_lengths() == {"PAPER": 1, "FILM": 1}
    resumed = store.set_paused("PAPER", False)
    assert not resumed.paused and resumed.paused_at == ""
    assert store.claim_next("w1").job_id == "paper1"


def test_printer_status_combines_output_pause_and_spool(store):
    assert store.printer_state("PAPER") == PrinterState("PAPER")
    assert combined_status(store.printer_state("PAPER")) == ("NORMAL", "NORMAL")
    store.set_paused("PAPER", True)
    assert combined_status(store.printer_state("PAPER")) == ("WARNING", "PRINTER OFFLINE")
    state = store.set_output_status("PAPER", "FAILURE", "PRINTER DOWN", "CUPS server down")
    assert (state.output_status, state.message) == ("FAILURE", "CUPS server down")
    assert combined_status(state) == ("FAILURE", "PRINTER DOWN")
    store.set_paused("PAPER", False)
    store.set_output_status("PAPER", "NORMAL", "NORMAL")
    assert combined_status(store.printer_state("PAPER"),
                          ("WARNING", "PRINT BUFF FULL")) == ("WARNING", "PRINT BUFF FULL")
    assert [p.ae_title for p in store.printer_states()] == ["PAPER"]


# --- cancel / retry / reprint -----------------------------------------------------------------

def test_cancel_waiting_at_once_and_rendering_at_the_next_step(tmp_path):
    srv = InProcessServer(tmp_path / "srv", '[[printers]]\nae_title = "PRINTSCP"\n'
                                            'resolution_dpi = { STANDARD = 25 }\n')
    try:
        waiting = print_job(srv, fmt="STANDARD\\1,1")
        rendering = print_job(srv, fmt="STANDARD\\1,1")
        cancelled = lifecycle.cancel(srv.store, waiting.job_id)
        assert cancelled.state is JobState.CANCELLED and cancelled.finished_at
        assert "cancelled by an operator" in cancelled.message
        with pytest.raises(JobStateError, match="nothing to cancel"):
            lifecycle.cancel(srv.store, waiting.job_id)
        with pytest.raises(JobStateError, match="no job"):
            lifecycle.cancel(srv.store, "nope")

        worker = Worker(srv.config, srv.store, srv.spool, "test:w1")
        claimed = srv.store.claim_next("test:w1")
        assert claimed.job_id == rendering.job_id
        marked = lifecycle.cancel(srv.store, rendering.job_id)
        assert marked.state is JobState.RENDERING and marked.cancel_requested
        result = worker.process(claimed)
        assert result.state is JobState.CANCELLED and "while rendering" in result.message
        assert worker.run_once() is None

        # retry: CANCELLED / FAILED → QUEUED, counters reset; then it prints
        again = lifecycle.retry(srv.store, rendering.job_id)
        assert again.state is JobState.QUEUED and again.attempts == 0
        assert not again.cancel_requested and again.finished_at == ""
        assert worker.run_once().state is JobState.DONE
        with pytest.raises(JobStateError, match="only a FAILED or CANCELLED job"):
            lifecycle.retry(srv.store, rendering.job_id)
    finally:
        srv.stop()


def test_reprint_is_a_new_job_from_the_same_films_and_the_original_is_untouched(tmp_path):
    srv = InProcessServer(tmp_path / "srv", '[[printers]]\nae_title = "PRINTSCP"\n'
                                            'resolution_dpi = { STANDARD = 25 }\n')
    try:
        original = print_job(srv, fmt="STANDARD\\2,2", copies=2)
        worker = Worker(srv.config, srv.store, srv.spool, "test:w1")
        done = worker.run_once()
        assert done.state is JobState.DONE
        before = (srv.store.get(original.job_id), srv.store.films(original.job_id),
                  sorted(p.name for p in srv.spool.job_dir(original).iterdir()))

        copy = lifecycle.reprint(srv.store, srv.spool, original.job_id)
        assert copy.job_id != original.job_id and copy.print_job_uid != original.print_job_uid
        assert copy.state is JobState.QUEUED and copy.spool_dir == copy.job_id
        assert (copy.printer, copy.film_count, copy.copies) == (
            original.printer, original.film_count, original.copies)
        manifest = srv.spool.load_manifest(copy)
        assert manifest["reprint_of"] == original.job_id and manifest["job_id"] == copy.job_id
        # the same pixels (hard links), checked by the worker against the manifest's SHA-256
        reprinted = worker.run_once()
        assert reprinted.job_id == copy.job_id and reprinted.state is JobState.DONE
        assert len(srv.store.films(copy.job_id)) == 1
        pdfs = sorted(p.name for p in (srv.config.data_dir / "films").glob("*.pdf"))
        assert len(pdfs) == 4 and sum(copy.job_id in n for n in pdfs) == 2
        after = (srv.store.get(original.job_id), srv.store.films(original.job_id),
                 sorted(p.name for p in srv.spool.job_dir(original).iterdir()))
        assert after == before
    finally:
        srv.stop()


# --- retention --------------------------------------------------------------------------------

def test_purge_removes_only_finished_jobs_older_than_the_age(tmp_path):
    srv = InProcessServer(tmp_path / "srv", '[[printers]]\nae_title = "PRINTSCP"\n'
                                            'resolution_dpi = { STANDARD = 25 }\n')
    try:
        jobs = {name: print_job(srv, fmt="STANDARD\\1,1")
                for name in ("done", "failed", "cancelled", "queued", "rendering", "printing")}
        worker = Worker(srv.config, srv.store, srv.spool, "w")
        store = srv.store
        done = worker.process(store.claim_next("w"))
        assert done.job_id == jobs["done"].job_id and done.state is JobState.DONE
        store.claim_next("w")
        store.fail(jobs["failed"].job_id, "w", "broken")
        lifecycle.cancel(store, jobs["cancelled"].job_id)
        claimed = [store.claim_next("w2") for _ in range(3)]
        assert [c.job_id for c in claimed] == [jobs[n].job_id for n in
                                               ("queued", "rendering", "printing")]
        store.postpone(jobs["queued"].job_id, "w2", datetime.now(UTC), "waiting")
        store.start_printing(jobs["printing"].job_id, "w2", ["paper-1"], [],
                             datetime.now(UTC) + timedelta(hours=1), "sent")
        films = [Path(p) for f in store.films(done.job_id) for p in (*f.pdf_files, f.preview)]
        assert films and all(p.is_file() for p in films)

        # nothing is old enough yet
        assert purge(store, srv.spool, 1).jobs == []
        later = datetime.now(UTC) + timedelta(days=2)
        report = purge(store, srv.spool, 1, now=later)
        finished = {jobs[n].job_id for n in ("done", "failed", "cancelled")}
        assert set(report.jobs) == finished and report.files >= len(films) + 3
        for name, job in jobs.items():
            record = store.get(job.job_id)
            if job.job_id in finished:
                assert record.purged_at and not srv.spool.job_dir(job).exists()
            else:
                assert record.purged_at == "" and srv.spool.job_dir(job).is_dir(), name
                assert (srv.spool.job_dir(job) / "manifest.json").is_file()
        assert not any(p.exists() for p in films)
        assert purge(store, srv.spool, 1, now=later).jobs == []  # once
        with pytest.raises(JobStateError, match="purged"):
            lifecycle.retry(store, jobs["failed"].job_id)
        with pytest.raises(JobStateError, match="purged"):
            lifecycle.reprint(store, srv.spool, jobs["done"].job_id)
        # an unfinished job is never purged, however old
        assert store.mark_purged(jobs["rendering"].job_id) is False

        data_dir = str(srv.config.data_dir)
        out = cli("jobs", "purge", "--older-than", "0", "--json", "--data-dir", data_dir)
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["jobs"] == []
    finally:
        srv.stop()


def test_serve_purges_old_finished_jobs_at_start(tmp_path, print_scp_factory):
    import time

    printer = '[[printers]]\nae_title = "PRINTSCP"\nresolution_dpi = { STANDARD = 25 }\n'
    srv = InProcessServer(tmp_path / "srv", printer)
    try:
        done = print_job(srv, fmt="STANDARD\\1,1")
        finished = Worker(srv.config, srv.store, srv.spool, "w").run_once()
        assert finished.state is JobState.DONE
        done_at = finished.finished_at
        waiting = print_job(srv, fmt="STANDARD\\1,1")
    finally:
        srv.stop()
    # serve starts once the DONE job finished longer ago than the retention (0.00001 days:
    # 0.864 s); the clock passing it is all there is to wait for
    old_enough = datetime.fromisoformat(done_at) + timedelta(days=0.00001)
    time.sleep(max(0.0, (old_enough - datetime.now(timezone.utc)).total_seconds()) + 0.01)
    scp = print_scp_factory(printer + "[retention]\ndays = 0.00001\n[workers]\ncount = 0\n",
                            data_dir=srv.config.data_dir)
    store = scp.store()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not store.get(done.job_id).purged_at:
        time.sleep(0.1)
    assert store.get(done.job_id).purged_at
    assert not (srv.config.spool_dir / done.spool_dir).exists()
    assert store.get(waiting.job_id).state is JobState.QUEUED
    assert (srv.config.spool_dir / waiting.spool_dir / "manifest.json").is_file()


def test_cli_printers_pause_resume_and_jobs_cancel_retry_reprint(tmp_path):
    from scp_fixtures import PRINTER, PRINTER_INSTANCE

    srv = InProcessServer(tmp_path / "srv", '[[printers]]\nae_title = "PRINTSCP"\n'
                                            'name = "film room"\n'
                                            'resolution_dpi = { STANDARD = 25 }\n')
    common = ("--config", str(tmp_path / "srv" / "printserver.toml"),
              "--data-dir", str(srv.config.data_dir))
    try:
        job = print_job(srv, fmt="STANDARD\\1,1")
        assert cli("printers", "pause", "PRINTSCP", *common).returncode == 0
        (row,) = json.loads(cli("printers", "list", "--json", *common).stdout)
        assert (row["ae_title"], row["name"], row["output_kind"]) == ("PRINTSCP", "film room",
                                                                      "pdf")
        assert (row["status"], row["status_info"], row["paused"], row["queue_length"]) == (
            "WARNING", "PRINTER OFFLINE", True, 1)
        with srv.scu() as scu:  # the SCP (another connection, as serve would be) sees it
            r = scu.get(PRINTER, PRINTER_INSTANCE, [0x21100010, 0x21100020])
            assert (r.dataset.PrinterStatus, r.dataset.PrinterStatusInfo) == (
                "WARNING", "PRINTER OFFLINE")
        worker = Worker(srv.config, srv.store, srv.spool, "w")
        assert worker.run_once() is None  # paused: the job waits
        bad = cli("printers", "pause", "NOSUCH", *common)
        assert bad.returncode == 2 and "no printer with AE title 'NOSUCH'" in bad.stderr
        text = cli("printers", "list", *common).stdout
        assert "PRINTSCP" in text and "PRINTER OFFLINE" in text and "yes" in text

        cancelled = json.loads(cli("jobs", "cancel", job.job_id, "--json", *common).stdout)
        assert cancelled["state"] == "CANCELLED"
        retried = cli("jobs", "retry", job.job_id, *common)
        assert retried.returncode == 0 and "QUEUED" in retried.stdout
        assert cli("printers", "resume", "PRINTSCP", *common).returncode == 0
        assert worker.run_once().state is JobState.DONE
        again = cli("jobs", "cancel", job.job_id, *common)
        assert again.returncode == 2 and "nothing to cancel" in again.stderr
        reprinted = json.loads(cli("jobs", "reprint", job.job_id, "--json", *common).stdout)
        assert reprinted["state"] == "QUEUED" and reprinted["job_id"] != job.job_id
        assert worker.run_once().job_id == reprinted["job_id"]
        assert srv.store.get(reprinted["job_id"]).state is JobState.DONE
        (row,) = json.loads(cli("printers", "list", "--json", *common).stdout)
        assert (row["status"], row["paused"], row["queue_length"]) == ("NORMAL", False, 0)
    finally:
        srv.stop()
