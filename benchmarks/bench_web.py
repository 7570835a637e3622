"""Benchmark: what the admin pages and the JSON API ask of the job store, with 100 000 jobs in it,
on SQLite and on PostgreSQL, each against the bare SQL the page needs, in the same run.

The store is filled with generated jobs (``executemany`` in batches): 100 000 over the last 90
days on 4 printers and 20 calling AE titles, nearly all finished (DONE, some FAILED and
CANCELLED, one film row each for the DONE ones), a few hundred waiting or printing. PostgreSQL is
a private server started as the tests start theirs (``tests/pg_fixtures.py``), analysed and
vacuumed after the load as its autovacuum would; the SQLite file is left as ``serve`` leaves it
(no ANALYZE).

Measured, service level (the time a view spends below Flask; the page level comes with the
pages), each call alternating with its baseline:

* **job list**: ``parse_job_query({})`` → ``JobService.find`` (the newest 50 jobs and their
  films) → ``job_page_json``; baseline: its SELECT (50 + 1 jobs newest first, an index range,
  joined to their films) on a plain DB-API connection, rows fetched;
* **filtered job list**: the same with ``state=FAILED&printer=PRINTER2``;
* **deep page**: the job list from a cursor 50 000 jobs down (keyset pagination, not OFFSET);
* **dashboard**: ``DashboardService.get()`` → ``to_dict()``; baseline: its six SELECTs (today's
  jobs per state, queue lengths, each printer's jobs today, each printer's newest FAILED job, the
  printers' rows, the 10 newest jobs).

Reports p50 / p95 per measurement and the ratios to the baseline. Targets (issue 9): p95 at most
50 ms, and at most 5 × the bare SQL.

    python benchmarks/bench_web.py [--jobs 100000] [--repeat 200] [--backend sqlite|postgresql]
                                   [--json]
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from printserver.config import Config, OutputConfig, PrinterConfig  # noqa: E402
from printserver.jobs import cursors  # noqa: E402
from printserver.jobs.api_json import job_page_json  # noqa: E402
from printserver.jobs.migrate import upgrade  # noqa: E402
from printserver.jobs.query import parse_job_query, start_of_day  # noqa: E402
from printserver.jobs.schema import films, jobs, stamp  # noqa: E402
from printserver.jobs.services import Services  # noqa: E402

log = logging.getLogger("bench_web")

PRINTERS = ("PRINTER1", "PRINTER2", "PRINTER3", "PRINTER4")
CALLING = tuple(f"MODALITY{n:02d}" for n in range(20))
STATES = ("QUEUED", "RENDERING", "PRINTING", "DONE", "FAILED", "CANCELLED")
#: targets of issue 9
MAX_P95_MS, MAX_RATIO = 50.0, 5.0
BATCH = 5000
WARMUP = 20

_JOB_COLUMNS = ("job_id, print_job_uid, state, printer, calling_ae, called_ae, "
                "film_session_label, print_priority, film_count, copies, created_at, updated_at, "
                "spool_dir, manifest_sha256, message, attempts, claimed_by, claimed_at, "
                "finished_at, retry_at, retries, output_ref, printing_at, cancel_requested, "
                "purged_at")
_FILM_COLUMNS = ("job_id, film, copies, pdf_files, preview, width_mm, height_mm, dpi, "
                 "render_seconds, warnings")


# -- the store ----------------------------------------------------------------------------------
def generate(services: Services, count: int, now: datetime, seed: int = 9) -> float:
    """Fill the store with ``count`` jobs (module docstring); returns the seconds it took."""
    rng = random.Random(seed)
    started = time.perf_counter()
    span = timedelta(days=90).total_seconds()
    waiting = {"QUEUED": 300, "RENDERING": 4, "PRINTING": 12}
    with services.store.db.write("generating jobs") as connection:
        for first in range(0, count, BATCH):
            job_rows, film_rows = [], []
            for n in range(first, min(first + BATCH, count)):
                age = span * (1 - n / count) + rng.random()  # n = count - 1 is the newest
                created = stamp(now - timedelta(seconds=age))
                newest = count - n
                state = next((s for s, k in waiting.items() if newest <= k), None)
                if state is None:
                    roll = rng.random()
                    state = "FAILED" if roll < 0.03 else "CANCELLED" if roll < 0.05 else "DONE"
                job_id = f"{created[:19].replace(':', '').replace('-', '')}-{n:06d}"
                printer = PRINTERS[n % len(PRINTERS)]
                finished = created if state in ("DONE", "FAILED", "CANCELLED") else ""
                job_rows.append({
                    "job_id": job_id, "print_job_uid": f"1.2.826.0.1.3680043.10.{n}",
                    "state": state, "printer": printer, "calling_ae": rng.choice(CALLING),
                    "called_ae": printer, "film_session_label": f"exam {n}",
                    "print_priority": "MED", "film_count": 1, "copies": 1, "created_at": created,
                    "updated_at": created, "spool_dir": job_id, "manifest_sha256": "0" * 64,
                    "message": "render failed: generated" if state == "FAILED" else "",
                    "attempts": 1, "claimed_by": "", "claimed_at": "", "finished_at": finished,
                    "retry_at": "", "retries": 0, "output_ref": "", "printing_at": "",
                    "cancel_requested": 0, "purged_at": ""})
                if state == "DONE":
                    film_rows.append({
                        "job_id": job_id, "film": 1, "copies": 1,
                        "pdf_files": json.dumps([f"films/{printer}_{job_id}_film1_copy1.pdf"]),
                        "preview": f"films/previews/{job_id}_film1.png", "width_mm": 355.6,
                        "height_mm": 431.8, "dpi": 320.0, "render_seconds": 0.4,
                        "warnings": "[]"})
            connection.execute(jobs.insert(), job_rows)
            if film_rows:
                connection.execute(films.insert(), film_rows)
    if services.store.db.dialect == "postgresql":
        with services.store.db.engine.connect() as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")  # what autovacuum does after a load
    return time.perf_counter() - started


# -- the bare SQL ---------------------------------------------------------------------------------
class Bare:
    """The pages' SELECTs on a plain DB-API connection (autocommit), rows fetched."""

    def __init__(self, connection: Any, placeholder: str) -> None:
        self.connection = connection
        self.placeholder = placeholder

    def rows(self, sql: str, params: tuple = ()) -> list:
        cursor = self.connection.cursor()
        cursor.execute(sql.replace("?", self.placeholder), params)
        rows = cursor.fetchall()
        cursor.close()
        return rows

    def page(self, where: str = "", params: tuple = (), after: tuple | None = None,
             limit: int = 50) -> list:
        """The newest ``limit`` + 1 jobs (an index range) joined to their films."""
        conditions = [where] if where else []
        if after is not None:
            conditions.append("(created_at, job_id) < (?, ?)")
            params = (*params, *after)
        chosen = (f"SELECT {_JOB_COLUMNS} FROM jobs "
                  + (f"WHERE {' AND '.join(conditions)} " if conditions else "")
                  + f"ORDER BY created_at DESC, job_id DESC LIMIT {limit + 1}")
        films = ", ".join(f"films.{c.strip()}" for c in _FILM_COLUMNS.split(","))
        return self.rows(f"SELECT page.*, {films} FROM ({chosen}) AS page LEFT OUTER JOIN films "
                         "ON films.job_id = page.job_id "
                         "ORDER BY page.created_at DESC, page.job_id DESC, films.film", params)

    def counts_since(self, column: str, values: tuple[str, ...], since: str) -> list:
        return self.rows(" UNION ALL ".join(
            f"SELECT CAST(? AS TEXT), count(*) FROM jobs WHERE {column} = ? AND created_at >= ?"
            for _ in values), tuple(v for value in values for v in (value, value, since)))

    def dashboard(self, since: str) -> None:
        self.counts_since("state", STATES, since)
        self.rows("SELECT printer, count(*) FROM jobs WHERE state IN (?, ?, ?) GROUP BY printer",
                  ("QUEUED", "RENDERING", "PRINTING"))
        self.counts_since("printer", PRINTERS, since)
        self.rows(" UNION ALL ".join(
            f"SELECT * FROM (SELECT {_JOB_COLUMNS} FROM jobs WHERE printer = ? AND state = ? "
            "ORDER BY created_at DESC, job_id DESC LIMIT 1) AS last" for _ in PRINTERS),
            tuple(v for printer in PRINTERS for v in (printer, "FAILED")))
        self.rows(f"SELECT * FROM printers WHERE ae_title IN ({', '.join('?' * len(PRINTERS))})",
                  PRINTERS)
        self.rows(f"SELECT {_JOB_COLUMNS} FROM jobs ORDER BY created_at DESC, job_id DESC "
                  "LIMIT ?", (10,))


