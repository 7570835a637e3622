"""Job store and spool without a network: the store's contract on SQLite and PostgreSQL (round
trips, one error type, node leases, timeline, pages of the listing), its schema revisions and
``printserver db``, crash leftovers of the spool, checks."""

from __future__ import annotations

import dataclasses
import os
import time
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from printserver.config import Config, load_config
from printserver.jobs import Job, JobState, Spool, open_job_store
from printserver.jobs.migrate import upgrade
from printserver.jobs.model import FilmRecord, JobFilter
from printserver.jobs.spool import SpoolError
from printserver.jobs.store import (ClaimLostError, DuplicateJobError, JobStateError, JobStore,
                                    JobStoreError)
from store_helpers import open_upgraded

UTC = timezone.utc


def _job(job_id: str, created: str = "2026-01-01T00:00:00.000+00:00") -> Job:
    return Job(job_id=job_id, print_job_uid="1.2.3." + ".".join(str(ord(c)) for c in job_id),
               state=JobState.QUEUED, printer="PRINTSCP", calling_ae="CT", called_ae="PRINTSCP",
               film_session_label="", print_priority="MED", film_count=1, copies=1,
               created_at=created, updated_at=created, spool_dir=job_id, manifest_sha256="x")


def _manifest(job_id: str, px: np.ndarray, sha: str) -> dict:
    image = {"file": "film001_box001.raw", "rows": px.shape[0], "columns": px.shape[1],
             "bits_allocated": 16, "bits_stored": 12, "sha256": sha}
    return {"job_id": job_id, "films": [{"image_boxes": [{"position": 1, "image": image}]}]}


def _url(backend: str, tmp_path, request) -> str:
    """An empty database: an SQLite file not created yet, or a new PostgreSQL database."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'db.sqlite3'}"
    return request.getfixturevalue("postgres").new_database()


def _film(job_id: str, film: int) -> FilmRecord:
    return FilmRecord(job_id=job_id, film=film, copies=1, pdf_files=(f"/films/{job_id}-{film}.pdf",),
                      preview=f"/films/{job_id}-{film}.png", width_mm=355.6, height_mm=431.8,
                      dpi=320.0, render_seconds=0.5, warnings=("B604",) if film == 2 else ())


def _done(store, job_id: str, records=()) -> Job:
    """Drive a job QUEUED → RENDERING → DONE through the store's transitions."""
    claimed = store.claim_next("w-test")
    assert claimed is not None and claimed.job_id == job_id, claimed
    return store.complete(job_id, "w-test", list(records), "printed")


def test_sqlite_is_wal_with_full_sync(tmp_path):
    config = load_config(None, data_dir=tmp_path)
    upgrade(config)
    with open_job_store(config) as store, store.db.read("pragmas") as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert not store.shared and store.db.dialect == "sqlite"


def test_round_trips_and_commits(job_store):
    store = job_store
    store.add(_job("b", "2026-01-02T00:00:00.000+00:00"))
    store.add(_job("a"))
    assert [j.job_id for j in store.list()] == ["a", "b"]
    done = _done(store, "a")
    assert done.state is JobState.DONE and done.message == "printed"
    assert [j.job_id for j in store.list([JobState.QUEUED])] == ["b"]
    assert [j.job_id for j in store.list(["QUEUED"])] == ["b"]
    with pytest.raises(ValueError):
        store.list(["NOSUCH"])
    assert store.list([]) == [] and [j.job_id for j in store.list(limit=1)] == ["a"]
    assert store.get_by_uid(store.get("b").print_job_uid).job_id == "b"
    assert store.get("zzz") is None and store.get_by_uid("9.9") is None
    with pytest.raises(DuplicateJobError):
        store.add(_job("a"))
    with pytest.raises(DuplicateJobError):  # another id, the same Print Job SOP Instance UID
        store.add(dataclasses.replace(_job("c"), print_job_uid=store.get("b").print_job_uid))
    assert store.get("a").state is JobState.DONE  # the refused inserts changed nothing
    assert store.get("c") is None and store.timeline("c") == []
    with open_job_store(Config(database_url=store.url)) as again:  # committed
        assert len(again.list()) == 2


