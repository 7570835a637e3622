"""The services the CLI, the web and the JSON API call: one place per rule, no copy in a view.

:class:`Services` is opened from a :class:`~printserver.config.Config` and holds the job store
and the spool; it offers

* ``jobs``: :class:`JobService`: list, pages with filters, show (with the timeline), cancel /
  retry / reprint, a film's files;
* ``printers``: :class:`PrinterService`: the printer table with the status the Printer SOP
  instance answers, one printer, pause / resume, a printer's status history, its effective
  settings with the origin of each (:meth:`PrinterService.settings`), and asking ``downstream``
  film printers again (:func:`refresh_downstream`, also run by ``serve`` at start);
* ``associations``: :class:`AssociationService`: the records of the Print SCP's associations;
* ``dashboard``: :class:`~printserver.jobs.dashboard.DashboardService`: the dashboard in one
  call.

Their JSON for the API is made in :mod:`printserver.jobs.api_json`; the API's and the pages'
query strings are parsed in :mod:`printserver.jobs.query`.

Callers translate: ``printserver jobs …`` and ``printserver printers …`` format what the
services return; the web maps :class:`UnknownJobError`, :class:`UnknownPrinterError` and
:class:`UnknownAssociationError` to 404, :class:`~printserver.errors.ParameterError` to 400,
:class:`~printserver.jobs.store.JobStateError` to 409, :class:`FilmFileError` to 404.

Usage::

    with Services.open(config) as services:
        for printer in services.printers.list():
            print(printer.ae_title, printer.status, printer.queue_length)
        services.jobs.cancel(job_id, actor="alice")
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from printserver.config import Config, PrinterConfig
from printserver.errors import ConfigError, ParameterError, PrintserverError
from printserver.jobs import lifecycle
from printserver.jobs.association_log import AssociationFilter, AssociationPage, AssociationRecord
from printserver.jobs.dashboard import DashboardService
from printserver.jobs.lifecycle import UnknownJobError
from printserver.jobs.manifest import Manifest, read_manifest
from printserver.jobs.model import (FilmRecord, Job, JobEvent, JobFilter, JobPage, JobState,
                                    PrinterEvent, PrinterState)
from printserver.jobs.printer_status import (PrinterStatusPair, combined_status, current_status,
                                             spool_status, status_of)
from printserver.jobs.query import AssociationQuery, JobQuery, check_limit
from printserver.jobs.spool import Spool, SpoolError
from printserver.jobs.store import MAX_PAGE, JobStore, open_job_store
from printserver.outputs import OutputError, OutputUnavailable, open_output
from printserver.profiles import downstream
from printserver.profiles.effective import effective_config, settable_keys

log = logging.getLogger(__name__)

#: which file of a film :meth:`JobService.film_file` gives: a PDF or the PNG preview
FilmFileKind = Literal["pdf", "preview"]


class UnknownPrinterError(PrintserverError, LookupError):
    """No printer has this AE title."""

    def __init__(self, ae_title: str, configured: Iterable[str]) -> None:
        self.ae_title = ae_title
        super().__init__(f"no printer with AE title {ae_title!r} "
                         f"(configured: {', '.join(configured)})")


class FilmFileError(PrintserverError):
    """A film's file cannot be given out (the web answers 404)."""


class FilmFileMissing(FilmFileError, LookupError):
    """The job has no such film or file, or it is gone (purged, removed)."""


class FilmFileRefused(FilmFileError):
    """The recorded path leads outside the folders printserver writes films to."""


