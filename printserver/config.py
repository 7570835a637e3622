"""Configuration: a TOML file turned into frozen dataclasses, with defaults that need no file.

Without a file printserver runs one printer, AE title ``PRINTSCP``, on DICOM port 11112, with the web UI
on 127.0.0.1:8080 and all data under ``./var`` (see ``docs/configuration.md`` for every key).

A TOML file may override any default::

    data_dir = "/var/lib/printserver"

    [dicom]
    port = 104

    [[printers]]
    ae_title = "DRYVIEW1"
    name = "Radiology film 1"
    resolution_dpi = { STANDARD = 320, HIGH = 508 }
    output = { kind = "pdf", path = "films/dryview1" }

Unknown keys are refused with their dotted name, so that a typo never silently changes nothing.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from printserver.errors import ConfigError
from printserver.vocabulary import (FILM_SIZES, FilmOrientation, MagnificationType, MediumType,
                                    VocabularyError, parse_density)

#: metadata of the fields printserver fills itself: never read from the file
INTERNAL = {"internal": True}


@dataclass(frozen=True)
class WorklistConfig:
    """A Modality Worklist provider (PS3.4 K.6) the ``pacs`` output asks for the patient of a
    film whose Film Session Label or annotation carries an Accession Number (``outputs.md``)."""

    #: the worklist SCP; empty host = no worklist
    host: str = ""
    port: int = 0
    called_aet: str = ""
    calling_aet: str = "PRINTSERVER"
    #: seconds for connecting, association negotiation and the C-FIND answers
    timeout: float = 10.0
    #: regular expression searched in the Film Session Label, then in the annotation texts,
    #: with the named group accession_number
    accession_pattern: str = ""

    @property
    def enabled(self) -> bool:
        return bool(self.host)

    def __post_init__(self) -> None:
        if self.enabled and (not self.port or not self.called_aet or not self.accession_pattern):
            raise ConfigError("output.worklist needs host, port, called_aet and accession_pattern")
        if not self.timeout > 0:
            raise ConfigError("output.worklist.timeout must be > 0")


@dataclass(frozen=True)
class OutputConfig:
    """Where a printer's finished films go: ``pdf`` (a folder), ``cups``, ``dicom`` or ``pacs``."""

    kind: str = "pdf"
    #: pdf: the folder (relative paths are under ``data_dir``)
    path: str = "films"
    #: pdf: file name template, fields {job_id} {film} {copy} {printer} {calling_aet} {date}
    filename_template: str = "{printer}_{job_id}_film{film}_copy{copy}.pdf"
    #: cups: Film Size ID → CUPS media name, overriding the built-in mapping (e.g.
    #: ``{ "14INX17IN" = "Custom.14x17in" }``); extra ``lp -o`` options (e.g. ``{ sides =
    #: "one-sided" }``)
    media: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    #: cups: queue name, CUPS server host and port (empty host = CUPS_SERVER or the local
    #: server; port 0 = 631); dicom / pacs: called AE title, host and port of the device
    queue: str = ""
    host: str = ""
    port: int = 0
    called_aet: str = ""
    calling_aet: str = "PRINTSERVER"
    #: dicom / pacs: seconds for connecting, association negotiation and each response
    timeout: float = 30.0
    #: dicom: ``composed`` (each film as one image in STANDARD\\1,1) or ``boxes`` (the image boxes
    #: as received, with the film box's display format, magnification, densities, LUT)
    mode: str = "composed"
    #: dicom (composed) / pacs: largest image sent, pixels; 0 = the film raster as rendered
    rows: int = 0
    columns: int = 0
    #: pacs: regular expression searched in the Film Session Label, named groups patient_id,
    #: patient_name, accession_number (see docs/outputs.md); empty = not used
    patient_pattern: str = ""
    #: pacs: the Modality Worklist provider asked for the patient by Accession Number
    worklist: WorklistConfig = field(default_factory=WorklistConfig)