def test_the_store_has_no_set_state():
    """Tests put jobs in a state with tests/store_helpers.py, not through the public interface."""
    assert not hasattr(JobStore, "set_state")


def test_postgresql_url_opens_the_postgresql_store(postgres, tmp_path):
    url = postgres.new_database()
    upgrade(Config(database_url=url))
    for scheme in ("postgresql://", "postgres://"):
        config = load_config(None, data_dir=tmp_path)
        config = dataclasses.replace(config, database_url=url.replace("postgresql://", scheme))
        with open_job_store(config) as store:
            assert store.shared and store.db.dialect == "postgresql"
            store.add(_job(scheme.rstrip(":/")))
    assert not (tmp_path / "printserver.sqlite3").exists()
    with open_job_store(Config(database_url=url)) as store:
        assert len(store.list()) == 2


def test_node_leases_expire_and_their_jobs_are_requeued(job_store):
    store = job_store
    for name in ("a", "b", "c"):
        store.add(_job(name))
    assert store.heartbeat("alive", 30) is False  # a new lease
    assert store.heartbeat("alive", 30) is True  # held without a break
    assert store.heartbeat("dying", 30) is False
    assert store.live_nodes() == ["alive", "dying"]
    assert store.claim_next("alive/w1.1").job_id == "a"
    assert store.claim_next("dying/w1.1").job_id == "b"
    assert store.claim_next("legacy-worker").job_id == "c"  # an id of no node: not live
    requeued = store.requeue_orphaned(max_attempts=3)
    assert [j.job_id for j in requeued] == ["c"]
    assert store.heartbeat("dying", 0.05) is True  # its last renewal, for a short time
    deadline = time.monotonic() + 30
    while store.live_nodes() != ["alive"]:  # the expired lease is removed
        assert time.monotonic() < deadline, store.live_nodes()
        time.sleep(0.02)
    (job,) = store.requeue_orphaned(max_attempts=3)
    assert job.job_id == "b" and job.state is JobState.QUEUED and "dying/w1.1" in job.message
    assert store.requeue_orphaned(max_attempts=3) == []  # a second node finds nothing left
    assert store.get("a").state is JobState.RENDERING  # the live node keeps its job
    assert store.heartbeat("dying", 30) is False  # it comes back: its lease had lapsed
    with pytest.raises(ClaimLostError):  # and what it held is no longer its own
        store.complete("b", "dying/w1.1", [])
    store.leave("alive")
    assert store.live_nodes() == ["dying"]


def test_a_pause_records_who_paused_and_resume_clears_it(job_store):
    store = job_store
    paused = store.set_paused("PAPER", True, actor="alice")
    assert paused.paused and paused.paused_by == "alice" and paused.paused_at
    assert store.printer_state("PAPER") == paused
    assert store.set_paused("PAPER", True).paused_by == ""  # not told who
    resumed = store.set_paused("PAPER", False, actor="bob")
    assert (resumed.paused, resumed.paused_at, resumed.paused_by) == (False, "", "")
    status = store.set_output_status("PAPER", "FAILURE", "PRINTER DOWN", "x" * 600)
    assert status.message == "x" * 500 and not status.paused
    assert store.set_output_status("PAPER", "FAILURE", "PRINTER DOWN", "x" * 600) == status
    assert [p.ae_title for p in store.printer_states()] == ["PAPER"]


# --- one error type ---------------------------------------------------------------------------

