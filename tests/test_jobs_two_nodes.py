"""Two ``printserver serve`` nodes share one queue through PostgreSQL and a shared spool folder: a
node starting up never takes the jobs another live node renders; when a node is killed with
SIGKILL in the middle of a job, the other takes that job over once the dead node's lease expired,
and every job is printed exactly once.

"In the middle of a job" is held, not hoped for: both nodes' workers run with the hold hook
(``PRINTSERVER_HOLD_DIR``, :mod:`printserver.jobs.hold`), so node A's job waits at RENDERING until
the test releases it, while node B starts, renders everything else, and A is killed."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import pytest

from printserver.jobs import Job, JobState
from printserver.jobs.hold import HOLD_DIR_VARIABLE, HeldJob, HoldFolder
from printserver.jobs.store import JobStore
from scp_fixtures import FILM_BOX, IMAGE_BOX, REPO, PrintSCU, image_box_ds, wait_process_gone

pytestmark = pytest.mark.slow

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


def _on(pid: int):
    """Holds by a worker of the serve with process id ``pid`` (its node id holds the pid)."""
    return lambda held: f":{pid}:" in held.worker_id.split("/")[0]


def _release_all_but(hold: HoldFolder, store: JobStore, kept: HeldJob) -> None:
    for job in store.list():
        if job.job_id != kept.job_id:
            hold.release(job.job_id)


def _held_again(hold: HoldFolder, first: HeldJob) -> HeldJob | None:
    """The hold of the second attempt at ``first``'s job, if a worker announced it."""
    return next((h for h in hold.held() if h.job_id == first.job_id and h.attempt == 2), None)


def _all_finished(store: JobStore, count: int, but: str = "", timeout: float = 60.0
                  ) -> list[Job]:
    """Wait until there are ``count`` jobs other than ``but``, all finished; return them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = [j for j in store.list() if j.job_id != but]
        if len(jobs) == count and all(j.finished for j in jobs):
            return jobs
        time.sleep(0.1)
    raise AssertionError(f"not {count} jobs finished: {[j.to_dict() for j in store.list()]}")


def test_two_nodes_share_the_queue_and_a_killed_node_loses_no_job(postgres, print_scp_factory,
                                                                   tmp_path, monkeypatch):
    hold = HoldFolder(tmp_path / "hold")
    monkeypatch.setenv(HOLD_DIR_VARIABLE, str(hold.path))  # inherited by both serves' workers
    shared = tmp_path / "shared"
    config = NODE_CONFIG.format(url=postgres.new_database(), spool=shared / "spool",
                                films=shared / "films")
    a = print_scp_factory(config, data_dir=tmp_path / "node-a")
    store = a.store()
    for n in range(3):
        _print(a.port, f"A{n}")
    victim = hold.wait_held(_on(a.process.pid))  # A's worker holds the oldest job, RENDERING
    assert victim.attempt == 1
    b = print_scp_factory(config, data_dir=tmp_path / "node-b")  # starts while A holds it
    for n in range(3):
        _print(b.port, f"B{n}")
    _release_all_but(hold, store, victim)

    # B renders every other job (its start-up and its lease renewals requeue nothing of A's)
    # while A's worker holds the victim
    others = _all_finished(store, 5, but=victim.job_id)
    assert all(f":{b.process.pid}:" in j.claimed_by for j in others)
    held = store.get(victim.job_id)
    assert (held.state, held.claimed_by, held.attempts) == (JobState.RENDERING,
                                                            victim.worker_id, 1)
    a_node = victim.worker_id.split("/")[0]
    assert a_node in store.live_nodes()

    a.kill()
    wait_process_gone(victim.pid)  # A's worker died with A, its job still held
    # B takes the job over only once A's lease expired: while A's node is still live, the job
    # stays A's (read the job first: a lease seen live afterwards was live before)
    deadline = time.monotonic() + 60
    while (taken := _held_again(hold, victim)) is None:
        job = store.get(victim.job_id)
        if a_node in store.live_nodes():
            assert (job.state, job.claimed_by) == (JobState.RENDERING, victim.worker_id), job
        assert time.monotonic() < deadline, f"B did not take {victim.job_id} over: {job}"
        time.sleep(0.05)
    assert f":{b.process.pid}:" in taken.worker_id and a_node not in store.live_nodes()
    hold.release(victim.job_id)

    jobs = _all_finished(store, 6)
    taken_over = store.get(victim.job_id)
    assert [j.state for j in jobs] == [JobState.DONE] * 6, [j.message for j in jobs]
    # B rendered the victim (again: A's attempt counts) and every other job once
    assert taken_over.attempts == 2 and taken_over.claimed_by == taken.worker_id
    assert all(j.attempts == 1 for j in jobs if j.job_id != victim.job_id)
    # exactly one PDF per film per copy, each job recorded DONE once, by one node
    pdfs = sorted(p.name for p in (shared / "films").glob("*.pdf"))
    assert pdfs == sorted(f"PRINTSCP_{j.job_id}_film1_copy1.pdf" for j in jobs)
    assert not list((shared / "films").glob(".tmp-*"))
    logs = a.log_path.read_text() + b.log_path.read_text()
    for job in jobs:
        assert logs.count(f"job {job.job_id}: DONE") == 1, job.job_id
    assert f"job {victim.job_id} taken over from a node whose lease expired" in \
        b.log_path.read_text()
    # one queue: the jobs both SCPs accepted, all rendered by B
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