@dataclass(frozen=True)
class PrinterConfig:
    """One printer, selected by the called AE title (see ``../shared/DESIGN.md``, Printers).

    The printer a :class:`Config` from :func:`load_config` holds is the *effective* one: its
    ``profile`` applied under the keys the file sets (:mod:`printserver.profiles.effective`);
    ``origins`` says where each value came from.
    """

    ae_title: str = "PRINTSCP"
    #: where accepted values and defaults come from besides this table: empty (none),
    #: ``dcmtk:PATH#ENTRY`` (a printer entry of DCMTK's dcmpstat.cfg) or ``downstream`` (the
    #: DICOM film printer of the dicom output, as it answered); keys set here override it
    profile: str = ""
    #: Printer Name (2110,0030) as the Printer SOP instance answers it
    name: str = "printserver"
    manufacturer: str = "printserver project"
    model: str = "printserver virtual film printer"
    serial_number: str = "0001"
    #: Date/Time of Last Calibration (0018,1200)/(0018,1201) as YYYYMMDD / HHMMSS, empty if unknown
    last_calibration_date: str = ""
    last_calibration_time: str = ""
    #: calling AE titles allowed to print here; empty = any
    calling_aets: tuple[str, ...] = ()
    film_sizes: tuple[str, ...] = tuple(FILM_SIZES)
    default_film_size: str = "14INX17IN"
    default_orientation: str = "PORTRAIT"
    medium_types: tuple[str, ...] = tuple(m.value for m in MediumType)
    default_medium_type: str = "BLUE FILM"
    film_destinations: tuple[str, ...] = ("MAGAZINE", "PROCESSOR")
    default_film_destination: str = "PROCESSOR"
    magnification_types: tuple[str, ...] = tuple(m.value for m in MagnificationType)
    default_magnification_type: str = "CUBIC"
    #: Smoothing Type values the printer accepts (only meaningful with CUBIC), first is the default
    smoothing_types: tuple[str, ...] = ("MEDIUM", "SHARP", "SMOOTH")
    #: Requested Resolution ID → dots per inch (decimals allowed)
    resolution_dpi: dict[str, float] = field(default_factory=lambda: {"STANDARD": 320, "HIGH": 508})
    default_resolution: str = "STANDARD"
    #: printer density range, hundredths of OD: requests outside it are clamped (B605)
    min_density: int = 20
    max_density: int = 300
    #: transmissive film viewing conditions assumed when the SCU sends none (PS3.14 §7.2)
    illumination: int = 2000
    reflected_ambient_light: int = 10
    #: Image Display Formats accepted: empty = any STANDARD / ROW / COL within the limits
    display_formats: tuple[str, ...] = ()
    #: SLIDE, SUPERSLIDE and CUSTOM\i layouts as STANDARD / ROW / COL definitions
    named_formats: dict[str, str] = field(default_factory=lambda: {
        "SLIDE": "STANDARD\\4,5", "SUPERSLIDE": "STANDARD\\6,6", "CUSTOM\\1": "ROW\\1,2"})
    #: Annotation Display Format ID → number of annotation boxes (the layout is documented)
    annotation_formats: dict[str, int] = field(default_factory=lambda: {"LABEL": 1, "BOTTOM": 4})
    #: annotation boxes made for an Annotation Display Format ID the printer does not define
    #: (accepted with warning 0116 unless strict): one text line across the top of the film
    unknown_annotation_boxes: int = 6
    #: Configuration Information (ST) values accepted, compared as text; empty = any value (kept
    #: with the job, forwarded by a dicom output); the first is the default ("" = none)
    configuration_information: tuple[str, ...] = ()
    #: Border Density / Empty Image Density when the SCU sends none: BLACK, WHITE or hundredths
    #: of OD
    default_border_density: str = "BLACK"
    default_empty_image_density: str = "BLACK"
    #: unprinted margin on every edge of the film, mm (the printable area is the rest)
    printable_margin_mm: float = 0.0
    #: gap between neighbouring image boxes (and the LABEL line), mm; filled with Border Density
    image_box_gap_mm: float = 2.0
    #: measured characteristic curve (DCMTK printer.lut text or CSV) of the output device; empty =
    #: the output's default profile (a light box viewed in sRGB for PDF)
    characteristic_file: str = ""
    supports_trim: bool = True
    supports_12_bit: bool = True
    #: Presentation LUT SOP Class and the Illumination / Reflected Ambient Light / Referenced
    #: Presentation LUT attributes (PS3.4 H.4.9); false: 0118 / unsupported attributes
    supports_presentation_lut: bool = True
    output: OutputConfig = field(default_factory=OutputConfig)
    #: keys the configuration file set (filled by load_config; they override the profile)
    configured: frozenset[str] = field(default=frozenset(), compare=False, metadata=INTERNAL)
    #: key → "default", "profile" or "config": where each effective value came from
    origins: dict[str, str] = field(default_factory=dict, compare=False, metadata=INTERNAL)
    #: what the profile's values are (e.g. "downstream: answered by ... at ..."), for display
    profile_source: str = field(default="", compare=False, metadata=INTERNAL)

    @property
    def configuration_choices(self) -> tuple[str, ...]:
        """The Configuration Information values accepted (empty: any)."""
        return tuple(v for v in self.configuration_information if v)

    @property
    def default_configuration_information(self) -> str:
        """Configuration Information when the SCU sends none ("" = none)."""
        return self.configuration_information[0] if self.configuration_information else ""

    def __post_init__(self) -> None:
        unknown = [s for s in self.film_sizes if s not in FILM_SIZES]
        if unknown:
            raise ConfigError(f"printer {self.ae_title}: unknown film sizes {unknown}")
        if self.default_film_size not in self.film_sizes:
            raise ConfigError(f"printer {self.ae_title}: default_film_size "
                              f"{self.default_film_size!r} is not in film_sizes")
        FilmOrientation.parse(self.default_orientation, "default_orientation")
        if not 0 <= self.min_density < self.max_density:
            raise ConfigError(f"printer {self.ae_title}: need 0 <= min_density < max_density")
        if self.default_resolution not in self.resolution_dpi:
            raise ConfigError(f"printer {self.ae_title}: default_resolution "
                              f"{self.default_resolution!r} is not in resolution_dpi")
        if not 1 <= len(self.ae_title.strip()) <= 16:
            raise ConfigError(f"printer AE title {self.ae_title!r} must be 1 to 16 characters")
        for key in ("default_border_density", "default_empty_image_density"):
            try:
                parse_density(getattr(self, key), key)
            except VocabularyError as exc:
                raise ConfigError(f"printer {self.ae_title}: {exc}") from None
        if self.unknown_annotation_boxes < 0:
            raise ConfigError(f"printer {self.ae_title}: unknown_annotation_boxes must be >= 0")