# -- printers -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PrinterView:
    """One printer as the printer table shows it (``printers list --json``, ``GET /api/printers``).

    Attributes
    ----------
    ae_title, name : str
    output_kind : str
        ``pdf``, ``cups``, ``dicom`` or ``pacs``.
    output_queue : str
        The CUPS queue (empty for other outputs).
    status, status_info : str
        Printer Status and Printer Status Info now, as the Printer SOP instance answers them
        (:func:`printserver.jobs.printer_status.current_status`).
    paused : bool
    paused_at, paused_by : str
        When an operator paused it (ISO 8601 UTC) and who (both empty when not paused).
    output_status, output_status_info : str
        The output device's own state as last recorded by a worker or serve's probe.
    message : str
        What the device said (empty when NORMAL).
    status_updated_at : str
        When the output status was last recorded (empty: never).
    queue_length : int
        Unfinished jobs (QUEUED, RENDERING, PRINTING).
    """

    ae_title: str
    name: str
    output_kind: str
    output_queue: str
    status: str
    status_info: str
    paused: bool
    paused_at: str
    paused_by: str
    output_status: str
    output_status_info: str
    message: str
    status_updated_at: str
    queue_length: int

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dictionary (the keys of ``printers list --json``)."""
        return asdict(self)


@dataclass(frozen=True)
class Setting:
    """One effective printer value and where it came from (``default``, ``profile``, ``config``)."""

    key: str
    value: Any
    origin: str


@dataclass(frozen=True)
class PrinterSettings:
    """Every effective value of one printer (``printers show``), as the Print SCP, the renderer
    and the outputs use it (:mod:`printserver.profiles.effective`).

    Attributes
    ----------
    ae_title, profile : str
    profile_source : str
        Where the profile's values come from (empty without a profile).
    settings : tuple of Setting
        In the order of the configuration reference.
    """

    ae_title: str
    profile: str
    profile_source: str
    settings: tuple[Setting, ...]

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``printers show --json``: ``values`` maps each key to ``value`` and
        ``origin``."""
        return {"ae_title": self.ae_title, "profile": self.profile,
                "profile_source": self.profile_source,
                "values": {s.key: {"value": s.value, "origin": s.origin} for s in self.settings}}


