"""Job store and spool without a network: SQLite pragmas, round trips on SQLite and PostgreSQL,
node leases, crash leftovers, checks."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from printserver.config import load_config
from printserver.jobs import Job, JobState, Spool, open_job_store
from printserver.jobs.spool import SpoolError
from printserver.jobs.store import ClaimLostError, DuplicateJobError


def _job(job_id: str, created: str = "2026-01-01T00:00:00.000+00:00") -> Job:
    return Job(job_id=job_id, print_job_uid="1.2.3." + ".".join(str(ord(c)) for c in job_id),
               state=JobState.QUEUED, printer="PRINTSCP", calling_ae="CT", called_ae="PRINTSCP",
               film_session_label="", print_priority="MED", film_count=1, copies=1,
               created_at=created, updated_at=created, spool_dir=job_id, manifest_sha256="x")


def _manifest(job_id: str, px: np.ndarray, sha: str) -> dict:
    image = {"file": "film001_box001.raw", "rows": px.shape[0], "columns": px.shape[1],
             "bits_allocated": 16, "bits_stored": 12, "sha256": sha}
    return {"job_id": job_id, "films": [{"image_boxes": [{"position": 1, "image": image}]}]}


def test_sqlite_is_wal_with_full_sync(tmp_path):
    with open_job_store(load_config(None, data_dir=tmp_path)) as store:
        assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert not store.shared


def test_round_trips_and_commits(job_store):
    store = job_store
    store.add(_job("b", "2026-01-02T00:00:00.000+00:00"))
    store.add(_job("a"))
    assert [j.job_id for j in store.list()] == ["a", "b"]
    done = store.set_state("a", JobState.DONE, "printed")
    assert done.state is JobState.DONE and done.message == "printed"
    assert [j.job_id for j in store.list([JobState.QUEUED])] == ["b"]
    assert store.list([]) == [] and [j.job_id for j in store.list(limit=1)] == ["a"]
    assert store.get_by_uid(store.get("b").print_job_uid).job_id == "b"
    assert store.get("zzz") is None
    with pytest.raises(KeyError):
        store.set_state("zzz", JobState.DONE)
    with pytest.raises(DuplicateJobError):
        store.add(_job("a"))
    assert store.get("a").state is JobState.DONE  # the refused insert changed nothing
    with type(store)(store.url if store.shared else store.path) as again:  # committed
        assert len(again.list()) == 2


def test_postgresql_url_opens_the_postgresql_store(postgres, tmp_path):
    from printserver.jobs.postgres_store import PostgresJobStore

    url = postgres.new_database()
    for scheme in ("postgresql://", "postgres://"):
        config = load_config(None, data_dir=tmp_path)
        config = type(config)(**{**config.__dict__,
                                 "database_url": url.replace("postgresql://", scheme)})
        with open_job_store(config) as store:
            assert isinstance(store, PostgresJobStore) and store.shared
            store.add(_job(scheme.rstrip(":/")))
    with PostgresJobStore(url) as store:  # opening again creates nothing twice
        assert len(store.list()) == 2


def test_node_leases_expire_and_their_jobs_are_requeued(job_store):
    import time

    store = job_store
    for name in ("a", "b", "c"):
        store.add(_job(name))
    assert store.heartbeat("alive", 30) is False  # a new lease
    assert store.heartbeat("alive", 30) is True  # held without a break
    assert store.heartbeat("dying", 0.5) is False
    assert store.live_nodes() == ["alive", "dying"]
    assert store.claim_next("alive/w1.1").job_id == "a"
    assert store.claim_next("dying/w1.1").job_id == "b"
    assert store.claim_next("legacy-worker").job_id == "c"  # an id of no node: not live
    requeued = store.requeue_orphaned(max_attempts=3)
    assert [j.job_id for j in requeued] == ["c"]
    time.sleep(0.7)
    assert store.live_nodes() == ["alive"]  # the expired lease is gone
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

    from printserver.jobs.postgres_store import PostgresJobStore
    from printserver.jobs.store import JobStoreError

    url = postgres.new_database()
    with PostgresJobStore(url) as store, psycopg.connect(url, autocommit=True) as admin:
        store.add(_job("a"))
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE application_name = 'printserver'")
        with pytest.raises(JobStoreError, match="reading job a"):
            store.get("a")  # the call that finds the connection lost says so
        assert store.get("a").job_id == "a"  # the next one reconnects


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
