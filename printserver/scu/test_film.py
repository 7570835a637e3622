"""Test films: a TG18-QC film printed on one of this server's printers through its own Print SCU.

"Send a test film" on a printer's admin page checks the whole path a modality's film takes: the
project's Print SCU (:class:`printserver.scu.session.PrintSCU`) associates with this server's
Print SCP where a modality would (``[dicom] host`` and ``port``; ``0.0.0.0`` and ``::`` mean this
machine; over TLS when ``[dicom.tls]`` is configured), calls the printer's AE title, sends the
TG18-QC pattern (AAPM TG18, :mod:`printserver.layout.qc_patterns`) in one image box of one film
and prints it (N-ACTION), so that the SCP queues a job on that printer, a worker renders it and
the printer's output delivers it, as for any other film.

:meth:`TestFilmService.send` returns when the association is over (about a second on one
machine; every wait bounded by ``timeout``), with everything the SCU saw (each status) and the
job the SCP queued. Nothing is kept in the process: the job, in the job store that every node
shares, is the lasting reference (its timeline shows it, its film session label says it is a test
film), so a web request can simply wait for the call, and a second node or a restart loses
nothing.

The calling AE title is :data:`TEST_FILM_AE`; a printer that accepts only listed calling AE titles
(``calling_aets``) must list it. With ``[dicom.tls] require_client_certificate`` the SCU presents
the server's own certificate, which ``ca_certificates`` must then trust.
"""

from __future__ import annotations

import logging
import re
import ssl
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from printserver.config import Config, TLSConfig
from printserver.errors import PrintserverError
from printserver.jobs.services import Services
from printserver.layout.qc_patterns import render_pattern
from printserver.scu.images import ImageSource, PrintImage
from printserver.scu.peer import AssociationError
from printserver.scu.result import PrintResult
from printserver.scu.session import FilmOptions, PrintSCU

log = logging.getLogger(__name__)

#: the calling AE title of test films
TEST_FILM_AE = "PRINTSERVER"
#: the pattern printed (AAPM TG18 §4.1: overall quality)
PATTERN = "TG18-QC"
#: seconds for connecting, negotiating and each response
TIMEOUT = 20.0
#: characters a Film Session Label (LO) cannot hold
_NOT_IN_LABEL = re.compile(r"[\\\x00-\x1f]")


class TestFilmRefused(PrintserverError):
    """This printer cannot be sent a test film as configured (the message says why)."""

    __test__ = False  # not a pytest test class, whatever its name


@dataclass(frozen=True)
class TestFilmResult:
    """What sending a test film did.

    Attributes
    ----------
    printer : str
        The printer's AE title.
    label : str
        The Film Session Label sent (it names the test film and who asked).
    requested_by : str
    started_at : str
        ISO 8601 UTC.
    seconds : float
        From connecting to the release.
    report : PrintResult or None
        Every request and the status the SCP answered (None when there was no association).
    job_ids : tuple of str
        The jobs the SCP queued (one, unless something failed).
    error : str
        Why there was no association (rejected, unreachable); empty otherwise.
    """

    __test__ = False  # not a pytest test class, whatever its name

    printer: str
    label: str
    requested_by: str
    started_at: str
    seconds: float
    report: PrintResult | None
    job_ids: tuple[str, ...] = ()
    error: str = ""

    @property
    def ok(self) -> bool:
        """Associated, every response a success or a warning, a job queued."""
        return (not self.error and self.report is not None and self.report.exit_status == 0
                and bool(self.job_ids))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``ok``, ``job_id`` (the first job or null), ``job_ids``, ``error`` and the
        SCU's ``report`` (as ``printserver print --json``)."""
        return {"printer": self.printer, "label": self.label, "requested_by": self.requested_by,
                "started_at": self.started_at, "seconds": round(self.seconds, 3), "ok": self.ok,
                "job_id": self.job_ids[0] if self.job_ids else None,
                "job_ids": list(self.job_ids), "error": self.error,
                "report": self.report.to_dict() if self.report is not None else None}


def scp_address(config: Config) -> tuple[str, int]:
    """Where this server's Print SCP answers: ``[dicom] host`` and ``port``, a wildcard host
    (``0.0.0.0``, ``::``, empty) meaning this machine's loopback address."""
    host = config.dicom.host.strip()
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return host, config.dicom.port


