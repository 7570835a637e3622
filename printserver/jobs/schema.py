"""The job store's tables, one definition for SQLite and PostgreSQL (SQLAlchemy Core).

This is the schema at the head revision; :mod:`printserver.jobs.migrations` creates it and moves
an older database to it (``printserver db upgrade``). A change here comes with a new revision in
``migrations/versions/`` (a test compares the upgraded database with these tables).

Times are text: ISO 8601 UTC with milliseconds (``2026-01-01T00:00:00.000+00:00``, see
:func:`stamp`), which sort as the times they name. On PostgreSQL the text columns that are
compared or sorted (ids, times) use ``COLLATE "C"`` (byte order, whatever the database's locale);
SQLite's default collation is already byte order.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (Column, Double, ForeignKey, Index, Integer, MetaData, PrimaryKeyConstraint,
                        Table, Text)
from sqlalchemy.types import REAL, TypeEngine

from printserver.vocabulary import PrinterStatus, PrinterStatusInfo

metadata = MetaData()


def sortable() -> TypeEngine:
    """Text compared and sorted byte by byte on both backends (``COLLATE "C"`` on PostgreSQL)."""
    return Text().with_variant(Text(collation="C"), "postgresql")


def double() -> TypeEngine:
    """A double-precision float (declared REAL on SQLite, as the first releases did)."""
    return Double().with_variant(REAL(), "sqlite")


def stamp(when: datetime) -> str:
    """ISO 8601 UTC with milliseconds: such strings sort as the times they name."""
    return when.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def now() -> str:
    """This process's clock as a :func:`stamp`."""
    return stamp(datetime.now(timezone.utc))


#: one row per accepted print job (:class:`printserver.jobs.model.Job`, same column names)
jobs = Table(
    "jobs", metadata,
    Column("job_id", sortable(), primary_key=True),
    Column("print_job_uid", Text, nullable=False, unique=True),
    Column("state", Text, nullable=False),
    Column("printer", Text, nullable=False),
    Column("calling_ae", Text, nullable=False),
    Column("called_ae", Text, nullable=False),
    Column("film_session_label", Text, nullable=False),
    Column("print_priority", Text, nullable=False),
    Column("film_count", Integer, nullable=False),
    Column("copies", Integer, nullable=False),
    Column("created_at", sortable(), nullable=False),
    Column("updated_at", sortable(), nullable=False),
    Column("spool_dir", Text, nullable=False),
    Column("manifest_sha256", Text, nullable=False),
    Column("message", Text, nullable=False, server_default=""),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("claimed_by", Text, nullable=False, server_default=""),
    Column("claimed_at", sortable(), nullable=False, server_default=""),
    Column("finished_at", sortable(), nullable=False, server_default=""),
    Column("retry_at", sortable(), nullable=False, server_default=""),
    Column("retries", Integer, nullable=False, server_default="0"),
    Column("output_ref", Text, nullable=False, server_default=""),
    Column("printing_at", Text, nullable=False, server_default=""),
    Column("cancel_requested", Integer, nullable=False, server_default="0"),
    Column("purged_at", Text, nullable=False, server_default=""),
)
#: claims (QUEUED jobs by age) and listings by state
Index("jobs_state", jobs.c.state, jobs.c.created_at, jobs.c.job_id)
#: listings, newest first, with keyset pagination on (created_at, job_id)
Index("jobs_created", jobs.c.created_at, jobs.c.job_id)
Index("jobs_printer", jobs.c.printer, jobs.c.created_at, jobs.c.job_id)
Index("jobs_calling_ae", jobs.c.calling_ae, jobs.c.created_at, jobs.c.job_id)
#: a printer's jobs in one state, newest first: the dashboard's queue lengths and last failure,
#: the job list filtered by printer and state
Index("jobs_printer_state", jobs.c.printer, jobs.c.state, jobs.c.created_at, jobs.c.job_id)

#: the finished films of a job (:class:`printserver.jobs.model.FilmRecord`); the lists
#: ``pdf_files`` and ``warnings`` as JSON arrays
films = Table(
    "films", metadata,
    Column("job_id", sortable(), ForeignKey("jobs.job_id"), nullable=False),
    Column("film", Integer, nullable=False),
    Column("copies", Integer, nullable=False),
    Column("pdf_files", Text, nullable=False),
    Column("preview", Text, nullable=False),
    Column("width_mm", double(), nullable=False),
    Column("height_mm", double(), nullable=False),
    Column("dpi", double(), nullable=False),
    Column("render_seconds", double(), nullable=False),
    Column("warnings", Text, nullable=False),
    #: the printer calibration the film was rendered through (FilmRecord.calibration)
    Column("calibration", Text, nullable=False, server_default=""),
    PrimaryKeyConstraint("job_id", "film"),
)

