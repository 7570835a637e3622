"""Benchmark: 8 modalities printing at once to ``printserver serve`` with the PDF output.

Eight Print SCUs (the project's own, :mod:`printserver.scu`), each on its own association at the
same time, send 5 films ``STANDARD\\4,4`` of 512 × 512 12-bit images (80 images each, 640 in
all) to one ``python -m printserver serve`` (default configuration: 14INX17IN at 320 dpi, render
workers = its default, PDF output). Every job must end DONE; any failure status or FAILED job
aborts the benchmark.

Reports films per minute (from the first association to the last job DONE), the p50 / p95 time
from N-ACTION (job created) to DONE, and, as the baseline measured in the same run, the time one
worker needs to render and write one such film on its own (the job's own render time recorded by
the worker while nothing else runs). Ratios: p95 latency / baseline, and throughput / the ideal
throughput of the workers (workers × 60 s / baseline).

    python benchmarks/bench_concurrent_print.py [--scus 8] [--films 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from printserver.config import load_config  # noqa: E402
from printserver.jobs import open_job_store  # noqa: E402
from printserver.scu.images import ImageSource, PrintImage  # noqa: E402
from printserver.scu.session import FilmOptions, PrintSCU  # noqa: E402

log = logging.getLogger("bench_concurrent_print")

ROWS = COLUMNS = 512
BOXES = 16


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ct_like(seed: int) -> PrintImage:
    """A 512 x 512 12-bit image with structure (a disc, a ramp and noise), different per seed."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:ROWS, 0:COLUMNS]
    disc = ((y - 256) ** 2 + (x - 256) ** 2 < (180 + seed % 40) ** 2) * 1800
    img = disc + x * 3 + rng.integers(0, 200, (ROWS, COLUMNS))
    return PrintImage(np.clip(img, 0, 4095).astype(np.uint16), 12, f"synthetic {seed}")


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("printserver serve exited at start-up")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError("printserver serve did not listen in time")


def seconds_between(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def run(scus: int, films: int, data_dir: Path) -> dict:
    port = free_port()
    logfile = open(data_dir.parent / "printserver.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "printserver", "serve", "--data-dir", str(data_dir),
         "--dicom-port", str(port), "--web-port", str(free_port())],
        stdout=logfile, stderr=subprocess.STDOUT, cwd=REPO)
    config = load_config(data_dir=data_dir)
    try:
        wait_for_port(port, proc)
        images = [ct_like(i) for i in range(BOXES)]
        sources = [ImageSource(img.source, lambda img=img: img) for img in images]

        # baseline: one film alone, rendered by a worker while nothing else runs
        alone = PrintSCU("127.0.0.1", port, "PRINTSCP", "BASELINE").print(
            sources, FilmOptions(image_display_format="STANDARD\\4,4"))
        if alone.exit_status != 0:
            raise RuntimeError(f"baseline film failed: {alone.failures}")
        store = open_job_store(config)
        baseline_job = wait_done(store, 1, timeout=300)[0]
        baseline = seconds_between(baseline_job.created_at, baseline_job.finished_at)

        results = []
        errors: list[BaseException] = []

        def modality(k: int) -> None:
            try:
                scu = PrintSCU("127.0.0.1", port, "PRINTSCP", f"MODALITY{k}", timeout=120)
                results.append(scu.print(sources * films,
                                         FilmOptions(image_display_format="STANDARD\\4,4")))
            except BaseException as exc:  # reported below
                errors.append(exc)

        start = time.time()
        threads = [threading.Thread(target=modality, args=(k,)) for k in range(scus)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        sent = time.time()
        if errors:
            raise RuntimeError(f"an SCU failed: {errors[0]!r}")
        bad = [r for r in results if r.exit_status != 0 or r.films_printed != films]
        if bad:
            raise RuntimeError(f"{len(bad)} SCU(s) saw failures: {bad[0].failures or bad[0].problem}")
        jobs = [j for j in wait_done(store, 1 + scus * films, timeout=1800)
                if j.job_id != baseline_job.job_id]
        failed = [j for j in jobs if j.state.value != "DONE"]
        if failed:
            raise RuntimeError(f"{len(failed)} job(s) not DONE: {failed[0].message}")
        last_done = max(datetime.fromisoformat(j.finished_at).timestamp() for j in jobs)
        latencies = sorted(seconds_between(j.created_at, j.finished_at) for j in jobs)
        wall = last_done - start
        workers = config.workers.processes
        per_minute = len(jobs) / wall * 60
        ideal_per_minute = workers * 60 / baseline
        store.close()
        return {
            "scus": scus, "films_per_scu": films, "films": len(jobs), "workers": workers,
            "send_seconds": sent - start, "wall_seconds": wall, "films_per_minute": per_minute,
            "latency_p50_s": statistics.median(latencies),
            "latency_p95_s": latencies[max(0, round(0.95 * len(latencies)) - 1)],
            "baseline_one_film_s": baseline,
            "p95_over_baseline": latencies[max(0, round(0.95 * len(latencies)) - 1)] / baseline,
            "throughput_over_ideal": per_minute / ideal_per_minute, "cpu_count": os.cpu_count(),
        }
    except RuntimeError as exc:
        logfile.flush()
        tail = (data_dir.parent / "printserver.log").read_text(errors="replace")[-4000:]
        raise RuntimeError(f"{exc}\n--- printserver log (tail) ---\n{tail}") from None
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        logfile.close()


def wait_done(store, count: int, timeout: float) -> list:
    """All jobs once ``count`` of them are DONE or FAILED."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = store.list()
        if len([j for j in jobs if j.state.value in ("DONE", "FAILED")]) >= count:
            return jobs
        time.sleep(0.2)
    raise RuntimeError(f"fewer than {count} jobs finished after {timeout} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scus", type=int, default=8, help="SCUs at once (default 8)")
    parser.add_argument("--films", type=int, default=5, help="films per SCU (default 5)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="bench-concurrent-") as tmp:
        result = run(args.scus, args.films, Path(tmp) / "var")
    if args.json:
        print(json.dumps(result, indent=1))
        return
    print(f"{result['scus']} SCUs x {result['films_per_scu']} films STANDARD\\4,4 of 512x512 "
          f"12-bit, {result['workers']} render workers, {result['cpu_count']} CPUs")
    print(f"all sent in        : {result['send_seconds']:8.1f} s")
    print(f"all DONE after     : {result['wall_seconds']:8.1f} s, nothing failed")
    print(f"films per minute   : {result['films_per_minute']:8.1f}  "
          f"({result['throughput_over_ideal']:.2f} of the workers' ideal)")
    print(f"N-ACTION -> DONE   : p50 {result['latency_p50_s']:.1f} s, "
          f"p95 {result['latency_p95_s']:.1f} s")
    print(f"baseline (1 film)  : {result['baseline_one_film_s']:8.2f} s; p95 / baseline "
          f"{result['p95_over_baseline']:.1f}")


if __name__ == "__main__":
    main()
