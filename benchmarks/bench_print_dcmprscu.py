"""Benchmark: DCMTK's ``dcmprscu`` printing 16 images of 512 × 512 12-bit to printserver and to
DCMTK's own Print SCP ``dcmprscp``, in the same run.

One film ``STANDARD\\4,4`` is rendered once with ``dcmpsprt`` (a Stored Print plus 16 Hardcopy
Grayscale images), then spooled with ``dcmprscu`` (``TCP_NODELAY=1`` in its environment) to a
``python -m printserver serve`` subprocess (render workers off) and to a ``dcmprscp`` subprocess,
alternately, each time from association request to release. Both servers keep what they receive
on disk (printserver its spool and job store, fsync'd; dcmprscp its Hardcopy Grayscale and Stored
Print files) and run at their default log level (dcmprscp without ``--debug --dump``). Every run
is checked from dcmprscu's log: a run with a failure status or an error aborts the benchmark.
Reports the median of each, its spread, each server's CPU time per print (from /proc) and the
ratio printserver / dcmprscp (aim ≤ 1.0).

    python benchmarks/bench_print_dcmprscu.py [--repeat N] [--json]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from dcmtk_print import (  # noqa: E402  (the harness lives with the tests)
    DcmprscpServer,
    FilmOptions,
    PrinterProfile,
    free_port,
    pattern,
    render,
    spool,
    wait_for_port,
    write_config,
    write_image,
)

log = logging.getLogger("bench_print_dcmprscu")

IMAGES, ROWS, COLUMNS, BITS = 16, 512, 512, 12


class PrintserverProcess:
    """``python -m printserver serve`` on a free 127.0.0.1 port with its own data folder."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.ae_title = "PRINTSCP"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> PrintserverProcess:
        self._log = open(self.data_dir.parent / "printserver.log", "w")  # noqa: SIM115
        # no render workers: measure the Print SCP, as dcmprscp only stores what it receives
        config = self.data_dir.parent / "printserver.toml"
        config.write_text("[workers]\ncount = 0\n")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "printserver", "serve", "--config", str(config),
             "--data-dir", str(self.data_dir), "--dicom-port", str(self.port),
             "--web-port", str(free_port())],
            stdout=self._log, stderr=subprocess.STDOUT, cwd=REPO)
        try:
            wait_for_port("127.0.0.1", self.port, timeout=30, proc=self.proc)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None
        self._log.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc, clock-tick resolution)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_spool(cfg, stored, printer: str) -> float:
    """Seconds for one dcmprscu run; raises when the log shows anything but success."""
    start = time.perf_counter()
    result = spool(cfg, stored, printer=printer, debug=False, timeout=300)
    elapsed = time.perf_counter() - start
    if result.errors or result.warnings:
        raise RuntimeError(f"dcmprscu to {printer} failed:\n" + "\n".join(
            result.errors + result.warnings) + "\n" + result.log[-3000:])
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15,
                        help="runs against each server, median kept (default 15: single runs "
                             "vary by 20 %% on a busy machine)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)

    with tempfile.TemporaryDirectory(prefix="bench-dcmprscu-") as tmp:
        root = Path(tmp)
        (root / "printserver").mkdir()
        with DcmprscpServer(root / "dcmprscp", dump=False) as reference, \
                PrintserverProcess(root / "printserver" / "data") as ours:
            printers = [
                PrinterProfile(name="PRINTSERVER", ae_title=ours.ae_title, port=ours.port),
                PrinterProfile(name="DCMPRSCP", ae_title=reference.ae_title,
                               port=reference.port),
            ]
            cfg = write_config(root / "scu", printers)
            images = [write_image(root / f"image{i:02d}.dcm", pattern(ROWS, COLUMNS, BITS, i), BITS)
                      for i in range(IMAGES)]
            stored = render(cfg, images, FilmOptions(columns=4, rows=4), timeout=300)
            log.info("rendered STANDARD\\4,4 with %d images of %dx%d", len(stored.images),
                     stored.images[0].Columns, stored.images[0].Rows)

            # one checked warm-up each: every response must be 0000
            for name in ("PRINTSERVER", "DCMPRSCP"):
                spool(cfg, stored, printer=name, timeout=300).assert_ok()
            times: dict[str, list[float]] = {"PRINTSERVER": [], "DCMPRSCP": []}
            pids = {"PRINTSERVER": ours.proc.pid, "DCMPRSCP": reference.proc.pid}
            cpu = {name: 0.0 for name in pids}
            for i in range(args.repeat):
                for name in (("PRINTSERVER", "DCMPRSCP") if i % 2 == 0
                             else ("DCMPRSCP", "PRINTSERVER")):
                    before = cpu_seconds(pids[name])
                    times[name].append(timed_spool(cfg, stored, name))
                    cpu[name] += cpu_seconds(pids[name]) - before
                log.info("run %d: printserver %.3f s, dcmprscp %.3f s", i + 1,
                         times["PRINTSERVER"][-1], times["DCMPRSCP"][-1])

    ours_s = statistics.median(times["PRINTSERVER"])
    ref_s = statistics.median(times["DCMPRSCP"])
    cpu_ms = {name: cpu[name] / args.repeat * 1000 for name in cpu}
    result = {
        "images": IMAGES, "rows": ROWS, "columns": COLUMNS, "bits": BITS,
        "repeat": args.repeat, "printserver_s": ours_s, "dcmprscp_s": ref_s,
        "ratio": ours_s / ref_s, "printserver_runs_s": times["PRINTSERVER"],
        "dcmprscp_runs_s": times["DCMPRSCP"], "printserver_cpu_ms": cpu_ms["PRINTSERVER"],
        "dcmprscp_cpu_ms": cpu_ms["DCMPRSCP"], "cpu_count": os.cpu_count(),
    }
    if args.json:
        print(json.dumps(result, indent=1))
        return
    print(f"dcmprscu, {IMAGES} images {COLUMNS}x{ROWS} {BITS}-bit on one STANDARD\\4,4 film, "
          f"median of {args.repeat} (min-max)")
    for label, name in (("printserver", "PRINTSERVER"), ("dcmprscp   ", "DCMPRSCP")):
        runs = times[name]
        print(f"{label} : {statistics.median(runs) * 1000:8.1f} ms  ({min(runs) * 1000:.0f}-"
              f"{max(runs) * 1000:.0f}), server CPU {cpu_ms[name]:.0f} ms per print")
    print(f"ratio       : {ours_s / ref_s:8.2f}  (printserver / dcmprscp, aim <= 1.0)")


if __name__ == "__main__":
    main()
