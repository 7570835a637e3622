"""Job store and spool without a network: the store's contract on SQLite and PostgreSQL (round
trips, one error type, node leases, timeline, pages of the listing), its schema revisions and
``printserver db``, crash leftovers of the spool, checks."""

from __future__ import annotations

import dataclasses
import os
import time

import numpy as np
import pytest

from printserver.config import Config, load_config
from printserver.jobs import Job, JobState, Spool, open_job_store
from printserver.jobs.migrate import upgrade
from printserver.jobs.model import FilmRecord
from printserver.jobs.spool import SpoolError
from printserver.jobs.store import ClaimLostError, DuplicateJobError, JobStore, JobStoreError
from store_helpers import open_upgraded


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


def test_sqlite_is_wal_with_full_sync(job_store):
    if job_store.shared:
        pytest.skip("SQLite only")
    with job_store.db.read("pragmas") as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL


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
    future = spool.stage(b"pixels")
    spool.run_deferred()
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
    try:
        kept = spool.stage(b"kept pixels")
        dropped = spool.stage(b"dropped pixels")
        assert not kept.done() and not dropped.done()
        assert not spool.staging.exists() or list(spool.staging.iterdir()) == []
        spool.discard(dropped)  # before it was even written
        spool.run_deferred()
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
