"""Retention: spooled pixels and finished films of finished jobs are removed after an age.

Only DONE, FAILED and CANCELLED jobs that finished before the cut-off are purged, and each one
only after the job store recorded it purged (:meth:`JobStore.mark_purged`, which checks the state
in the same transaction): a job that is queued, rendering, printing, or that an operator has
just retried is never touched. The job row stays (with ``purged_at``), so that the history of
what was printed remains; a purged job can no longer be retried or reprinted.

``printserver jobs purge --older-than DAYS`` runs it once; ``printserver serve`` runs it at start
and every hour with ``[retention] days`` (0 = never).

The records of the Print SCP's associations are kept ``[retention] association_days``
(:func:`purge_associations`, run by serve with the purge of jobs).
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from printserver.jobs.spool import Spool
from printserver.jobs.store import JobStore

log = logging.getLogger(__name__)

#: seconds between two purges in ``printserver serve``
PURGE_INTERVAL = 3600.0


@dataclass
class PurgeReport:
    """What a purge removed."""

    jobs: list[str] = field(default_factory=list)
    files: int = 0
    bytes: int = 0

    def to_dict(self) -> dict:
        return {"jobs": self.jobs, "files": self.files, "bytes": self.bytes}


def _remove(path: Path, report: PurgeReport) -> None:
    try:
        if path.is_dir():
            for p in path.rglob("*"):
                if p.is_file():
                    report.files += 1
                    report.bytes += p.stat().st_size
            shutil.rmtree(path)
        elif path.is_file():
            report.files += 1
            report.bytes += path.stat().st_size
            path.unlink()
    except OSError as exc:  # one unremovable file must not stop the purge; the job stays purged
        log.error("purge: cannot remove %s: %s", path, exc)


def purge(store: JobStore, spool: Spool, older_than_days: float,
          now: datetime | None = None) -> PurgeReport:
    """Remove the spool folders and film files of jobs finished more than ``older_than_days`` ago.

    Returns
    -------
    PurgeReport
        The purged job ids, the number of files removed and their size.
    """
    cutoff = (now or datetime.now(timezone.utc)) - timedelta(days=older_than_days)
    report = PurgeReport()
    for job in store.finished_before(cutoff):
        if not store.mark_purged(job.job_id):
            continue  # retried or purged meanwhile
        _remove(spool.job_dir(job), report)
        for film in store.films(job.job_id):
            for name in (*film.pdf_files, film.preview):
                if name:
                    _remove(Path(name), report)
        report.jobs.append(job.job_id)
    if report.jobs:
        log.info("retention: purged %d job(s) finished before %s (%d files, %.1f MB)",
                 len(report.jobs), cutoff.isoformat(timespec="seconds"), report.files,
                 report.bytes / 1e6)
    return report


def purge_associations(store: JobStore, older_than_days: float,
                       now: datetime | None = None) -> int:
    """Delete the records of associations started more than ``older_than_days`` ago (the
    Associations admin page); returns how many."""
    cutoff = (now or datetime.now(timezone.utc)) - timedelta(days=older_than_days)
    removed = store.associations.purge(cutoff)
    if removed:
        log.info("retention: deleted %d association record(s) older than %s", removed,
                 cutoff.isoformat(timespec="seconds"))
    return removed