@dataclass(frozen=True)
class TLSConfig:
    """Optional DICOM TLS (PS3.15 Annex B): a server certificate, client certificates if required."""

    certificate: str = ""
    private_key: str = ""
    ca_certificates: str = ""
    require_client_certificate: bool = False


@dataclass(frozen=True)
class LimitsConfig:
    """Resource limits of the Print SCP: beyond them the SCU gets C605 / 0213 or a rejection."""

    max_associations: int = 16
    max_pdu_size: int = 1048576
    max_image_rows: int = 8192
    max_image_columns: int = 8192
    max_film_boxes_per_session: int = 50
    max_image_boxes_per_film: int = 100
    #: bytes of pixel data one association may hold (all its image boxes together)
    max_spool_bytes_per_association: int = 2 * 1024 ** 3
    #: jobs waiting to print per printer (QUEUED, RENDERING, PRINTING); a print beyond it is
    #: refused with C601 / C602 (print queue full), nothing is lost; 0 = no limit
    max_queued_jobs: int = 1000
    #: seconds an idle association is kept (operators pause between films)
    network_timeout: int = 600


@dataclass(frozen=True)
class DicomConfig:
    """The DICOM listener."""

    host: str = "0.0.0.0"
    port: int = 11112
    #: refuse unknown attributes with 0105 (strict) or accept them with warning 0107 (lenient)
    strict_attributes: bool = False
    #: AE title of the printer that answers unknown called AE titles; empty = reject them
    default_printer: str = ""
    #: send Print Job N-EVENT-REPORTs (PENDING, PRINTING, DONE, FAILURE) on the association that
    #: queued the job, when it negotiated Print Job (scp/notifier.py)
    print_job_events: bool = True
    #: seconds the SCP sends nothing after an SCU answered an N-EVENT-REPORT; 0 = no pause. An
    #: exception for SCUs that need it (docs/conformance.md 4.8), never on the default path
    event_settle_seconds: float = 0.0
    tls: TLSConfig = field(default_factory=TLSConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)

    def __post_init__(self) -> None:
        if not 0 <= self.event_settle_seconds <= 10:
            raise ConfigError("dicom.event_settle_seconds must be between 0 and 10, got "
                              f"{self.event_settle_seconds!r}")