def test_every_call_on_a_corrupt_sqlite_file_is_a_job_store_error(tmp_path):
    path = tmp_path / "db.sqlite3"
    store = open_upgraded(f"sqlite:///{path}")
    store.add(_job("a"))
    store.close()  # the next call opens new connections
    assert not list(tmp_path.glob("db.sqlite3-*"))  # checkpointed
    path.write_bytes(b"this is not an SQLite database\n" * 200)
    calls = {"get": lambda: store.get("a"), "list": store.list, "page": store.page,
             "queue_lengths": store.queue_lengths, "printer_state": lambda: store.printer_state("X"),
             "timeline": lambda: store.timeline("a"), "films_of": lambda: store.films_of(["a"]),
             "add": lambda: store.add(_job("b")), "claim_next": lambda: store.claim_next("w1"),
             "set_paused": lambda: store.set_paused("X", True), "heartbeat": lambda: store.heartbeat(
                 "n", 30)}
    for name, call in calls.items():
        with pytest.raises(JobStoreError, match="db.sqlite3: .*not a database") as caught:
            call()
        assert "sqlite3" not in type(caught.value).__module__, name
    with pytest.raises(JobStoreError, match="not a database"):
        open_job_store(Config(database_url=f"sqlite:///{path}"))
    with pytest.raises(JobStoreError, match="not a database"):
        upgrade(Config(database_url=f"sqlite:///{path}"))
    store.close()


def test_a_folder_in_place_of_the_sqlite_file_is_a_job_store_error(tmp_path):
    (tmp_path / "printserver.sqlite3").mkdir()
    with pytest.raises(JobStoreError, match="printserver.sqlite3"):
        upgrade(Config(data_dir=tmp_path))
    with pytest.raises(JobStoreError, match="printserver.sqlite3"):
        open_job_store(Config(data_dir=tmp_path))


# --- timeline ---------------------------------------------------------------------------------

def test_every_transition_writes_its_timeline_row(job_store):
    from printserver.jobs.model import JobEventKind as E

    store, t0 = job_store, datetime.now(UTC)
    store.add(_job("a"))
    store.claim_next("w1")
    store.postpone("a", "w1", t0 + timedelta(seconds=30), "printer down")
    assert store.claim_next("w2", now=t0 + timedelta(seconds=60)).job_id == "a"
    store.start_printing("a", "w2", ["cups-7", "cups-8"], [_film("a", 1)],
                         t0 + timedelta(seconds=90), "sent to paper1")
    assert store.claim_next("w3", now=t0 + timedelta(seconds=120)).job_id == "a"  # follow
    store.keep_printing("a", "w3", t0, "still printing")  # repeats: no row
    store.request_cancel("a", actor="alice")
    assert store.claim_next("w4").job_id == "a"
    store.cancelled("a", "w4", "cancelled on paper1")
    store.retry("a", actor="bob")
    store.claim_next("w5")
    store.complete("a", "w5", [_film("a", 1)], "printed")
    assert store.mark_purged("a", actor="retention") and not store.mark_purged("a")
    events = store.timeline("a")
    assert [(e.event, e.state, e.actor) for e in events] == [
        (E.ACCEPTED, JobState.QUEUED, "CT"), (E.CLAIMED, JobState.RENDERING, "w1"),
        (E.WAITING, JobState.QUEUED, "w1"), (E.CLAIMED, JobState.RENDERING, "w2"),
        (E.PRINTING, JobState.PRINTING, "w2"), (E.CANCEL_REQUESTED, JobState.PRINTING, "alice"),
        (E.CANCELLED, JobState.CANCELLED, "w4"), (E.RETRIED, JobState.QUEUED, "bob"),
        (E.CLAIMED, JobState.RENDERING, "w5"), (E.DONE, JobState.DONE, "w5"),
        (E.PURGED, JobState.DONE, "retention")]
    assert events[2].message == "printer down" and "cups-7 cups-8" in events[4].message
    assert events[3].message == "attempt 2" and events[9].message == "printed"
    assert [e.at for e in events] == sorted(e.at for e in events)
    assert all(e.job_id == "a" for e in events)
    assert events[5].to_dict() == {"job_id": "a", "at": events[5].at, "event": "cancel requested",
                                   "state": "PRINTING", "actor": "alice", "message": ""}

    store.add(_job("b"))  # cancelled while waiting; then a worker dies on it twice
    assert store.request_cancel("b", actor="carol").state is JobState.CANCELLED
    store.retry("b")
    for _ in range(2):
        store.claim_next("w-dead")
        store.requeue_stale(["w-dead"], max_attempts=2)
    assert [(e.event, e.state, e.actor) for e in store.timeline("b")] == [
        (E.ACCEPTED, JobState.QUEUED, "CT"), (E.CANCELLED, JobState.CANCELLED, "carol"),
        (E.RETRIED, JobState.QUEUED, ""), (E.CLAIMED, JobState.RENDERING, "w-dead"),
        (E.REQUEUED, JobState.QUEUED, ""), (E.CLAIMED, JobState.RENDERING, "w-dead"),
        (E.FAILED, JobState.FAILED, "")]
    assert "gave up after 2 attempts" in store.timeline("b")[-1].message
    assert store.timeline("nosuch") == []