#: what is kept about a printer (:class:`printserver.jobs.model.PrinterState`); ``paused`` 0 / 1
printers = Table(
    "printers", metadata,
    Column("ae_title", sortable(), primary_key=True),
    Column("paused", Integer, nullable=False, server_default="0"),
    Column("paused_at", Text, nullable=False, server_default=""),
    Column("paused_by", Text, nullable=False, server_default=""),
    Column("output_status", Text, nullable=False, server_default=PrinterStatus.NORMAL.value),
    Column("output_status_info", Text, nullable=False,
           server_default=PrinterStatusInfo.NORMAL.value),
    Column("message", Text, nullable=False, server_default=""),
    Column("updated_at", Text, nullable=False, server_default=""),
)

#: the lease of every running node (``printserver serve`` with workers), timed by the database's
#: clock (:meth:`printserver.jobs.database.Database.clock`)
nodes = Table(
    "nodes", metadata,
    Column("node_id", Text, primary_key=True),
    Column("started_at", sortable(), nullable=False, server_default=""),
    Column("renewed_at", sortable(), nullable=False),
    Column("expires_at", sortable(), nullable=False),
)

#: the timeline of every job (:class:`printserver.jobs.model.JobEvent`): one row per transition,
#: written in the transaction of the transition; ``id`` orders the rows of a job
job_events = Table(
    "job_events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", sortable(), ForeignKey("jobs.job_id"), nullable=False),
    Column("at", sortable(), nullable=False),
    Column("event", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("actor", Text, nullable=False, server_default=""),
    Column("message", Text, nullable=False, server_default=""),
)
Index("job_events_job", job_events.c.job_id, job_events.c.id)


# -- QC records: displays and their QC sessions, printer calibrations, film constancy ------------
# (printserver.qc writes them; printserver.jobs.printer_calibrations reads the calibrations for the
# renderer and the Printer N-GET). Lists and results are JSON text.

#: the registry of displays under QC (:class:`printserver.qc.records.Display`); ``limits`` holds
#: the overrides of the display class's QC limits as a JSON object
displays = Table(
    "displays", metadata,
    Column("display_id", Integer, primary_key=True, autoincrement=True),
    Column("name", sortable(), nullable=False, unique=True),
    Column("workstation", Text, nullable=False, server_default=""),
    Column("location", Text, nullable=False, server_default=""),
    Column("display_class", Text, nullable=False),
    Column("target_lmax", double(), nullable=True),
    Column("target_luminance_ratio", double(), nullable=True),
    Column("limits", Text, nullable=False, server_default="{}"),
    Column("notes", Text, nullable=False, server_default=""),
    Column("retired", Integer, nullable=False, server_default="0"),
    Column("created_at", sortable(), nullable=False),
    Column("created_by", Text, nullable=False, server_default=""),
    Column("updated_at", sortable(), nullable=False),
)

#: one display QC session (:class:`printserver.qc.records.QCSession`): what was measured, and the
#: results computed when it was saved with the limits used; ``lmax_prime``, ``luminance_ratio``,
#: ``max_abs_kappa`` and ``passed`` repeated as columns for the history and the dashboard
qc_sessions = Table(
    "qc_sessions", metadata,
    Column("session_id", Integer, primary_key=True, autoincrement=True),
    Column("display_id", Integer, ForeignKey("displays.display_id"), nullable=False),
    Column("measured_at", sortable(), nullable=False),
    Column("recorded_at", sortable(), nullable=False),
    Column("measured_by", Text, nullable=False),
    Column("photometer_model", Text, nullable=False, server_default=""),
    Column("photometer_serial", Text, nullable=False, server_default=""),
    Column("ambient", double(), nullable=False),
    Column("display_class", Text, nullable=False),
    Column("level_set", Text, nullable=False),
    Column("readings", Text, nullable=False),
    Column("uniformity", Text, nullable=False),
    Column("visual", Text, nullable=False),
    Column("results", Text, nullable=False),
    Column("passed", Integer, nullable=False),
    Column("lmax_prime", double(), nullable=False),
    Column("luminance_ratio", double(), nullable=False),
    Column("max_abs_kappa", double(), nullable=False),
    Column("notes", Text, nullable=False, server_default=""),
)
Index("qc_sessions_display", qc_sessions.c.display_id, qc_sessions.c.measured_at,
      qc_sessions.c.session_id)

