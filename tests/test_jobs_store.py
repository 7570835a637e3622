"""Job store and spool without a network: SQLite pragmas, round trips, crash leftovers, checks."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from printserver.config import load_config
from printserver.jobs import Job, JobState, Spool, open_job_store
from printserver.jobs.spool import SpoolError


def _job(job_id: str, created: str = "2026-01-01T00:00:00.000+00:00") -> Job:
    return Job(job_id=job_id, print_job_uid=f"1.2.3.{len(job_id)}.{abs(hash(job_id)) % 1000}",
               state=JobState.QUEUED, printer="PRINTSCP", calling_ae="CT", called_ae="PRINTSCP",
               film_session_label="", print_priority="MED", film_count=1, copies=1,
               created_at=created, updated_at=created, spool_dir=job_id, manifest_sha256="x")


def _manifest(job_id: str, px: np.ndarray, sha: str) -> dict:
    image = {"file": "film001_box001.raw", "rows": px.shape[0], "columns": px.shape[1],
             "bits_allocated": 16, "bits_stored": 12, "sha256": sha}
    return {"job_id": job_id, "films": [{"image_boxes": [{"position": 1, "image": image}]}]}


def test_sqlite_is_wal_with_full_sync_and_round_trips(tmp_path):
    config = load_config(None, data_dir=tmp_path)
    with open_job_store(config) as store:
        assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        store.add(_job("b", "2026-01-02T00:00:00.000+00:00"))
        store.add(_job("a"))
        assert [j.job_id for j in store.list()] == ["a", "b"]
        done = store.set_state("a", JobState.DONE, "printed")
        assert done.state is JobState.DONE and done.message == "printed"
        assert [j.job_id for j in store.list([JobState.QUEUED])] == ["b"]
        assert store.get_by_uid(store.get("b").print_job_uid).job_id == "b"
        assert store.get("zzz") is None
        with pytest.raises(KeyError):
            store.set_state("zzz", JobState.DONE)
        with pytest.raises(sqlite3.IntegrityError):
            store.add(_job("a"))
    with open_job_store(config) as again:  # committed: visible to a new connection
        assert len(again.list()) == 2


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