def test_refused_transitions_write_no_timeline_row(job_store):
    store = job_store
    store.add(_job("a"))
    with pytest.raises(JobStateError):
        store.retry("a", actor="bob")
    store.claim_next("w1")
    with pytest.raises(ClaimLostError):
        store.complete("a", "w-other", [])
    with pytest.raises(KeyError):
        store.request_cancel("nosuch")
    assert [e.event.value for e in store.timeline("a")] == ["accepted", "claimed"]


# --- listing: pages, filters, films -----------------------------------------------------------

def _listing(store) -> list[str]:
    """Jobs for the listing tests; returns their ids newest first (created_at, then job_id)."""
    rows = [  # job id, created (minute), printer, calling AE, label
        ("j1", 0, "PRINTSCP", "CT", "Chest PA"), ("j2", 1, "PAPER", "MR1", "50% contrast"),
        ("j3", 2, "PRINTSCP", "MR1", "500 contrast"), ("j4", 2, "PAPER", "CT", "knee_left"),
        ("j5", 2, "PRINTSCP", "CT", "kneeXleft"), ("j6", 3, "PRINTSCP", "US", "Abdomen"),
        ("j7", 4, "PAPER", "US", "chest lat")]
    for job_id, minute, printer, calling, label in rows:
        created = f"2026-01-01T00:{minute:02d}:00.000+00:00"
        store.add(dataclasses.replace(_job(job_id, created), printer=printer, called_ae=printer,
                                      calling_ae=calling, film_session_label=label))
    return ["j7", "j6", "j5", "j4", "j3", "j2", "j1"]


def _walk(store, where=None, limit=2) -> list[str]:
    seen, cursor = [], None
    while True:
        page = store.page(where, limit=limit, cursor=cursor)
        assert len(page.jobs) <= limit
        seen += [j.job_id for j in page.jobs]
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


def test_pages_are_newest_first_and_continue_across_equal_times(job_store):
    store = job_store
    newest_first = _listing(store)
    assert [j.job_id for j in store.page().jobs] == newest_first
    for limit in (1, 2, 3, 7, 50):
        assert _walk(store, limit=limit) == newest_first
    first = store.page(limit=3)
    assert [j.job_id for j in first.jobs] == ["j7", "j6", "j5"] and first.next_cursor
    store.add(_job("j9", "2026-01-01T00:09:00.000+00:00"))  # a new job while paging
    store.add(_job("j0", "2026-01-01T00:02:00.000+00:00"))  # at the time of j3..j5
    second = store.page(limit=3, cursor=first.next_cursor)
    assert [j.job_id for j in second.jobs] == ["j4", "j3", "j0"]  # the keyset goes on
    assert store.page(limit=7).next_cursor is not None and store.page(limit=9).next_cursor is None


