"""Job store helpers for tests: open a store on an upgraded database, and put a job in a state
without its transitions (what a test of something else needs as a starting point)."""

from __future__ import annotations

from sqlalchemy import update

from printserver.config import Config
from printserver.jobs.migrate import upgrade
from printserver.jobs.model import Job, JobState
from printserver.jobs.schema import jobs, now
from printserver.jobs.store import JobStore, open_job_store


def open_upgraded(url: str) -> JobStore:
    """A store over the database at ``url`` (``sqlite:///PATH`` or ``postgresql://…``), its
    schema created or upgraded first, as ``printserver serve`` does at start."""
    config = Config(database_url=url)
    upgrade(config)
    return open_job_store(config)


def set_state(store: JobStore, job_id: str, state: JobState, message: str = "") -> Job:
    """Test-only: set a job's state by a plain UPDATE (no transition rules, no timeline row).

    Raises KeyError for an unknown job."""
    with store.db.write(f"setting job {job_id} {state}") as connection:
        row = connection.execute(update(jobs).where(jobs.c.job_id == job_id).values(
            state=JobState(state).value, message=message, updated_at=now())
            .returning(jobs.c.job_id)).first()
    if row is None:
        raise KeyError(job_id)
    job = store.get(job_id)
    assert job is not None
    return job
