"""Durability of accepted print jobs: ``printserver serve`` killed with SIGKILL right after the
N-ACTION success keeps the job QUEUED with byte-identical pixels; ``printserver jobs`` shows it."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

from scp_fixtures import FILM_BOX, IMAGE_BOX, REPO, PrintSCU, image_box_ds


def _print(port: int, pixels: list[np.ndarray]) -> str:
    with PrintSCU(port) as scu:
        fs = scu.film_session(FilmSessionLabel="durable")
        fb = scu.film_box(fs, f"STANDARD\\{len(pixels)},1")
        boxes = [i.ReferencedSOPInstanceUID for i in fb.dataset.ReferencedImageBoxSequence]
        for pos, (uid, px) in enumerate(zip(boxes, pixels), start=1):
            assert scu.set(IMAGE_BOX, uid, image_box_ds(pos, px)).status == 0
        act = scu.action(FILM_BOX, fb.affected_uid)
        assert act.status == 0
        return act.dataset[0x21000500].value[0].ReferencedSOPInstanceUID


#: these tests look at jobs as the SCP queued them: no render workers to pick them up
NO_WORKERS = "[workers]\ncount = 0\n"


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "printserver", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=60)


def test_kill_9_after_n_action_keeps_job(print_scp_factory):
    print_scp = print_scp_factory(NO_WORKERS)
    rng = np.random.default_rng(9)
    pixels = [rng.integers(0, 4096, (300, 200), dtype=np.uint16),
              rng.integers(0, 4096, (128, 256), dtype=np.uint16)]
    job_uid = _print(print_scp.port, pixels)
    print_scp.kill()  # SIGKILL right after the N-ACTION success: no clean-up at all
    print_scp.restart()
    store = print_scp.store()
    (job,) = store.list()
    assert job.print_job_uid == job_uid and job.state.value == "QUEUED"
    from printserver.jobs.spool import Spool

    spool = Spool(print_scp.data_dir / "spool")
    for pos, px in enumerate(pixels, start=1):
        assert spool.pixel_bytes(job, 1, pos) == px.astype("<u2").tobytes()
    # the restarted server still answers and the CLI sees the job
    listed = json.loads(_cli("jobs", "list", "--json", "--data-dir", str(print_scp.data_dir)).stdout)
    assert [j["job_id"] for j in listed] == [job.job_id] and listed[0]["state"] == "QUEUED"
    shown = _cli("jobs", "show", job.job_id, "--json", "--data-dir", str(print_scp.data_dir))
    assert shown.returncode == 0
    manifest = json.loads(shown.stdout)["manifest"]
    assert manifest["film_session"]["attributes"]["FilmSessionLabel"] == "durable"
    assert [b["image"]["rows"] for b in manifest["films"][0]["image_boxes"]] == [300, 128]


def test_serve_stops_cleanly_on_sigterm(print_scp):
    assert print_scp.stop() == 0
    log = print_scp.log_path.read_text()
    assert "Print SCP listening" in log and "Print SCP stopped" in log


def test_jobs_cli_text_and_errors(print_scp_factory):
    print_scp = print_scp_factory(NO_WORKERS)
    _print(print_scp.port, [np.zeros((4, 4), np.uint16)])
    out = _cli("jobs", "list", "--data-dir", str(print_scp.data_dir))
    assert out.returncode == 0 and "QUEUED" in out.stdout and "TESTSCU" in out.stdout
    job_id = json.loads(_cli("jobs", "list", "--json", "--data-dir",
                             str(print_scp.data_dir)).stdout)[0]["job_id"]
    show = _cli("jobs", "show", job_id, "--data-dir", str(print_scp.data_dir))
    assert show.returncode == 0 and "STANDARD\\1,1" in show.stdout
    missing = _cli("jobs", "show", "nope", "--data-dir", str(print_scp.data_dir))
    assert missing.returncode == 2 and "no job" in missing.stderr


def test_serve_port_in_use_is_a_clean_error(tmp_path):
    import socket

    with socket.socket() as blocker:
        blocker.bind(("0.0.0.0", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        out = _cli("serve", "--data-dir", str(tmp_path), "--dicom-port", str(port))
    assert out.returncode == 2
    assert "cannot listen" in out.stderr and "Traceback" not in out.stderr