@dataclass(frozen=True)
class WorkersConfig:
    """Render workers of ``printserver serve``: processes turning queued jobs into finished films."""

    #: worker processes; unset = one per CPU (rendering is CPU-bound); 0 = render nothing
    count: int | None = None
    #: seconds an idle worker waits before it looks for a queued job again
    poll_interval: float = 0.2
    #: claims of one job before it is FAILED instead of requeued (its worker died every time)
    max_attempts: int = 3
    #: seconds a job waits after its output was unavailable the first time; doubled after every
    #: further unavailable attempt, up to ``retry_max_delay``
    retry_delay: float = 5.0
    retry_max_delay: float = 300.0
    #: seconds between two questions to a device about a job it is printing (CUPS job state)
    follow_interval: float = 2.0
    #: seconds between two probes of the printers' output devices by serve (printer status)
    probe_interval: float = 30.0
    #: seconds a node's lease in the job store lasts; serve renews it every third of that. With a
    #: shared (PostgreSQL) store, the jobs of a node whose lease expired are requeued by the others
    lease_seconds: float = 30.0

    def __post_init__(self) -> None:
        if self.count is not None and (type(self.count) is not int or self.count < 0):
            raise ConfigError(f"workers.count must be a whole number >= 0, got {self.count!r}")
        if not self.poll_interval > 0:
            raise ConfigError("workers.poll_interval must be > 0")
        if self.max_attempts < 1:
            raise ConfigError("workers.max_attempts must be >= 1")
        if not 0 < self.retry_delay <= self.retry_max_delay:
            raise ConfigError("workers: need 0 < retry_delay <= retry_max_delay")
        if not self.follow_interval > 0 or not self.probe_interval > 0:
            raise ConfigError("workers.follow_interval and probe_interval must be > 0")
        if not self.lease_seconds >= 1:
            raise ConfigError("workers.lease_seconds must be >= 1")

    @property
    def processes(self) -> int:
        """The number of worker processes to run."""
        return (os.cpu_count() or 1) if self.count is None else self.count


@dataclass(frozen=True)
class RetentionConfig:
    """How long spooled pixels and finished films of finished jobs are kept."""

    #: finished jobs (DONE, FAILED, CANCELLED) older than this many days lose their spooled pixels
    #: and films (serve purges at start and hourly); 0 = keep everything
    days: float = 30.0
    #: records of the Print SCP's associations (the Associations admin page) older than this many
    #: days are deleted (serve purges at start and hourly); 0 = keep them all
    association_days: float = 30.0

    def __post_init__(self) -> None:
        if self.days < 0:
            raise ConfigError("retention.days must be >= 0")
        if self.association_days < 0:
            raise ConfigError("retention.association_days must be >= 0")


