"""The dashboard (printserver/jobs/dashboard.py) over real job stores: each printer's status, queue,
jobs today (since local midnight), last error; the newest jobs; counts per state; a fixed number of
queries whatever the number of jobs. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event

from printserver.config import Config, DicomConfig, LimitsConfig, OutputConfig, PrinterConfig
from printserver.jobs.dashboard import Dashboard, LastError
from printserver.jobs.model import Job, JobState
from printserver.jobs.schema import stamp
from printserver.jobs.services import Services
from store_helpers import set_state
from test_jobs_query import paris  # noqa: F401  (fixture: the server's zone is Paris)

PRINTERS = (PrinterConfig(ae_title="FILM", name="film room"),
            PrinterConfig(ae_title="PAPER", output=OutputConfig(kind="cups", queue="office")),
            PrinterConfig(ae_title="LASER"))
#: 10:00 in Paris on 5 January 2026 (UTC+1): "today" began at 2026-01-04T23:00Z
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def services(job_store, tmp_path, paris):
    config = Config(data_dir=tmp_path, printers=PRINTERS,
                    dicom=DicomConfig(limits=LimitsConfig(max_queued_jobs=2)))
    config.spool_dir.mkdir(parents=True)
    return Services(config, job_store)


def add(store, job_id: str, printer: str, created: datetime, state: JobState = JobState.QUEUED,
        message: str = "") -> Job:
    at = stamp(created)
    uid = "1.2.826.0.1." + ".".join(str(ord(c)) for c in job_id)
    store.add(Job(job_id=job_id, print_job_uid=uid, state=JobState.QUEUED, printer=printer,
                  calling_ae="CT1", called_ae=printer, film_session_label="",
                  print_priority="MED", film_count=1, copies=1, created_at=at, updated_at=at,
                  spool_dir=job_id, manifest_sha256="x"))
    if state is JobState.QUEUED:
        return store.get(job_id)
    return set_state(store, job_id, state, message)


def test_the_dashboard_of_three_printers(services):
    store = services.store
    for n in range(3):
        add(store, f"old{n}", "FILM", NOW - timedelta(days=1), JobState.DONE)
    add(store, "failed-long-ago", "FILM", NOW - timedelta(days=3), JobState.FAILED, "old trouble")
    add(store, "just-after-midnight", "FILM", datetime(2026, 1, 4, 23, 30, tzinfo=timezone.utc),
        JobState.FAILED, "render failed: bad LUT")
    add(store, "just-before-midnight", "FILM", datetime(2026, 1, 4, 22, 59, tzinfo=timezone.utc),
        JobState.CANCELLED)
    add(store, "q1", "FILM", NOW - timedelta(minutes=5))
    add(store, "q2", "FILM", NOW - timedelta(minutes=4))
    add(store, "rendering", "PAPER", NOW - timedelta(minutes=3), JobState.RENDERING)
    services.printers.pause("PAPER", actor="alice")
    store.set_output_status("PAPER", "FAILURE", "PRINTER DOWN", "CUPS server down")

    dashboard = services.dashboard.get(recent=3, now=NOW)
    assert isinstance(dashboard, Dashboard)
    assert dashboard.today_since == "2026-01-05T00:00:00+01:00"
    # today's jobs per state: the ones from yesterday and before are not counted
    assert dashboard.states == {"QUEUED": 2, "RENDERING": 1, "PRINTING": 0, "DONE": 0,
                                "FAILED": 1, "CANCELLED": 0}
    assert (dashboard.jobs_today, dashboard.queued) == (4, 3)
    assert [j.job_id for j in dashboard.recent_jobs] == ["rendering", "q2", "q1"]
    film, paper, laser = dashboard.printers
    # a full queue (max_queued_jobs = 2) is WARNING / PRINT BUFF FULL, as Printer N-GET says
    assert (film.ae_title, film.name, film.status, film.status_info, film.paused) == (
        "FILM", "film room", "WARNING", "PRINT BUFF FULL", False)
    assert (film.queue_length, film.jobs_today) == (2, 3)
    assert film.last_error == LastError(film.last_error.at, "render failed: bad LUT", "job",
                                        "just-after-midnight")
    assert (paper.status, paper.status_info, paper.paused, paper.queue_length) == (
        "FAILURE", "PRINTER DOWN", True, 1)
    assert (paper.last_error.source, paper.last_error.message) == ("output", "CUPS server down")
    assert (laser.status, laser.queue_length, laser.jobs_today, laser.last_error) == (
        "NORMAL", 0, 0, None)
    for view, summary in zip(services.printers.list(), dashboard.printers):
        assert (view.status, view.status_info) == (summary.status, summary.status_info)

    out = dashboard.to_dict()
    assert list(out) == ["at", "today_since", "printers", "recent_jobs", "states", "jobs_today",
                         "queued"]
    assert list(out["printers"][0]) == ["ae_title", "name", "output_kind", "status",
                                        "status_info", "paused", "queue_length", "jobs_today",
                                        "last_error"]
    assert out["printers"][0]["last_error"]["job_id"] == "just-after-midnight"
    assert out["recent_jobs"][0]["job_id"] == "rendering" and "films" not in out["recent_jobs"][0]


def test_the_dashboard_reads_no_row_per_job(services):
    statements: list[str] = []
    event.listen(services.store.db.engine, "before_cursor_execute",
                 lambda _c, _cur, statement, *_: statements.append(statement))
    counts = []
    for batch in range(2):
        for n in range(25):
            add(services.store, f"j{batch}-{n}", PRINTERS[n % 3].ae_title,
                NOW - timedelta(minutes=n), JobState.FAILED if n % 5 == 0 else JobState.QUEUED)
        statements.clear()
        services.dashboard.get(now=NOW)
        counts.append(len([s for s in statements if s.lstrip().upper().startswith("SELECT")]))
    # today's per state, the queues, each printer's today, last failures, states, newest jobs
    assert counts[0] == counts[1] == 6
    assert services.dashboard.get(recent=0, now=NOW).recent_jobs == ()


def test_rows_become_jobs_and_films_positionally():
    """The store builds Job and FilmRecord from rows by position (listings make many): the
    tables' columns must be the records' fields, in order."""
    import dataclasses

    from printserver.jobs.model import FilmRecord
    from printserver.jobs.schema import films, jobs

    assert list(jobs.c.keys()) == [f.name for f in dataclasses.fields(Job)]
    assert list(films.c.keys()) == [f.name for f in dataclasses.fields(FilmRecord)]