# -- timing ---------------------------------------------------------------------------------------
@dataclass
class Measurement:
    name: str
    ours_ms: list[float]
    bare_ms: list[float]

    @staticmethod
    def _p(values: list[float], q: float) -> float:
        return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if q < 100 else \
            max(values)

    def summary(self) -> dict[str, float]:
        ours50, ours95 = self._p(self.ours_ms, 50), self._p(self.ours_ms, 95)
        bare50, bare95 = self._p(self.bare_ms, 50), self._p(self.bare_ms, 95)
        return {"ours_p50_ms": ours50, "ours_p95_ms": ours95, "bare_p50_ms": bare50,
                "bare_p95_ms": bare95, "ratio_p50": ours50 / bare50, "ratio_p95": ours95 / bare95}


def measure(name: str, ours: Callable[[], object], bare: Callable[[], object],
            repeat: int) -> Measurement:
    """Alternate ``ours`` and ``bare`` (warm-up first); milliseconds of each call."""
    for _ in range(WARMUP):
        ours()
        bare()
    result = Measurement(name, [], [])
    for i in range(repeat):
        for which in ((ours, result.ours_ms), (bare, result.bare_ms))[::1 if i % 2 else -1]:
            started = time.perf_counter()
            which[0]()
            which[1].append((time.perf_counter() - started) * 1000)
    return result