@dataclass(frozen=True)
class QCConfig:
    """Display and printer QC records (``printserver.qc``)."""

    #: paper of the PDF QC reports: A4 or LETTER
    report_page_size: str = "A4"
    #: calling AE title of the calibration step wedges printserver prints on its own printers
    #: (a printer with ``calling_aets`` must list it)
    calling_ae: str = "PRINTSERVER"

    def __post_init__(self) -> None:
        if self.report_page_size.upper() not in ("A4", "LETTER"):
            raise ConfigError(f"qc.report_page_size must be A4 or LETTER, got "
                              f"{self.report_page_size!r}")
        if not 0 < len(self.calling_ae.strip()) <= 16 or "\\" in self.calling_ae:
            raise ConfigError(f"qc.calling_ae {self.calling_ae!r} must be 1 to 16 characters")


@dataclass(frozen=True)
class WebConfig:
    """The web UI and JSON API that ``printserver serve`` serves (docs/web.md)."""

    #: false: serve runs no web server (the DICOM side and the workers only)
    enabled: bool = True
    host: str = "127.0.0.1"
    #: 0 = any free port (serve logs the one it took)
    port: int = 8080
    #: PEM files; both set = the web server speaks HTTPS itself (TLS 1.2 or later)
    certificate: str = ""
    private_key: str = ""
    #: reverse proxies in front of the web server whose X-Forwarded-For / -Proto / -Host /
    #: -Port / -Prefix headers are believed (werkzeug's ProxyFix); 0 = none, headers ignored
    trusted_proxies: int = 0
    #: a session ends this many hours after sign-in, whatever happens (absolute lifetime)
    session_hours: float = 8.0
    #: and after this many minutes without a page or form (idle timeout)
    idle_minutes: float = 30.0
    #: sign-in throttling: failed sign-ins counted over the last ``signin_window_minutes``, per
    #: user name and per client address; at the limit, sign-in is refused until they age out
    signin_window_minutes: float = 15.0
    signin_max_failures_per_name: int = 5
    signin_max_failures_per_address: int = 20
    #: the first-run setup token (logged by serve while there is no user) is valid this long
    setup_token_hours: float = 24.0

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"web.port must be 0 … 65535, got {self.port!r}")
        if bool(self.certificate) != bool(self.private_key):
            raise ConfigError("web: certificate and private_key must both be set (HTTPS) or "
                              "both be empty")
        if self.trusted_proxies < 0:
            raise ConfigError("web.trusted_proxies must be >= 0")
        for name in ("session_hours", "idle_minutes", "signin_window_minutes",
                     "setup_token_hours"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"web.{name} must be > 0")
        for name in ("signin_max_failures_per_name", "signin_max_failures_per_address"):
            if getattr(self, name) < 1:
                raise ConfigError(f"web.{name} must be >= 1")

    @property
    def https(self) -> bool:
        """The web server speaks HTTPS itself (``certificate`` and ``private_key`` set)."""
        return bool(self.certificate)