def _plain(value: Any) -> Any:
    """A configuration value as JSON-ready data (tuples as lists, dataclasses as objects)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)
                if not f.metadata.get("internal")}
    if isinstance(value, (tuple, list, frozenset)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class ProfileRefresh:
    """What asking one printer's ``downstream`` film printer gave (``printers refresh``).

    Attributes
    ----------
    ae_title : str
    answered : bool
        The film printer answered (its answer is saved; ``message`` says what it left out).
    message : str
        The answer's summary, or why there is none and what is used instead.
    """

    ae_title: str
    answered: bool
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def find_printer(config: Config, ae_title: str) -> PrinterConfig:
    """The printer ``ae_title`` of ``config`` (exactly that title: no default printer).

    Raises
    ------
    UnknownPrinterError
    """
    title = ae_title.strip()
    for printer in config.printers:
        if printer.ae_title == title:
            return printer
    raise UnknownPrinterError(ae_title, (p.ae_title for p in config.printers))


def printer_settings(config: Config, ae_title: str) -> PrinterSettings:
    """Every effective value of a printer and its origin, from the configuration alone (no job
    store needed: ``printers show`` works before ``serve`` ever ran).

    Raises
    ------
    UnknownPrinterError
    """
    printer = find_printer(config, ae_title)
    return PrinterSettings(
        printer.ae_title, printer.profile, printer.profile_source,
        tuple(Setting(key, _plain(getattr(printer, key)), printer.origins.get(key, "default"))
              for key in settable_keys(printer)))


def refresh_downstream(config: Config, ae_titles: Iterable[str] | None = None
                       ) -> tuple[Config, list[ProfileRefresh]]:
    """Ask the DICOM film printer of every printer whose ``profile`` is ``downstream`` (or of the
    printers ``ae_titles``) for its capabilities, save each answer durably
    (:func:`printserver.profiles.downstream.save`) and return the configuration with the new
    answers applied.

    A film printer that does not answer is logged and its previous answer kept (none: the
    built-in defaults apply); this never raises for it.

    Raises
    ------
    UnknownPrinterError
        A named printer is not configured.
    ConfigError
        A named printer's profile is not ``downstream``, or an answer cannot be saved.
    """
    wanted = None if ae_titles is None else [a.strip() for a in ae_titles]
    for title in wanted or ():
        find_printer(config, title)
    results = []
    for printer in config.printers:
        downstream_profile = printer.profile.strip().lower() == "downstream"
        if wanted is None and not downstream_profile:
            continue
        if wanted is not None and printer.ae_title not in wanted:
            continue
        if not downstream_profile:
            raise ConfigError(f"printer {printer.ae_title}: its profile is "
                              f"{printer.profile or 'empty'!r}, not downstream: nothing to ask")
        results.append(_refresh_one(config, printer))
    return effective_config(config), results


def _refresh_one(config: Config, printer: PrinterConfig) -> ProfileRefresh:
    try:
        answer = open_output(printer, config).ask_capabilities()
    except OutputUnavailable as exc:
        previous = downstream.load(config.data_dir, printer.ae_title)
        kept = (f"the answer of {previous.asked_at} is kept" if previous is not None
                else "the built-in defaults apply")
        log.warning("printer %s: the downstream film printer did not answer (%s); %s",
                    printer.ae_title, exc, kept)
        return ProfileRefresh(printer.ae_title, False, f"{exc}; {kept}")
    except OutputError as exc:
        raise ConfigError(f"printer {printer.ae_title}: {exc}") from None
    path = downstream.save(config.data_dir, answer)
    notes: list[str] = []
    taken = sorted(answer.values(printer.output.mode, notes))
    message = (f"{answer.describe()}: {len(taken)} value(s) taken"
               + (f" ({', '.join(taken)})" if taken else "") + f", saved in {path}")
    log.info("printer %s: %s", printer.ae_title, message)
    for text in notes:
        log.warning("printer %s: %s: %s", printer.ae_title, answer.peer, text)
    return ProfileRefresh(printer.ae_title, True, message)


class PrinterService:
    """The configured printers: their table, status, pause and resume.

    Parameters
    ----------
    config
        The printers, the spool and the limits that take part in the status.
    store
        The job store (pause, output status, queue lengths).
    """

    def __init__(self, config: Config, store: JobStore) -> None:
        self.config = config
        self.store = store

    def config_of(self, ae_title: str) -> PrinterConfig:
        """The configuration of the printer ``ae_title`` (exactly that title: no default printer).

        Raises
        ------
        UnknownPrinterError
        """
        return find_printer(self.config, ae_title)

    def status(self, ae_title: str) -> PrinterStatusPair:
        """(Printer Status, Printer Status Info) of a printer now, as Printer N-GET answers."""
        limits = self.config.dicom.limits
        return current_status(self.store, self.config_of(ae_title).ae_title,
                              self.config.spool_dir, limits.max_spool_bytes_per_association,
                              limits.max_queued_jobs)

    def settings(self, ae_title: str) -> PrinterSettings:
        """Every effective value of a printer and its origin (:func:`printer_settings`)."""
        return printer_settings(self.config, ae_title)

    def refresh(self, ae_titles: Iterable[str] | None = None) -> list[ProfileRefresh]:
        """Ask the ``downstream`` film printers again (:func:`refresh_downstream`); these services
        then use the new answers. A running ``serve`` takes them over when it starts again."""
        self.config, results = refresh_downstream(self.config, ae_titles)
        return results

    def list(self) -> list[PrinterView]:
        """Every configured printer, in the configuration's order (two queries, whatever the
        number of printers)."""
        states = {state.ae_title: state for state in self.store.printer_states()}
        lengths, spool = self.store.queue_lengths(), self.spool_status()
        return [self._view(p, states.get(p.ae_title) or PrinterState(p.ae_title), lengths, spool)
                for p in self.config.printers]

    def get(self, ae_title: str) -> PrinterView:
        """One printer. Raises :class:`UnknownPrinterError`."""
        printer = self.config_of(ae_title)
        return self._view(printer, self.store.printer_state(printer.ae_title),
                          self.store.queue_lengths(), self.spool_status())

    def spool_status(self) -> PrinterStatusPair:
        """The status the spool gives every printer (:func:`~printserver.jobs.printer_status.
        spool_status`)."""
        return spool_status(self.config.spool_dir,
                            self.config.dicom.limits.max_spool_bytes_per_association)

    def history(self, ae_title: str, limit: int = 50,
                cursor: str | None = None) -> PrinterHistory:
        """A page of a printer's status history, newest first: every pause and resume (with who)
        and every change of its output device's status (as a worker or serve's probe saw it),
        each with the Printer Status / Status Info it gave.

        The spool's and the queue's part of the status (PRINT BUFF FULL, PRINTER DOWN of a spool
        that cannot be written) is not in the history: it is worked out whenever the status is
        asked for, from the free space and the queue at that moment, and only the current status
        shows it.

        Raises
        ------
        UnknownPrinterError
        ParameterError
            ``limit`` outside 1 … :data:`MAX_LIMIT`, or a malformed ``cursor``.
        """
        printer = self.config_of(ae_title)
        check_limit(limit)
        try:
            page = self.store.printer_history(printer.ae_title, limit, cursor)
        except ValueError as exc:
            raise ParameterError("cursor", str(exc)) from None
        return PrinterHistory(printer.ae_title, tuple(StatusChange.of(e) for e in page.events),
                              page.next_cursor)

    def pause(self, ae_title: str, actor: str | None = None) -> PrinterView:
        """Pause a printer: its queued jobs wait, it reports WARNING / PRINTER OFFLINE and keeps
        accepting films. ``actor`` (who asked) is logged."""
        return self._set_paused(ae_title, True, actor)

    def resume(self, ae_title: str, actor: str | None = None) -> PrinterView:
        """Resume a paused printer. ``actor`` (who asked) is logged."""
        return self._set_paused(ae_title, False, actor)

    def _set_paused(self, ae_title: str, paused: bool, actor: str | None) -> PrinterView:
        printer = self.config_of(ae_title)
        self.store.set_paused(printer.ae_title, paused, actor=actor or "")
        log.info("printer %s %s%s", printer.ae_title, "paused" if paused else "resumed",
                 f" by {actor}" if actor else "")
        return self.get(printer.ae_title)

    def _view(self, printer: PrinterConfig, state: PrinterState, lengths: Mapping[str, int],
              spool: PrinterStatusPair) -> PrinterView:
        length = lengths.get(printer.ae_title, 0)
        status, info = status_of(state, spool, length, self.config.dicom.limits.max_queued_jobs)
        return PrinterView(
            ae_title=printer.ae_title, name=printer.name, output_kind=printer.output.kind,
            output_queue=printer.output.queue, status=str(status), status_info=str(info),
            paused=state.paused, paused_at=state.paused_at, paused_by=state.paused_by,
            output_status=state.output_status, output_status_info=state.output_status_info,
            message=state.message, status_updated_at=state.updated_at, queue_length=length)


@dataclass(frozen=True)
class StatusChange:
    """One entry of a printer's status history (:meth:`PrinterService.history`).

    Attributes
    ----------
    id : int
    at : str
        When (ISO 8601 UTC).
    event : str
        ``paused``, ``resumed`` or ``output`` (the output device's status changed).
    status, status_info : str
        Printer Status and Printer Status Info after the change, from the stored state
        (:func:`~printserver.jobs.printer_status.combined_status`: the output device and the
        pause; the spool's part is not recorded).
    paused : bool
    output_status, output_status_info, message : str
        The output device's status after the change and what it said.
    actor : str
        The operator who paused or resumed, or the worker / probe that saw the device (empty when
        not told).
    """

    id: int
    at: str
    event: str
    status: str
    status_info: str
    paused: bool
    output_status: str
    output_status_info: str
    message: str
    actor: str

    @classmethod
    def of(cls, event: PrinterEvent) -> StatusChange:
        status, info = combined_status(event.state)
        return cls(event.id, event.at, event.event.value, str(status), str(info), event.paused,
                   event.output_status, event.output_status_info, event.message, event.actor)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PrinterHistory:
    """A page of a printer's status history, newest first; ``next_cursor`` None on the last."""

    ae_title: str
    changes: tuple[StatusChange, ...]
    next_cursor: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """``{"printer": AE, "history": [change, ...], "next": cursor-or-null}``."""
        return {"printer": self.ae_title, "history": [c.to_dict() for c in self.changes],
                "next": self.next_cursor}


# -- jobs -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ImageSummary:
    """An image box that holds an image, as ``jobs show`` lists it."""

    position: int
    columns: int
    rows: int
    bits_stored: int
    photometric_interpretation: str
    file: str
    #: Configuration Information (2010,0150) of the image box as received ("" = none)
    configuration_information: str = ""


@dataclass(frozen=True)
class FilmSummary:
    """One film of a job's manifest (a film box as received), as ``jobs show`` lists it."""

    number: int
    image_display_format: str
    film_size_id: str
    film_orientation: str
    image_boxes: int
    images: tuple[ImageSummary, ...]
    #: Configuration Information (2010,0150) of the film box as received ("" = none): what a
    #: downstream film printer is sent unchanged
    configuration_information: str = ""


@dataclass(frozen=True)
class JobDetail:
    """One job with everything known about it (``jobs show``, ``GET /api/jobs/<id>``).

    Attributes
    ----------
    job : Job
        Its row: state, message, attempts, times.
    films : tuple of FilmRecord
        The finished films with their output files (empty unless the job was rendered).
    manifest : Manifest or None
        The job's manifest, None when it cannot be read (then ``manifest_error`` says why).
    manifest_error : str
    timeline : tuple of JobEvent
        Its state changes, oldest first: accepted, claimed, printing, done … with times, the
        node, worker or operator that made them, and their messages.
    """

    job: Job
    films: tuple[FilmRecord, ...]
    manifest: Manifest | None
    manifest_error: str = ""
    timeline: tuple[JobEvent, ...] = ()
    summaries: tuple[FilmSummary, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "summaries", _film_summaries(self.manifest))

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``jobs show --json``: ``job`` (its row with ``films``), ``manifest`` (LUT
        tables shortened to their length) and, when unreadable, ``manifest_error``."""
        out: dict[str, Any] = {
            "job": {**self.job.to_dict(), "films": [f.to_dict() for f in self.films]},
            "timeline": [e.to_dict() for e in self.timeline],
            "manifest": _without_lut_data(self.manifest) if self.manifest is not None else None}
        if self.manifest is None:
            out["manifest_error"] = self.manifest_error
        return out


def _film_summaries(manifest: Manifest | None) -> tuple[FilmSummary, ...]:
    if manifest is None:
        return ()
    films = []
    for n, film in enumerate(manifest["films"], start=1):
        a = film["attributes"]
        images = tuple(ImageSummary(b["position"], im["columns"], im["rows"], im["bits_stored"],
                                    im["photometric_interpretation"], im["file"],
                                    str(b["attributes"].get("ConfigurationInformation") or ""))
                       for b in film["image_boxes"] if (im := b["image"]))
        films.append(FilmSummary(n, str(a.get("ImageDisplayFormat", "")),
                                 str(a.get("FilmSizeID", "")), str(a.get("FilmOrientation", "")),
                                 len(film["image_boxes"]), images,
                                 str(a.get("ConfigurationInformation") or "")))
    return tuple(films)


def _without_lut_data(manifest: Manifest) -> dict[str, Any]:
    """The manifest for display: LUT tables summarised to their length."""
    def strip(plut: Any) -> Any:
        if plut and "data" in plut:
            return {**plut, "data": f"<{len(plut['data'])} entries>"}
        return plut
    out: dict[str, Any] = dict(manifest)
    out["presentation_luts"] = {k: strip(v) for k, v in manifest["presentation_luts"].items()}
    out["films"] = [{**f, "presentation_lut": strip(f.get("presentation_lut")),
                     "image_boxes": [{**b, "presentation_lut": strip(b.get("presentation_lut"))}
                                     for b in f["image_boxes"]]} for f in manifest["films"]]
    return out


class JobService:
    """Print jobs: reading them and the operator's actions on them.

    Parameters
    ----------
    config
        The data folder and printers (where film files may be).
    store, spool
        The job store and the spool holding the jobs' manifests and pixels.
    """

    def __init__(self, config: Config, store: JobStore, spool: Spool) -> None:
        self.config = config
        self.store = store
        self.spool = spool

    def list(self, states: Iterable[str] | None = None) -> list[Job]:
        """Jobs, oldest first, optionally only those in ``states`` (names of :class:`JobState`,
        any case).

        Raises
        ------
        ParameterError
            A state that is not one of QUEUED, RENDERING, PRINTING, DONE, FAILED, CANCELLED.
        """
        wanted = None
        if states is not None:
            wanted = []
            for s in states:
                try:
                    wanted.append(JobState(str(s).strip().upper()))
                except ValueError:
                    raise ParameterError("state", f"{s!r} is not one of "
                                         f"{', '.join(m.value for m in JobState)}") from None
        return self.store.list(wanted)

    def page(self, where: JobFilter | None = None, limit: int = 50,
             cursor: str | None = None, oldest_first: bool = False) -> JobPage:
        """One page of jobs, newest first (or oldest first), with the films of its jobs (two
        queries, whatever the number of jobs): ``where`` filters by state, printer, calling AE
        title, creation time and label text; ``cursor`` is the previous page's ``next_cursor``
        (keyset pagination).

        Raises
        ------
        ParameterError
            A limit outside 1 … 1000 or a malformed cursor (naming ``limit`` or ``cursor``).
        """
        if not 1 <= limit <= MAX_PAGE:
            raise ParameterError("limit", f"{limit}: expected 1 to {MAX_PAGE}")
        try:
            return self.store.page(where, limit, cursor, oldest_first)
        except ValueError as exc:
            raise ParameterError("cursor", str(exc)) from None

    def find(self, query: JobQuery) -> JobPage:
        """The page a parsed query string asks for (:func:`printserver.jobs.query.
        parse_job_query`, shared by the API and the Jobs page)."""
        return self.page(query.where, query.limit, query.cursor, query.oldest_first)

    def get(self, job_id: str) -> Job:
        """One job's row. Raises :class:`UnknownJobError`."""
        return lifecycle.known(self.store, job_id)

    def as_dict(self, job: Job) -> dict[str, Any]:
        """A job as ``jobs list --json`` shows it: its row and ``films`` with their files."""
        return self.store.job_dict(job)

    def show(self, job_id: str) -> JobDetail:
        """One job with its films and manifest; a manifest that cannot be read (a FAILED job's
        spool may be damaged, or purged) gives ``manifest_error`` instead.

        Raises
        ------
        UnknownJobError
        """
        job = self.get(job_id)
        films = tuple(self.store.films(job.job_id))
        timeline = tuple(self.store.timeline(job.job_id))
        try:
            return JobDetail(job, films, read_manifest(self.spool, job), timeline=timeline)
        except (SpoolError, OSError, ValueError) as exc:
            return JobDetail(job, films, None, f"manifest unreadable: {exc}", timeline)

    def cancel(self, job_id: str, actor: str | None = None) -> Job:
        """Cancel a job (:func:`printserver.jobs.lifecycle.cancel`): a waiting one at once, a
        rendering or printing one at its worker's next step. Returns the job as recorded.

        Raises
        ------
        UnknownJobError
        JobStateError
            The job is finished.
        """
        return lifecycle.cancel(self.store, job_id, actor=actor)

    def retry(self, job_id: str, actor: str | None = None) -> Job:
        """Put a FAILED or CANCELLED job back in the queue; returns it as recorded.

        Raises
        ------
        UnknownJobError
        JobStateError
            The job is not FAILED or CANCELLED, or was purged.
        """
        return lifecycle.retry(self.store, job_id, actor=actor)

    def reprint(self, job_id: str, actor: str | None = None) -> Job:
        """Queue a new job with the same films; returns the new job (the original is unchanged).

        Raises
        ------
        UnknownJobError
        JobStateError
            The job was purged or its spool is unreadable.
        """
        return lifecycle.reprint(self.store, self.spool, job_id, actor=actor)

    def film_file(self, job_id: str, film: int, kind: FilmFileKind = "pdf",
                  index: int = 0) -> Path:
        """The file of a finished film, for download: its ``index``-th PDF (0-based; one per copy
        or one for all, as the printer's file name template says) or its PNG preview.

        Only files the job store recorded for the film are given, and only where printserver
        writes films: under the data folder, or in a pdf printer's configured ``output.path``.
        A recorded path that resolves elsewhere (``..``, an absolute path, a symbolic link out
        of those folders) is refused.

        Raises
        ------
        UnknownJobError
        FilmFileMissing
            No such film or file, or the file is gone (purged).
        FilmFileRefused
            The file lies outside those folders.
        """
        job = self.get(job_id)
        record = next((f for f in self.store.films(job.job_id) if f.film == film), None)
        if record is None:
            raise FilmFileMissing(f"job {job_id} has no finished film {film}")
        if kind == "preview":
            names = (record.preview,) if record.preview else ()
        elif kind == "pdf":
            names = record.pdf_files
        else:
            raise ParameterError("kind", f"{kind!r} is not 'pdf' or 'preview'")
        if not 0 <= index < len(names):
            raise FilmFileMissing(f"job {job_id} film {film} has no {kind} file {index}")
        path = Path(names[index])
        if not path.is_absolute():
            path = self.config.data_dir / path
        try:
            resolved = path.resolve(strict=True)
        except (OSError, RuntimeError):  # missing, or a loop of links
            raise FilmFileMissing(f"job {job_id} film {film}: {path.name} is gone"
                                  + (" (purged)" if job.purged_at else "")) from None
        if not resolved.is_file():
            raise FilmFileMissing(f"job {job_id} film {film}: {path.name} is not a file")
        if not any(resolved.is_relative_to(root) for root in self.film_roots()):
            log.warning("job %s film %d: %s resolves to %s, outside the film folders: refused",
                        job_id, film, path, resolved)
            raise FilmFileRefused(f"job {job_id} film {film}: {path.name} is outside the "
                                  "film folders")
        return resolved

    def film_roots(self) -> list[Path]:
        """The folders films may be given out from: the data folder and every pdf printer's
        ``output.path`` (resolved: links followed)."""
        roots = [self.config.data_dir]
        for printer in self.config.printers:
            if printer.output.kind.strip().lower() == "pdf":
                folder = Path(printer.output.path)
                roots.append(folder if folder.is_absolute() else self.config.data_dir / folder)
        return [Path(os.path.realpath(root)) for root in roots]


# -- associations -------------------------------------------------------------------------------

class UnknownAssociationError(PrintserverError, LookupError):
    """No association record has this id (never, or purged by retention)."""


class AssociationService:
    """The records of the Print SCP's associations (the Associations page).

    Parameters
    ----------
    store
        The job store, whose ``associations`` the SCP writes.
    """

    def __init__(self, store: JobStore) -> None:
        self.store = store

    def page(self, where: AssociationFilter | None = None, limit: int = 50,
             cursor: str | None = None) -> AssociationPage:
        """One page of the records, newest first, filtered by calling AE title, peer address,
        outcome, non-success statuses and start time; keyset pagination as jobs.

        Raises
        ------
        ParameterError
            ``limit`` outside 1 … :data:`~printserver.jobs.query.MAX_LIMIT`, or a malformed
            ``cursor``.
        """
        check_limit(limit)
        try:
            return self.store.associations.page(where, limit, cursor)
        except ValueError as exc:
            raise ParameterError("cursor", str(exc)) from None

    def find(self, query: AssociationQuery) -> AssociationPage:
        """The page a parsed query string asks for (:func:`printserver.jobs.query.
        parse_association_query`)."""
        return self.page(query.where, query.limit, query.cursor)

    def get(self, record_id: int) -> AssociationRecord:
        """One association's record. Raises :class:`UnknownAssociationError`."""
        record = self.store.associations.get(int(record_id))
        if record is None:
            raise UnknownAssociationError(f"no association record {record_id} (it may have been "
                                          "deleted by retention)")
        return record


# -- the services of one configuration ----------------------------------------------------------

class Services:
    """The services of one configuration, over one job store connection.

    Parameters
    ----------
    config
    store
        The job store to use; by default the configuration's is opened (and closed by
        :meth:`close`).

    Attributes
    ----------
    jobs : JobService
    printers : PrinterService
    associations : AssociationService
    dashboard : DashboardService
    """

    def __init__(self, config: Config, store: JobStore | None = None) -> None:
        self.config = config
        self._own_store = store is None
        self.store = store if store is not None else open_job_store(config)
        self.spool = Spool(config.spool_dir)
        self.jobs = JobService(config, self.store, self.spool)
        self.printers = PrinterService(config, self.store)
        self.associations = AssociationService(self.store)
        self.dashboard = DashboardService(config, self.store, self.printers)

    @classmethod
    def open(cls, config: Config) -> Services:
        """The services over the configuration's own job store."""
        return cls(config)

    def close(self) -> None:
        """Close the job store (when these services opened it)."""
        self.spool.close()
        if self._own_store:
            self.store.close()

    def __enter__(self) -> Services:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["AssociationService", "FilmFileError", "FilmFileKind", "FilmFileMissing",
           "FilmFileRefused", "FilmSummary", "ImageSummary", "JobDetail", "JobService",
           "PrinterHistory", "PrinterService", "PrinterSettings", "PrinterView", "ProfileRefresh",
           "Services", "Setting", "StatusChange", "UnknownAssociationError", "UnknownJobError",
           "UnknownPrinterError", "find_printer", "printer_settings", "refresh_downstream"]