def test_page_filters(job_store):
    store = job_store
    _listing(store)
    store.claim_next("w1")  # j1 (oldest) RENDERING
    store.fail("j1", "w1", "broken")
    since = datetime(2026, 1, 1, 0, 2, tzinfo=UTC)

    def ids(**where) -> list[str]:
        return _walk(store, JobFilter(**where))

    assert ids(states=(JobState.FAILED,)) == ["j1"]
    assert ids(states=(JobState.FAILED, JobState.QUEUED)) == ["j7", "j6", "j5", "j4", "j3", "j2",
                                                              "j1"]
    assert ids(states=("QUEUED",)) == ["j7", "j6", "j5", "j4", "j3", "j2"]
    assert ids(printer="PAPER") == ["j7", "j4", "j2"]
    assert ids(calling_ae="CT") == ["j5", "j4", "j1"]
    assert ids(since=since) == ["j7", "j6", "j5", "j4", "j3"]
    assert ids(until=since) == ["j2", "j1"]
    assert ids(since=since, until=since + timedelta(minutes=2)) == ["j6", "j5", "j4", "j3"]
    assert ids(text="CHEST") == ["j7", "j1"]  # case-insensitive
    assert ids(text="50%") == ["j2"]  # LIKE wildcards match only themselves
    assert ids(text="knee_") == ["j4"]
    assert ids(text="J6") == ["j6"]  # the job id too
    assert ids(printer="PAPER", calling_ae="CT", states=(JobState.QUEUED,)) == ["j4"]
    assert ids(printer="NOSUCH") == []
    with pytest.raises(ValueError, match="timezone"):
        JobFilter(since=datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        JobFilter(states=("NOSUCH",))


def test_a_malformed_cursor_or_limit_is_a_value_error(job_store):
    import base64

    store = job_store
    _listing(store)
    for bad in ("!!!", "abc", base64.urlsafe_b64encode(b"not json").decode(),
                base64.urlsafe_b64encode(b'{"a": 1}').decode(),
                base64.urlsafe_b64encode(b'["only one"]').decode(),
                base64.urlsafe_b64encode(b'[1, 2]').decode(), ""):
        with pytest.raises(ValueError, match="cursor"):
            store.page(cursor=bad)
    for limit in (0, -1, 1001):
        with pytest.raises(ValueError, match="limit"):
            store.page(limit=limit)


def test_a_page_brings_its_films_in_one_statement(job_store):
    from sqlalchemy import event

    store = job_store
    _listing(store)
    for job_id, count in (("j1", 2), ("j2", 1)):
        assert store.claim_next("w1").job_id == job_id
        store.complete(job_id, "w1", [_film(job_id, n) for n in range(1, count + 1)])
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(store.db.engine, "before_cursor_execute", seen)
    try:
        page = store.page(limit=7)
    finally:
        event.remove(store.db.engine, "before_cursor_execute", seen)
    assert len(statements) == 1, statements  # the page's jobs joined to their films
    assert "films" in statements[0] and "jobs" in statements[0]
    assert set(page.films) == {j.job_id for j in page.jobs}
    assert page.films["j1"] == [_film("j1", 1), _film("j1", 2)]
    assert page.films["j2"] == [_film("j2", 1)] and page.films["j7"] == []
    assert page.films["j1"][1].warnings == ("B604",)
    assert store.films_of(["j2", "nosuch", "j2"]) == {"j2": [_film("j2", 1)], "nosuch": []}
    assert store.films_of([]) == {}


# --- spool -----------------------------------------------------------------------------------

def test_spool_write_load_and_tamper_detection(tmp_path):
    import hashlib

    spool = Spool(tmp_path / "spool")
    px = np.arange(12, dtype="<u2").reshape(3, 4) | 0xF000  # high bits set: masked on load
    data = px.tobytes()
    sha = hashlib.sha256(data).hexdigest()
    spool.write_job("j1", _manifest("j1", px, sha), {"film001_box001.raw": data})
    assert spool.pixel_bytes("j1", 1, 1) == data
    assert np.array_equal(spool.load_pixels("j1", 1, 1), px & 0x0FFF)
    with pytest.raises(SpoolError):
        spool.write_job("j1", {}, {})
    with pytest.raises(SpoolError):
        spool.pixel_bytes("j1", 2, 1)
    (tmp_path / "spool" / "j1" / "film001_box001.raw").write_bytes(b"\0" * len(data))
    with pytest.raises(SpoolError, match="SHA-256"):
        spool.pixel_bytes("j1", 1, 1)


def test_spool_orphans_are_reported(tmp_path):
    spool = Spool(tmp_path)
    spool.write_job("kept", {"job_id": "kept", "films": []}, {})
    spool.write_job("lost", {"job_id": "lost", "films": []}, {})
    (tmp_path / ".tmp-half").mkdir()
    assert spool.orphans({"kept"}) == [".tmp-half", "lost"]


def test_a_shared_spool_clears_only_what_dead_processes_of_its_host_staged(tmp_path):
    import socket
    import subprocess

    spool = Spool(tmp_path)
    staging = spool.stager()
    future = staging.stage(b"pixels")
    staging.close()
    staged = future.result(timeout=10)
    assert staged.path.parent == spool.staging == tmp_path / ".staging" / (
        f"{socket.gethostname()}-{os.getpid()}")
    gone = subprocess.Popen(["true"])
    gone.wait(10)  # a process id that no longer runs
    dead = tmp_path / ".staging" / f"{socket.gethostname()}-{gone.pid}"
    other = tmp_path / ".staging" / f"{socket.gethostname()}x-{gone.pid}"  # another host's
    for folder in (dead, other):
        (folder / ".tmp-job").mkdir(parents=True)
    (tmp_path / ".staging" / "legacy").write_bytes(b"x")
    spool.clear_staging()
    assert sorted(p.name for p in (tmp_path / ".staging").iterdir()) == sorted(
        [spool.staging.name, other.name])
    assert list(spool.staging.iterdir()) == [] and (other / ".tmp-job").is_dir()
    spool.write_job("j", {"job_id": "j", "films": []}, {})  # assembled in the staging folder
    assert sorted(p.name for p in tmp_path.iterdir()) == [".staging", "j"]
    assert list(spool.staging.iterdir()) == []


def test_spool_and_lease_settings(tmp_path):
    from printserver.errors import ConfigError

    path = tmp_path / "printserver.toml"
    path.write_text(f'spool = "{tmp_path / "shared"}"\n[workers]\nlease_seconds = 5\n')
    config = load_config(path, data_dir=tmp_path / "node")
    assert config.spool_dir == tmp_path / "shared" and config.workers.lease_seconds == 5.0
    assert load_config(None, data_dir=tmp_path / "node").spool_dir == tmp_path / "node" / "spool"
    path.write_text("[workers]\nlease_seconds = 0.5\n")
    with pytest.raises(ConfigError, match="lease_seconds"):
        load_config(path)
    path.write_text('database_url = "mysql://x@y/z"\n')
    with pytest.raises(ConfigError, match="postgresql://"):
        open_job_store(load_config(path))


def test_postgresql_store_reconnects_after_losing_its_connection(postgres):
    import psycopg

    url = postgres.new_database()
    with open_upgraded(url) as store, psycopg.connect(url, autocommit=True) as admin:
        store.add(_job("a"))
        store.add(_job("b"))
        killed = admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                               "WHERE application_name = 'printserver'").fetchall()
        assert killed and all(ok for (ok,) in killed)
        assert store.get("a").job_id == "a"  # a dead pooled connection is replaced, unnoticed
        assert store.claim_next("w1").job_id == "a"