@dataclass(frozen=True)
class Config:
    """The whole configuration. ``Config()`` is the no-file default."""

    data_dir: Path = Path("var")
    #: empty = SQLite at ``data_dir/printserver.sqlite3``; else e.g. ``postgresql://user@host/db``
    database_url: str = ""
    #: spool folder (pixels and manifests of accepted jobs); empty = ``data_dir/spool``. Nodes
    #: sharing a PostgreSQL job store must share it too (e.g. an NFS mount)
    spool: str = ""
    dicom: DicomConfig = field(default_factory=DicomConfig)
    web: WebConfig = field(default_factory=WebConfig)
    workers: WorkersConfig = field(default_factory=WorkersConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    qc: QCConfig = field(default_factory=QCConfig)
    printers: tuple[PrinterConfig, ...] = field(default_factory=lambda: (PrinterConfig(),))

    def __post_init__(self) -> None:
        titles = [p.ae_title for p in self.printers]
        if not titles:
            raise ConfigError("at least one printer must be configured")
        if len(set(titles)) != len(titles):
            raise ConfigError(f"printer AE titles must be unique, got {titles}")
        if self.dicom.default_printer and self.dicom.default_printer not in titles:
            raise ConfigError(f"dicom.default_printer {self.dicom.default_printer!r} is not a printer")

    @property
    def spool_dir(self) -> Path:
        """The spool folder: ``spool`` if set, else ``data_dir/spool``."""
        return Path(self.spool) if self.spool else self.data_dir / "spool"

    @property
    def films_dir(self) -> Path:
        return self.data_dir / "films"

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "printserver.sqlite3"

    def printer(self, ae_title: str) -> PrinterConfig | None:
        """The printer a called AE title selects (the default printer for unknown titles)."""
        title = ae_title.strip()
        for p in self.printers:
            if p.ae_title == title:
                return p
        if self.dicom.default_printer:
            return self.printer(self.dicom.default_printer)
        return None


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    """Build dataclass ``cls`` from TOML ``data``, refusing unknown keys and wrong types."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where or 'config'}: expected a table")
    hints = typing.get_type_hints(cls)
    fields = dataclasses.fields(cls)
    names = {f.name for f in fields if not f.metadata.get("internal")}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{where}.{key}" if where else key
        if key not in names:
            raise ConfigError(f"unknown configuration key {dotted!r}")
        kwargs[key] = _convert(hints[key], value, dotted)
    if any(f.name == "configured" for f in fields):
        kwargs["configured"] = frozenset(data)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"{where or 'config'}: {exc}") from None


def _shown(value: Any) -> str:
    """A TOML value as the file spells it, for messages: ``true``, ``"x"``, ``2``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return str(value)


def _key(where: str, key: str) -> str:
    """The dotted name of ``key`` in the table ``where`` (quoted when it is not a bare key)."""
    name = key if _BARE_KEY.fullmatch(key) else json.dumps(key, ensure_ascii=False)
    return f"{where}.{name}" if where else name


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
#: the scalar types a configuration value may have, as TOML gives them
_SCALARS = (bool, int, float, str)


def _convert(hint: Any, value: Any, where: str) -> Any:
    """``value`` from the TOML file as the type ``hint`` of its dataclass field.

    Lists (``tuple[X, ...]``) and tables (``dict[str, X]``) are checked element by element;
    a bool is not taken for a number. Raises :class:`ConfigError` naming the dotted key and the
    index or key inside it (``printers[0].film_sizes[1]: expected str, got 2``).
    """
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, where)
    if origin is tuple:
        (inner, *_rest) = typing.get_args(hint)
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {_shown(value)}")
        return tuple(_convert(inner, v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        _key_type, inner = typing.get_args(hint)
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table, got {_shown(value)}")
        return {k: _convert(inner, v, _key(where, k)) for k, v in value.items()}
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        for option in options:
            try:
                return _convert(option, value, where)
            except ConfigError:
                if option is options[-1]:
                    raise
        return value
    if hint is Path:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a path (str), got {_shown(value)}")
        return Path(value)
    if hint in _SCALARS:
        if hint is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if type(value) is not hint:  # a bool is an int to Python, not to the configuration
            raise ConfigError(f"{where}: expected {hint.__name__}, got {_shown(value)}")
    return value


def load_config(path: str | Path | None = None, *, data_dir: str | Path | None = None,
                dicom_port: int | None = None, web_port: int | None = None) -> Config:
    """Load the configuration from ``path`` (or the defaults), apply command-line overrides, then
    the printers' profiles (:func:`printserver.profiles.effective.effective_config`): the printers
    of the result are the effective ones every part of printserver uses.

    Raises
    ------
    ConfigError
        The file cannot be read, has unknown keys or wrong types, or a printer's profile cannot
        be read or does not fit the keys the file sets.
    """
    data: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        try:
            with p.open("rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError(f"{p}: configuration file not found") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{p}: {exc}") from None
    cfg = _build(Config, data, "")
    if data_dir is not None:
        cfg = dataclasses.replace(cfg, data_dir=Path(data_dir))
    if dicom_port is not None:
        cfg = dataclasses.replace(cfg, dicom=dataclasses.replace(cfg.dicom, port=dicom_port))
    if web_port is not None:
        cfg = dataclasses.replace(cfg, web=dataclasses.replace(cfg.web, port=web_port))
    from printserver.profiles.effective import effective_config  # it needs this module's types

    return effective_config(cfg)
