"""The dashboard: every printer's state and the newest jobs, in one call that stays cheap.

:meth:`DashboardService.get` answers what the dashboard page and its live updates show:

* for each configured printer its Printer Status / Printer Status Info (the answer of Printer
  N-GET, :mod:`printserver.jobs.printer_status`), whether it is paused, its queue length (its
  unfinished jobs, whenever they came), its jobs today and its last error;
* the newest jobs;
* today's jobs per state (``states``; today's unfinished ones are also in the queues).

"Today" is since 00:00 in the server's time zone (the ``TZ`` of the process, else the
system's), the day a hospital's staff means; the answer says when that was (``today_since``).
The counts per state are of today's jobs, not of the whole history: those would read an index
entry per job ever printed on every refresh (100 000 entries, about 10 ms on SQLite) and tell
an operator nothing to act on.

The **last error** of a printer is its output device's message while the device is not NORMAL
(what is wrong now), else the message of its newest FAILED job (by creation) with the job's id.

Cost: one snapshot of the job store, six statements whatever the number of jobs or printers
(:meth:`~printserver.jobs.store.JobStore.overview`): today's jobs per state, the queues, each
printer's jobs today, each printer's newest failure, the printers' stored state, the newest
jobs; every count one index range, nothing read per job.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal

from printserver.config import Config
from printserver.jobs.api_json import job_json
from printserver.jobs.model import Job, PrinterState
from printserver.jobs.printer_status import status_of
from printserver.jobs.query import start_of_day
from printserver.jobs.schema import stamp
from printserver.jobs.store import JobStore
from printserver.vocabulary import PrinterStatus

if TYPE_CHECKING:  # pragma: no cover
    from printserver.jobs.services import PrinterService

#: newest jobs the dashboard shows unless told otherwise, and at most
RECENT, MAX_RECENT = 10, 100


def _shallow(record: Any) -> dict[str, Any]:
    """A dataclass's fields as a dict, values as they are (the dashboard's are plain values;
    ``asdict`` would deep-copy them on every refresh)."""
    return {f.name: getattr(record, f.name) for f in fields(record)}


@dataclass(frozen=True)
class LastError:
    """What last went wrong with a printer (see the module docstring).

    Attributes
    ----------
    at : str
        When (ISO 8601 UTC): the output status's recording, or the job's end.
    message : str
    source : str
        ``output`` (the device, now) or ``job`` (its newest FAILED job).
    job_id : str
        The job, for ``job`` (empty for ``output``).
    """

    at: str
    message: str
    source: Literal["output", "job"]
    job_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        return _shallow(self)


@dataclass(frozen=True)
class PrinterSummary:
    """One printer on the dashboard.

    Attributes
    ----------
    ae_title, name, output_kind : str
    status, status_info : str
        As Printer N-GET answers now.
    paused : bool
    queue_length : int
        Unfinished jobs (QUEUED, RENDERING, PRINTING).
    jobs_today : int
        Jobs created since ``Dashboard.today_since``.
    last_error : LastError or None
    """

    ae_title: str
    name: str
    output_kind: str
    status: str
    status_info: str
    paused: bool
    queue_length: int
    jobs_today: int
    last_error: LastError | None

    def to_dict(self) -> dict[str, Any]:
        d = _shallow(self)
        d["last_error"] = self.last_error.to_dict() if self.last_error is not None else None
        return d


@dataclass(frozen=True)
class Dashboard:
    """What the dashboard shows (``to_dict()`` is the JSON of its live updates).

    Attributes
    ----------
    at : str
        When it was read (ISO 8601 UTC).
    today_since : str
        00:00 today in the server's time zone (ISO 8601 with its offset).
    printers : tuple of PrinterSummary
        In the configuration's order.
    recent_jobs : tuple of Job
        The newest jobs, newest first.
    states : dict
        Every job state → number of today's jobs in it (created since ``today_since``).
    """

    at: str
    today_since: str
    printers: tuple[PrinterSummary, ...]
    recent_jobs: tuple[Job, ...]
    states: dict[str, int]

    @property
    def jobs_today(self) -> int:
        return sum(self.states.values())

    @property
    def queued(self) -> int:
        """Unfinished jobs of every printer (whenever they came)."""
        return sum(p.queue_length for p in self.printers)

    def to_dict(self) -> dict[str, Any]:
        """``at``, ``today_since``, ``printers``, ``recent_jobs`` (the API's job objects),
        ``states`` (today's), ``jobs_today`` and ``queued``."""
        return {"at": self.at, "today_since": self.today_since,
                "printers": [p.to_dict() for p in self.printers],
                "recent_jobs": [job_json(j) for j in self.recent_jobs],
                "states": dict(self.states), "jobs_today": self.jobs_today,
                "queued": self.queued}


def last_error(state: PrinterState, failed: Job | None) -> LastError | None:
    """A printer's last error from its stored state and its newest FAILED job (module
    docstring)."""
    if state.output_status != PrinterStatus.NORMAL:
        return LastError(state.updated_at, state.message or
                         f"{state.output_status} / {state.output_status_info}", "output")
    if failed is not None:
        return LastError(failed.finished_at or failed.updated_at, failed.message, "job",
                         failed.job_id)
    return None


class DashboardService:
    """The dashboard of one configuration.

    Parameters
    ----------
    config
        The printers, in the order shown, and the limits that take part in their status.
    store
    printers
        The spool's part of every printer's status (:meth:`PrinterService.spool_status`).
    """

    def __init__(self, config: Config, store: JobStore, printers: PrinterService) -> None:
        self.config = config
        self.store = store
        self.printers = printers

    def get(self, recent: int = RECENT, now: datetime | None = None) -> Dashboard:
        """The dashboard now (``now``: another moment's "today", for tests).

        Parameters
        ----------
        recent
            How many of the newest jobs (0 … :data:`MAX_RECENT`).
        """
        recent = max(0, min(int(recent), MAX_RECENT))
        now = now or datetime.now(timezone.utc)
        since = start_of_day(now.astimezone().date())
        titles = [p.ae_title for p in self.config.printers]
        overview = self.store.overview(titles, since, recent)
        spool = self.printers.spool_status()
        max_queued = self.config.dicom.limits.max_queued_jobs
        summaries = []
        for printer in self.config.printers:
            ae = printer.ae_title
            state = overview.printers[ae]
            length = overview.queue_lengths.get(ae, 0)
            status, info = status_of(state, spool, length, max_queued)
            summaries.append(PrinterSummary(
                ae, printer.name, printer.output.kind, str(status), str(info), state.paused,
                length, overview.created_since.get(ae, 0),
                last_error(state, overview.last_failed.get(ae))))
        return Dashboard(stamp(now), since.isoformat(timespec="seconds"), tuple(summaries),
                         tuple(overview.recent), overview.states)
