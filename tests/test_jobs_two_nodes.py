"""Two ``printserver serve`` nodes share one queue through PostgreSQL and a shared spool folder: a
node starting up never takes the jobs another live node renders; when a node is killed with
SIGKILL in the middle of a job, the other takes that job over once the dead node's lease expired,
and every job is printed exactly once."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import pytest

from printserver.jobs import Job, JobState
from printserver.jobs.store import JobStore
from scp_fixtures import FILM_BOX, IMAGE_BOX, REPO, PrintSCU, image_box_ds

pytestmark = pytest.mark.slow

#: 14INX17IN at 150 dpi: long enough a render (~1 s) to be killed in the middle of one
NODE_CONFIG = """
database_url = "{url}"
spool = "{spool}"

[[printers]]
ae_title = "PRINTSCP"
resolution_dpi = {{ STANDARD = 150 }}
output = {{ kind = "pdf", path = "{films}" }}

[workers]
count = 1
lease_seconds = 3
poll_interval = 0.1
"""


def _print(port: int, label: str) -> None:
    with PrintSCU(port) as scu:
        fs = scu.film_session(FilmSessionLabel=label)
        fb = scu.film_box(fs, "STANDARD\\1,1")
        (box,) = [i.ReferencedSOPInstanceUID for i in fb.dataset.ReferencedImageBoxSequence]
        ramp = (np.arange(512 * 512, dtype=np.uint32).reshape(512, 512) % 4096).astype(np.uint16)
        assert scu.set(IMAGE_BOX, box, image_box_ds(1, ramp)).status == 0
        assert scu.action(FILM_BOX, fb.affected_uid).status == 0


def _rendering_on(store: JobStore, pid: int, timeout: float = 30.0) -> Job:
    """A job a worker of the serve with process id ``pid`` renders now."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for job in store.list([JobState.RENDERING]):
            if f":{pid}:" in job.claimed_by.split("/")[0]:
                return job
        time.sleep(0.02)
    raise AssertionError(f"no job rendering on serve {pid}: {store.list()}")


def _all_finished(store: JobStore, count: int, timeout: float = 60.0) -> list[Job]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = store.list()
        if len(jobs) == count and all(j.finished for j in jobs):
            return jobs
        time.sleep(0.1)
    raise AssertionError(f"not all {count} jobs finished: {[j.to_dict() for j in store.list()]}")


def test_two_nodes_share_the_queue_and_a_killed_node_loses_no_job(postgres, print_scp_factory,
                                                                   tmp_path):
    shared = tmp_path / "shared"
    config = NODE_CONFIG.format(url=postgres.new_database(), spool=shared / "spool",
                                films=shared / "films")
    a = print_scp_factory(config, data_dir=tmp_path / "node-a")
    store = a.store()
    for n in range(3):
        _print(a.port, f"A{n}")
    held_by_a = _rendering_on(store, a.process.pid)
    b = print_scp_factory(config, data_dir=tmp_path / "node-b")  # starts while A renders
    for n in range(3):
        _print(b.port, f"B{n}")
    victim = _rendering_on(store, a.process.pid)
    a.kill()
    killed_at = time.monotonic()

    jobs = _all_finished(store, 6)
    taken_over = store.get(victim.job_id)
    assert [j.state for j in jobs] == [JobState.DONE] * 6, [j.message for j in jobs]
    # B took the victim over only after A's lease (3 s) expired, and rendered it again
    assert taken_over.attempts == 2 and f":{b.process.pid}:" in taken_over.claimed_by
    assert time.monotonic() - killed_at >= 2.0
    # B's start-up took nothing A was rendering: every other job was rendered once
    assert all(j.attempts == 1 for j in jobs if j.job_id != victim.job_id)
    assert held_by_a.job_id == victim.job_id or store.get(held_by_a.job_id).attempts == 1
    # exactly one PDF per film per copy, each job recorded DONE once, by one node
    pdfs = sorted(p.name for p in (shared / "films").glob("*.pdf"))
    assert pdfs == sorted(f"PRINTSCP_{j.job_id}_film1_copy1.pdf" for j in jobs)
    assert not list((shared / "films").glob(".tmp-*"))
    logs = a.log_path.read_text() + b.log_path.read_text()
    for job in jobs:
        assert logs.count(f"job {job.job_id}: DONE") == 1, job.job_id
    assert f"job {victim.job_id} taken over from a node whose lease expired" in \
        b.log_path.read_text()
    # one queue: the jobs both SCPs accepted (the victim: rendered by A, then by B)
    assert sorted(j.film_session_label for j in jobs) == ["A0", "A1", "A2", "B0", "B1", "B2"]
    b.stop()
    assert store.live_nodes() == []  # a clean stop ends the lease; A's expired
    # the operator's commands read the same queue from any node's configuration
    listed = subprocess.run([sys.executable, "-m", "printserver", "jobs", "list", "--json",
                             "--config", str(a.config_path), "--data-dir", str(tmp_path / "x")],
                            cwd=REPO, capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert sorted(j["job_id"] for j in json.loads(listed.stdout)) == sorted(
        j.job_id for j in jobs)