#: the versions of each printer's measured characteristic curve and calibration LUT
#: (:class:`printserver.jobs.printer_calibrations.PrinterCalibrationRecord`); the newest is applied
printer_calibrations = Table(
    "printer_calibrations", metadata,
    Column("printer", sortable(), nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", sortable(), nullable=False),
    Column("created_by", Text, nullable=False),
    Column("wedge_id", Text, nullable=False, server_default=""),
    Column("readings", Text, nullable=False),
    Column("curve", Text, nullable=False),
    Column("illumination", double(), nullable=False),
    Column("ambient", double(), nullable=False),
    Column("dmin", double(), nullable=False),
    Column("dmax", double(), nullable=False),
    Column("lut", Text, nullable=False),
    Column("notes", Text, nullable=False, server_default=""),
    PrimaryKeyConstraint("printer", "version"),
)

#: calibration step wedges printed (:class:`printserver.jobs.printer_calibrations.StepWedge`): a
#: job whose Film Session Label names one is rendered uncalibrated
step_wedges = Table(
    "step_wedges", metadata,
    Column("wedge_id", sortable(), primary_key=True),
    Column("printer", sortable(), nullable=False),
    Column("requested_at", sortable(), nullable=False),
    Column("requested_by", Text, nullable=False),
    Column("bits", Integer, nullable=False),
    Column("job_id", Text, nullable=False, server_default=""),
)

#: film constancy baselines per printer (:class:`printserver.qc.records.FilmBaseline`): the steps
#: tracked, the baseline values and the limits
film_baselines = Table(
    "film_baselines", metadata,
    Column("baseline_id", Integer, primary_key=True, autoincrement=True),
    Column("printer", sortable(), nullable=False),
    Column("set_at", sortable(), nullable=False),
    Column("set_by", Text, nullable=False),
    Column("measurement_id", Integer, nullable=True),
    Column("low_step", Integer, nullable=False),
    Column("mid_step", Integer, nullable=False),
    Column("high_step", Integer, nullable=False),
    Column("base_fog", double(), nullable=False),
    Column("mid_density", double(), nullable=False),
    Column("density_difference", double(), nullable=False),
    Column("limits", Text, nullable=False),
)
Index("film_baselines_printer", film_baselines.c.printer, film_baselines.c.baseline_id)

#: film constancy measurements (:class:`printserver.qc.records.FilmMeasurement`), judged against
#: the printer's baseline of the time
film_constancy = Table(
    "film_constancy", metadata,
    Column("measurement_id", Integer, primary_key=True, autoincrement=True),
    Column("printer", sortable(), nullable=False),
    Column("measured_at", sortable(), nullable=False),
    Column("measured_by", Text, nullable=False),
    Column("baseline_id", Integer, ForeignKey("film_baselines.baseline_id"), nullable=False),
    Column("readings", Text, nullable=False),
    Column("base_fog", double(), nullable=False),
    Column("mid_density", double(), nullable=False),
    Column("density_difference", double(), nullable=False),
    Column("results", Text, nullable=False),
    Column("passed", Integer, nullable=False),
    Column("notes", Text, nullable=False, server_default=""),
)
Index("film_constancy_printer", film_constancy.c.printer, film_constancy.c.measured_at,
      film_constancy.c.measurement_id)

#: the printers' status history (:class:`printserver.jobs.model.PrinterEvent`): one row per pause,
#: resume and change of an output device's status, written in the transaction of the change, with
#: the printer's stored state after it; ``id`` orders the rows
printer_events = Table(
    "printer_events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ae_title", sortable(), nullable=False),
    Column("at", sortable(), nullable=False),
    Column("event", Text, nullable=False),
    Column("paused", Integer, nullable=False),
    Column("output_status", Text, nullable=False),
    Column("output_status_info", Text, nullable=False),
    Column("message", Text, nullable=False, server_default=""),
    Column("actor", Text, nullable=False, server_default=""),
)
Index("printer_events_printer", printer_events.c.ae_title, printer_events.c.id)

#: the Print SCP's associations, accepted or rejected
#: (:class:`printserver.jobs.association_log.AssociationRecord`, same column names): written when
#: each one ended; ``contexts``, ``statuses`` and ``job_ids`` are JSON arrays; ``tls_version``
#: empty without TLS; the ``reject_*`` columns 0 unless rejected
associations = Table(
    "associations", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("started_at", sortable(), nullable=False),
    Column("ended_at", sortable(), nullable=False),
    Column("duration", double(), nullable=False),
    Column("server", Text, nullable=False, server_default=""),
    Column("calling_ae", sortable(), nullable=False),
    Column("called_ae", Text, nullable=False),
    Column("peer_host", sortable(), nullable=False),
    Column("peer_port", Integer, nullable=False),
    Column("tls_version", Text, nullable=False, server_default=""),
    Column("tls_cipher", Text, nullable=False, server_default=""),
    Column("outcome", sortable(), nullable=False),
    Column("reason", Text, nullable=False, server_default=""),
    Column("reject_result", Integer, nullable=False, server_default="0"),
    Column("reject_source", Integer, nullable=False, server_default="0"),
    Column("reject_reason", Integer, nullable=False, server_default="0"),
    Column("contexts", Text, nullable=False),
    Column("requests", Integer, nullable=False),
    Column("failures", Integer, nullable=False),
    Column("statuses", Text, nullable=False),
    Column("job_ids", Text, nullable=False),
)
#: the Associations page, newest first with keyset pagination on (started_at, id), alone or per
#: calling AE title, peer address or outcome; retention deletes by started_at
Index("associations_started", associations.c.started_at, associations.c.id)
Index("associations_calling_ae", associations.c.calling_ae, associations.c.started_at,
      associations.c.id)
Index("associations_peer", associations.c.peer_host, associations.c.started_at, associations.c.id)
Index("associations_outcome", associations.c.outcome, associations.c.started_at,
      associations.c.id)