def client_tls_context(tls: TLSConfig) -> ssl.SSLContext | None:
    """The TLS context that reaches this server's SCP (None without ``[dicom.tls]``).

    The server's own certificate is the one trusted (partial chains allowed, so that a
    certificate a CA signed is trusted by itself); host names are not checked (the SCP is reached
    by address). With ``require_client_certificate`` the same certificate is presented.
    """
    if not tls.certificate:
        return None
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.check_hostname = False
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    try:
        context.load_verify_locations(tls.certificate)
        if tls.require_client_certificate:
            context.load_cert_chain(tls.certificate, tls.private_key)
    except (OSError, ssl.SSLError) as exc:
        raise TestFilmRefused(f"dicom.tls: {exc}") from None
    return context


def test_film_image(size: int = 1024) -> PrintImage:
    """The TG18-QC pattern as a 12-bit print image (``size`` 1024 or 2048)."""
    pattern = render_pattern(PATTERN, size=size, bits=12)
    return PrintImage(pattern.pixels, 12, f"pattern {PATTERN}", f"{PATTERN} stored values")


def film_label(actor: str) -> str:
    """The Film Session Label of a test film asked for by ``actor`` (at most 64 characters)."""
    who = _NOT_IN_LABEL.sub(" ", actor).strip()
    return (f"printserver test film {PATTERN}" + (f" ({who})" if who else ""))[:64]


class TestFilmService:
    """Sends test films to the printers of one configuration.

    Parameters
    ----------
    services
        The configuration, its printers and its job store (the queued job is looked up there).
    timeout
        Seconds for connecting, negotiating and each response.
    size
        The pattern's size: 1024 or 2048 (TG18's published sizes).
    """

    __test__ = False  # not a pytest test class, whatever its name

    def __init__(self, services: Services, timeout: float = TIMEOUT, size: int = 1024) -> None:
        self.services = services
        self.timeout = timeout
        self.size = size

    def send(self, ae_title: str, actor: str = "") -> TestFilmResult:
        """Print a test film on the printer ``ae_title``; returns once the association is over.

        A rejected or unreachable association is a result with ``error``, not an exception: it
        is what the admin needs to see.

        Raises
        ------
        UnknownPrinterError
        TestFilmRefused
            The printer does not accept :data:`TEST_FILM_AE`, or the TLS files cannot be read.
        """
        config = self.services.config
        printer = self.services.printers.config_of(ae_title)
        if printer.calling_aets and TEST_FILM_AE not in printer.calling_aets:
            raise TestFilmRefused(
                f"printer {printer.ae_title} accepts only the calling AE titles "
                f"{', '.join(printer.calling_aets)}: add {TEST_FILM_AE} to its calling_aets to "
                "send it test films")
        host, port = scp_address(config)
        label = film_label(actor)
        image = test_film_image(self.size)
        scu = PrintSCU(host, port, printer.ae_title, TEST_FILM_AE, timeout=self.timeout,
                       kind="print server", tls=client_tls_context(config.dicom.tls))
        started, clock = datetime.now(timezone.utc), time.monotonic()
        when = started.isoformat(timespec="milliseconds")
        log.info("test film for %s requested%s", printer.ae_title, f" by {actor}" if actor else "")
        try:
            report = scu.print([ImageSource(image.source, lambda: image)],
                               FilmOptions(film_session_label=label))
        except AssociationError as exc:
            log.warning("test film for %s: %s", printer.ae_title, exc)
            return TestFilmResult(printer.ae_title, label, actor, when,
                                  time.monotonic() - clock, None, error=str(exc))
        store = self.services.store
        jobs = tuple(job.job_id for uid in report.print_job_uids
                     if (job := store.get_by_uid(uid)) is not None)
        result = TestFilmResult(printer.ae_title, label, actor, when, time.monotonic() - clock,
                                report, jobs)
        log.info("test film for %s: %s%s", printer.ae_title,
                 f"job {', '.join(jobs)} queued" if result.ok else "failed",
                 f" ({report.problem})" if report.problem else "")
        return result