@contextmanager
def backend_store(backend: str, root: Path) -> Iterator[tuple[Services, Any, str]]:
    """Services over an empty, upgraded store of ``backend``, and a DB-API connection to it."""
    printers = tuple(PrinterConfig(ae_title=ae, output=OutputConfig(kind="pdf"))
                     for ae in PRINTERS)
    if backend == "sqlite":
        config = Config(data_dir=root, printers=printers)
        upgrade(config)
        raw = sqlite3.connect(config.sqlite_path, isolation_level=None)
        with Services(config) as services:
            yield services, raw, "?"
        raw.close()
        return
    import psycopg
    from pg_fixtures import start_postgres

    server = start_postgres()
    try:
        url = server.new_database()
        config = Config(data_dir=root, database_url=url, printers=printers)
        upgrade(config)
        raw = psycopg.connect(url, autocommit=True)
        with Services(config) as services:
            yield services, raw, "%s"
        raw.close()
    finally:
        server.stop()


def run_backend(backend: str, count: int, repeat: int) -> dict[str, Any]:
    now = datetime.now(timezone.utc)
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp, \
            backend_store(backend, Path(tmp)) as (services, raw, placeholder):
        services.config.spool_dir.mkdir(parents=True, exist_ok=True)
        seconds = generate(services, count, now)
        log.info("%s: %d jobs generated in %.1f s", backend, count, seconds)
        bare = Bare(raw, placeholder)
        filtered = {"state": "FAILED", "printer": "PRINTER2"}
        # a cursor half-way down: count / 2 newer jobs above it (found once, here, by OFFSET)
        middle = tuple(bare.rows("SELECT created_at, job_id FROM jobs ORDER BY created_at DESC, "
                                 f"job_id DESC LIMIT 1 OFFSET {count // 2}")[0])
        deep_cursor = cursors.encode(*middle)
        since = stamp(start_of_day(now.astimezone().date()))
        measurements = [
            measure("job list", lambda: job_page_json(services.jobs.find(parse_job_query({}))),
                    lambda: bare.page(), repeat),
            measure("filtered job list (state + printer)",
                    lambda: job_page_json(services.jobs.find(parse_job_query(filtered))),
                    lambda: bare.page("state IN (?) AND printer = ?", ("FAILED", "PRINTER2")),
                    repeat),
            measure("deep page (cursor 50 % down)",
                    lambda: job_page_json(services.jobs.find(parse_job_query(
                        {"cursor": deep_cursor}))),
                    lambda: bare.page(after=middle), repeat),
            measure("dashboard", lambda: services.dashboard.get().to_dict(),
                    lambda: bare.dashboard(since), repeat),
        ]
    return {"backend": backend, "jobs": count, "generate_s": seconds,
            "measurements": {m.name: m.summary() for m in measurements}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000, help="jobs generated (100000)")
    parser.add_argument("--repeat", type=int, default=200, help="calls timed per measurement")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), action="append",
                        help="one backend (default: both)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    results = [run_backend(b, args.jobs, args.repeat)
               for b in (args.backend or ["sqlite", "postgresql"])]
    if args.json:
        print(json.dumps(results, indent=1))
        return
    print(f"service-level time per call, {args.repeat} calls each, against the bare SQL of the "
          f"page in the same run (targets: p95 <= {MAX_P95_MS:g} ms, <= {MAX_RATIO:g} x bare)")
    for result in results:
        print(f"\n{result['backend']}, {result['jobs']} jobs (generated in "
              f"{result['generate_s']:.1f} s)")
        print(f"  {'':38} {'p50 ms':>8} {'p95 ms':>8} {'bare p50':>9} {'bare p95':>9} "
              f"{'x p50':>6} {'x p95':>6}")
        for name, s in result["measurements"].items():
            ok = s["ours_p95_ms"] <= MAX_P95_MS and s["ratio_p95"] <= MAX_RATIO
            print(f"  {name:38} {s['ours_p50_ms']:8.2f} {s['ours_p95_ms']:8.2f} "
                  f"{s['bare_p50_ms']:9.2f} {s['bare_p95_ms']:9.2f} {s['ratio_p50']:6.2f} "
                  f"{s['ratio_p95']:6.2f}  {'ok' if ok else 'OVER TARGET'}")


if __name__ == "__main__":
    main()
