"""Job records: the row the job store keeps for every accepted print job."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from datetime import datetime

from printserver.vocabulary import (ExecutionStatus, ExecutionStatusInfo, PrinterStatus,
                                    PrinterStatusInfo)


class JobState(str, enum.Enum):
    """Life cycle of a print job (``../shared/DESIGN.md``).

    The SCP creates jobs QUEUED; workers move them to RENDERING, PRINTING and DONE or FAILED; an
    operator may cancel them. The Print Job SOP instance (PS3.3 C.13.8) reports them as Execution
    Status PENDING / PRINTING / DONE / FAILURE (see :meth:`execution_status`).
    """

    QUEUED = "QUEUED"
    RENDERING = "RENDERING"
    PRINTING = "PRINTING"
    DONE = "DONE"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def execution_status(self) -> tuple[ExecutionStatus, ExecutionStatusInfo]:
        """Execution Status (2100,0020) and Execution Status Info (2100,0030), PS3.3 C.13.8."""
        return _EXECUTION_STATUS[self]


_EXECUTION_STATUS = {
    JobState.QUEUED: (ExecutionStatus.PENDING, ExecutionStatusInfo.QUEUED),
    JobState.RENDERING: (ExecutionStatus.PRINTING, ExecutionStatusInfo.NORMAL),
    JobState.PRINTING: (ExecutionStatus.PRINTING, ExecutionStatusInfo.NORMAL),
    JobState.DONE: (ExecutionStatus.DONE, ExecutionStatusInfo.NORMAL),
    JobState.FAILED: (ExecutionStatus.FAILURE, ExecutionStatusInfo.UNKNOWN),
    JobState.CANCELLED: (ExecutionStatus.FAILURE, ExecutionStatusInfo.UNKNOWN),
}

#: states a job never leaves by itself; only these are purged by retention
FINISHED_STATES = frozenset({JobState.DONE, JobState.FAILED, JobState.CANCELLED})


@dataclass(frozen=True)
class Job:
    """One print job as the job store keeps it; the full description is its spool manifest.

    Attributes
    ----------
    job_id : str
        Short, sortable identifier (also the spool folder name).
    print_job_uid : str
        SOP Instance UID of the Print Job (PS3.4 H.4.5) returned in (2100,0500).
    state : JobState
    printer : str
        AE title of the printer (the called AE title that selected it).
    calling_ae, called_ae : str
    film_session_label : str
    print_priority : str
        HIGH, MED or LOW (2000,0020).
    film_count : int
        Number of film boxes (one copy).
    copies : int
        Number of Copies (2000,0010), collated.
    created_at, updated_at : str
        ISO 8601 UTC times.
    spool_dir : str
        Folder name under the spool holding ``manifest.json`` and the pixel files.
    manifest_sha256 : str
        SHA-256 of ``manifest.json`` as written.
    message : str
        Last error or status message (empty when none).
    attempts : int
        How many times a worker claimed the job (1 after the first claim).
    claimed_by, claimed_at : str
        Worker that claimed the job last and when (ISO 8601 UTC); empty before the first claim.
    finished_at : str
        When the job reached DONE, FAILED or CANCELLED (ISO 8601 UTC); empty before.
    retry_at : str
        A waiting job is not claimed before this time (ISO 8601 UTC; empty = at once): set when its
        output was unavailable (back-off), and for a PRINTING job the next time its delivery is
        asked about.
    retries : int
        How many times the job went back to waiting because its output was unavailable.
    output_ref : str
        What the output's device calls the delivery (e.g. CUPS job ids, space-separated), set
        when the job goes PRINTING.
    printing_at : str
        When the output accepted the job (PRINTING); empty before.
    cancel_requested : bool
        An operator asked to cancel the job while a worker held it; the worker cancels it at its
        next step.
    purged_at : str
        When retention removed the job's spooled pixels and finished films; empty before.
    """

    job_id: str
    print_job_uid: str
    state: JobState
    printer: str
    calling_ae: str
    called_ae: str
    film_session_label: str
    print_priority: str
    film_count: int
    copies: int
    created_at: str
    updated_at: str
    spool_dir: str
    manifest_sha256: str
    message: str = ""
    attempts: int = 0
    claimed_by: str = ""
    claimed_at: str = ""
    finished_at: str = ""
    retry_at: str = ""
    retries: int = 0
    output_ref: str = ""
    printing_at: str = ""
    cancel_requested: bool = False
    purged_at: str = ""

    @property
    def finished(self) -> bool:
        """DONE, FAILED or CANCELLED: nothing will happen to the job any more."""
        return self.state in FINISHED_STATES

    def to_dict(self) -> dict:
        """Plain JSON-ready dictionary (the state as its string)."""
        d = asdict(self)
        d["state"] = self.state.value
        return d


@dataclass(frozen=True)
class FilmRecord:
    """One finished film of a job, as the job store records it with the DONE transition.

    Attributes
    ----------
    job_id : str
    film : int
        1-based film (film box) number in the job's order.
    copies : int
        Number of Copies printed of this film.
    pdf_files : tuple of str
        The PDF files holding this film: one per copy, one for all copies, or one for the whole
        job, as the printer's ``output.filename_template`` says.
    preview : str
        The PNG preview (empty when none).
    width_mm, height_mm : float
        Page (film) size as printed, orientation applied.
    dpi : float
        Resolution of the embedded film raster.
    render_seconds : float
        Time to render the film's raster (PDF and preview writing not included).
    warnings : tuple of str
        Conditions the film was rendered through (PS3.4 H.4 warnings, e.g. B604 demagnified).
    calibration : str
        The stored printer calibration the film was rendered through
        (:attr:`printserver.layout.job_render.RenderedJob.calibration`): ``"version N"`` of the
        printer's calibrations, ``"uncalibrated step wedge ID"``, or empty when none was (the
        printer's characteristic file or default profile).
    """

    job_id: str
    film: int
    copies: int
    pdf_files: tuple[str, ...]
    preview: str
    width_mm: float
    height_mm: float
    dpi: float
    render_seconds: float
    warnings: tuple[str, ...] = ()
    calibration: str = ""

    def to_dict(self) -> dict:
        """Plain JSON-ready dictionary."""
        d = asdict(self)
        d["pdf_files"] = list(self.pdf_files)
        d["warnings"] = list(self.warnings)
        return d


@dataclass(frozen=True)
class PrinterState:
    """What the job store keeps about a printer (the SCP and the workers run in other processes).

    Attributes
    ----------
    ae_title : str
    paused : bool
        Paused by an operator: its queued jobs wait (jobs its device already has go on).
    paused_at : str
        When it was paused (ISO 8601 UTC); empty when not paused.
    paused_by : str
        Who paused it (the operator's name as given; empty when not paused or not told).
    output_status, output_status_info : str
        The state of the printer's output device as last seen by a worker or a probe: Printer Status
        (NORMAL, WARNING, FAILURE) and Printer Status Info (PS3.3 C.13.9.1 defined term).
    message : str
        What the device said, readable (empty when NORMAL).
    updated_at : str
        When the output status was last recorded.
    """

    ae_title: str
    paused: bool = False
    paused_at: str = ""
    paused_by: str = ""
    output_status: str = PrinterStatus.NORMAL.value
    output_status_info: str = PrinterStatusInfo.NORMAL.value
    message: str = ""
    updated_at: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


class PrinterEventKind(str, enum.Enum):
    """What changed in a printer's stored state: one row of its status history per change."""

    #: an operator paused the printer (its queued jobs wait; WARNING / PRINTER OFFLINE)
    PAUSED = "paused"
    #: an operator resumed it
    RESUMED = "resumed"
    #: its output device's status changed, as a worker or serve's probe recorded it
    OUTPUT = "output"


@dataclass(frozen=True)
class PrinterEvent:
    """One change of a printer's stored state, as its status history records it (same
    transaction as the change), with the state after it.

    Attributes
    ----------
    id : int
        Orders the history (newest has the highest).
    ae_title : str
    at : str
        When (ISO 8601 UTC with milliseconds).
    event : PrinterEventKind
    paused : bool
    output_status, output_status_info, message : str
        The output device's status after the change (:class:`PrinterState`).
    actor : str
        Who: the operator who paused or resumed, the worker or probe that saw the device (empty
        when not told).
    """

    id: int
    ae_title: str
    at: str
    event: PrinterEventKind
    paused: bool
    output_status: str
    output_status_info: str
    message: str = ""
    actor: str = ""

    @property
    def state(self) -> PrinterState:
        """The printer's stored state after the change."""
        return PrinterState(self.ae_title, paused=self.paused, output_status=self.output_status,
                            output_status_info=self.output_status_info, message=self.message)

    def to_dict(self) -> dict:
        """Plain JSON-ready dictionary (the event as its string)."""
        d = asdict(self)
        d["event"] = self.event.value
        return d


@dataclass(frozen=True)
class PrinterEventPage:
    """One page of a printer's status history, newest first; ``next_cursor`` None on the last."""

    events: list[PrinterEvent]
    next_cursor: str | None = None


@dataclass(frozen=True)
class JobOverview:
    """The counts the dashboard shows, read in one snapshot of the job store
    (:meth:`printserver.jobs.store.JobStore.overview`).

    Attributes
    ----------
    states : dict
        State name → number of the jobs created at or after the time asked for that are in it
        (every :class:`JobState`, 0 when none).
    queue_lengths : dict
        Printer → its unfinished jobs (QUEUED, RENDERING, PRINTING), whenever created; printers
        without any left out.
    created_since : dict
        Printer → jobs created at or after the time asked for, for the printers asked about.
    last_failed : dict
        Printer → its FAILED job created last, for the printers asked about that have one.
    printers : dict
        Printer → its stored state, for the printers asked about (defaults when never recorded).
    recent : list of Job
        The newest jobs, newest first.
    """

    states: dict[str, int]
    queue_lengths: dict[str, int]
    created_since: dict[str, int]
    last_failed: dict[str, Job]
    printers: dict[str, PrinterState]
    recent: list[Job] = field(default_factory=list)


class JobEventKind(str, enum.Enum):
    """What happened to a job: one row of its timeline (:class:`JobEvent`) per transition."""

    #: the Print SCP (or a reprint) stored the job QUEUED
    ACCEPTED = "accepted"
    #: a worker took the job to render it (RENDERING)
    CLAIMED = "claimed"
    #: the output accepted the films (PRINTING); the message names the device's references
    PRINTING = "printing"
    #: the output was unavailable: the job waits (QUEUED) until its retry time
    WAITING = "waiting"
    #: the worker holding the job stopped; the job went back to the queue (or, PRINTING, its
    #: delivery is followed by another worker)
    REQUEUED = "requeued"
    #: an operator asked to cancel a job a worker holds
    CANCEL_REQUESTED = "cancel requested"
    CANCELLED = "cancelled"
    #: an operator put a FAILED or CANCELLED job back in the queue
    RETRIED = "retried"
    DONE = "done"
    FAILED = "failed"
    #: retention removed the job's spooled pixels and films
    PURGED = "purged"


@dataclass(frozen=True)
class JobEvent:
    """One transition of a job, as its timeline records it (same transaction as the transition).

    Attributes
    ----------
    job_id : str
    at : str
        When (ISO 8601 UTC with milliseconds).
    event : JobEventKind
    state : JobState
        The job's state after the transition.
    actor : str
        Who made it happen: the calling AE title (accepted), a worker id, an operator's name
        (empty when not told).
    message : str
        Readable detail (the device's references, why it waits or failed …).
    """

    job_id: str
    at: str
    event: JobEventKind
    state: JobState
    actor: str = ""
    message: str = ""

    def to_dict(self) -> dict:
        """Plain JSON-ready dictionary (enums as their strings)."""
        d = asdict(self)
        d["event"] = self.event.value
        d["state"] = self.state.value
        return d


@dataclass(frozen=True)
class JobFilter:
    """Which jobs a listing shows (:meth:`printserver.jobs.store.JobStore.page`); every condition
    given must hold.

    Attributes
    ----------
    states : tuple of JobState
        Only jobs in one of these states (empty: any state).
    printer : str
        Only jobs of this printer (AE title; empty: any).
    calling_ae : str
        Only jobs sent by this calling AE title (empty: any).
    since, until : datetime or None
        Only jobs created at or after ``since`` and before ``until`` (timezone-aware).
    text : str
        Only jobs whose film session label or job id contains this text, ignoring case.
    """

    states: tuple[JobState, ...] = ()
    printer: str = ""
    calling_ae: str = ""
    since: datetime | None = None
    until: datetime | None = None
    text: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "states", tuple(JobState(s) for s in self.states))
        for name in ("since", "until"):
            when = getattr(self, name)
            if when is not None and when.tzinfo is None:
                raise ValueError(f"JobFilter.{name}: a timezone-aware datetime is needed")


@dataclass(frozen=True)
class JobPage:
    """One page of a job listing, newest first.

    Attributes
    ----------
    jobs : list of Job
    films : dict
        Job id → its films in film order, for every job of the page (empty list: none recorded).
    next_cursor : str or None
        Pass it to the next call for the following page; None on the last page.
    """

    jobs: list[Job]
    films: dict[str, list[FilmRecord]] = field(default_factory=dict)
    next_cursor: str | None = None