def test_an_unreachable_postgresql_server_is_a_job_store_error(tmp_path):
    from scp_fixtures import free_port

    url = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"
    with pytest.raises(JobStoreError, match="127.0.0.1"):
        upgrade(Config(database_url=url))
    with pytest.raises(JobStoreError, match="127.0.0.1"):
        open_job_store(Config(database_url=url))


def test_deferred_staging_is_written_by_run_deferred_and_discards_wait_for_it(tmp_path):
    """Image box N-SET stages; the SCP writes the file right after its response."""
    import hashlib

    spool = Spool(tmp_path)
    staging = spool.stager()
    try:
        kept = staging.stage(b"kept pixels")
        dropped = staging.stage(b"dropped pixels")
        assert not kept.done() and not dropped.done()
        assert not spool.staging.exists() or list(spool.staging.iterdir()) == []
        staging.discard(dropped)  # before it was even written
        staging.run_deferred()
        staged = kept.result(timeout=10)
        assert staged.path.read_bytes() == b"kept pixels"
        assert staged.sha256 == hashlib.sha256(b"kept pixels").hexdigest()
        dropped_path = dropped.result(timeout=10).path
        deadline = time.monotonic() + 10
        while dropped_path.exists() and time.monotonic() < deadline:
            time.sleep(0.01)  # unlinked by a staging thread
        assert not dropped_path.exists() and staged.path.exists()
    finally:
        spool.close()
