"""The Print SCP: presentation contexts, TLS, limits and the listener of :mod:`.transport`.

Contexts (PS3.4 H.3): Verification, Basic Grayscale Print Management Meta, Presentation LUT, Print
Job, Basic Annotation Box, Printer Configuration Retrieval, a stand-alone Printer (status-only
associations) and, leniently, Basic Film Session / Film Box / Grayscale Image Box proposed on
their own; each with Explicit VR LE, Implicit VR LE and Explicit VR BE.

TLS (PS3.15 B): the handshake runs in the association's thread, not in the accept loop, so that a
client that connects and stays silent cannot block others (pitfall P9).

Every association, accepted or rejected, is recorded in the job store for the Associations admin
page, by a background writer the associations never wait for (:mod:`.association_log`).
"""

from __future__ import annotations

import logging
import shutil
import ssl

from pydicom.uid import (PYDICOM_ROOT_UID, ExplicitVRBigEndian, ExplicitVRLittleEndian,
                         ImplicitVRLittleEndian, generate_uid)
from pynetdicom.presentation import PresentationContext, build_context

from printserver import __version__
from printserver.config import Config, TLSConfig
from printserver.errors import ConfigError
from printserver.jobs.association_log import AssociationLog
from printserver.jobs.database import Database
from printserver.jobs.spool import Spool
from printserver.jobs.store import JobStore, open_job_store
from printserver.jobs.writer import JobWriter
from printserver.scp.association_log import AssociationRecorder
from printserver.scp.handlers import PrintHandlers
from printserver.scp.model import (ANNOTATION_BOX, FILM_BOX, FILM_SESSION, GRAYSCALE_IMAGE_BOX,
                                   GRAYSCALE_META, PRESENTATION_LUT, PRINT_JOB, PRINTER,
                                   PRINTER_CONFIGURATION, VERIFICATION)
from printserver.scp.notifier import EventNotifier
from printserver.scp.transport.association import Association, AssociationSettings
from printserver.scp.transport.listener import Listener

log = logging.getLogger(__name__)

#: in order of preference: the first of these that the SCU proposed is accepted. Explicit VR
#: first (as DCMTK's dcmprscp does): the VRs travel with the data, e.g. US vs SS LUT Descriptors.
TRANSFER_SYNTAXES = [ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian]
#: seconds to wait for a DIMSE message; also how long an N-EVENT-REPORT waits for its answer
DIMSE_TIMEOUT = 30
#: seconds for the A-ASSOCIATE-RQ to arrive after connecting (the ARTIM timer, PS3.8 9.1.5)
ACSE_TIMEOUT = 30
#: seconds a PDU may stall: a send the SCU does not take (it stopped reading), or the rest of a
#: PDU that does not come
TRANSFER_TIMEOUT = 30
ABSTRACT_SYNTAXES = [VERIFICATION, GRAYSCALE_META, PRESENTATION_LUT, PRINT_JOB, ANNOTATION_BOX,
                     PRINTER_CONFIGURATION, PRINTER, FILM_SESSION, FILM_BOX, GRAYSCALE_IMAGE_BOX]
#: Implementation Class UID (PS3.7 D.3.3.2), stable: derived from the name under pydicom's root
IMPLEMENTATION_UID = generate_uid(prefix=PYDICOM_ROOT_UID, entropy_srcs=["printserver"])
#: Implementation Version Name (PS3.7 D.3.3.2.2), at most 16 characters
IMPLEMENTATION_VERSION = f"PRINTSRV_{__version__}"[:16]


def supported_contexts() -> list[PresentationContext]:
    """The presentation contexts the SCP accepts."""
    return [build_context(uid, TRANSFER_SYNTAXES) for uid in ABSTRACT_SYNTAXES]


def tls_context(tls: TLSConfig) -> ssl.SSLContext | None:
    """Server TLS context from the configuration, None when no certificate is configured."""
    if not tls.certificate and not tls.private_key:
        return None
    if not (tls.certificate and tls.private_key):
        raise ConfigError("dicom.tls: certificate and private_key must both be set")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(tls.certificate, tls.private_key)
        if tls.ca_certificates:
            ctx.load_verify_locations(tls.ca_certificates)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"dicom.tls: {exc}") from None
    if tls.require_client_certificate:
        if not tls.ca_certificates:
            raise ConfigError("dicom.tls.require_client_certificate needs ca_certificates")
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


class PrintServer:
    """The Print SCP of one configuration.

    Parameters
    ----------
    config : Config
    store : JobStore, optional
        Defaults to the configuration's job store (SQLite in ``data_dir``).
    recorder : AssociationRecorder, optional
        Writes the association records; defaults to one writing to ``store``.
    """

    def __init__(self, config: Config, store: JobStore | None = None,
                 recorder: AssociationRecorder | None = None) -> None:
        self.config = config
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = store or open_job_store(config)
        self.spool = Spool(config.spool_dir)
        self.spool.clear_staging()
        self._check_spool()
        limits = config.dicom.limits
        self.events = EventNotifier(self.store, self.spool.root,
                                    limits.max_spool_bytes_per_association,
                                    print_job_events=config.dicom.print_job_events,
                                    max_queued_jobs=limits.max_queued_jobs)
        #: writes the association records to the job store, off the associations' threads, on
        #: connections of their own whose commits do not wait for the disk (see Database.for_url)
        self._records: Database | None = None
        if recorder is None:
            self._records = Database.for_url(self.store.url, durable=False)
            recorder = AssociationRecorder(AssociationLog(self._records).add)
        self.recorder = recorder
        self.handlers = PrintHandlers(config, JobWriter(self.spool, self.store), self.events,
                                      self.recorder)
        self.settings = AssociationSettings(
            contexts=supported_contexts(), max_pdu=limits.max_pdu_size,
            acse_timeout=ACSE_TIMEOUT, network_timeout=limits.network_timeout,
            dimse_timeout=DIMSE_TIMEOUT, transfer_timeout=TRANSFER_TIMEOUT,
            event_settle=config.dicom.event_settle_seconds,
            # a data set beyond the association's pixel budget could never be kept (C605)
            max_data_set=limits.max_spool_bytes_per_association + (1 << 20),
            implementation_uid=IMPLEMENTATION_UID, implementation_version=IMPLEMENTATION_VERSION)
        self._listener: Listener | None = None

    def _check_spool(self) -> None:
        known = {job.spool_dir for job in self.store.list()}
        for name in self.spool.orphans(known):
            path = self.spool.root / name
            if name.startswith(".tmp-"):
                shutil.rmtree(path, ignore_errors=True)
            else:
                log.warning("spool folder %s has no job row (never acknowledged); left alone", path)

    @property
    def port(self) -> int:
        """The bound TCP port (useful with port 0)."""
        assert self._listener is not None
        return self._listener.address[1]

    @property
    def active_associations(self) -> list[Association]:
        return self._listener.active_associations if self._listener is not None else []

    def start(self) -> None:
        """Bind and serve in background threads."""
        d = self.config.dicom
        context = tls_context(d.tls)
        self._listener = Listener(d.host, d.port, self.handlers, self.settings,
                                  d.limits.max_associations, context)
        self.recorder.start()
        self._listener.start()
        self.events.start()
        log.info("Print SCP listening on %s:%d (%s), AE titles %s, data in %s",
                 d.host, self.port, "TLS" if context else "no TLS",
                 ", ".join(p.ae_title for p in self.config.printers), self.config.data_dir)

    def stop(self) -> None:
        """Stop accepting, end open associations, close the job store."""
        if self._listener is not None:
            self._listener.stop()
            self._listener = None
        self.events.stop()
        self.recorder.stop()  # the records of the associations just ended, then no more
        if self._records is not None:
            self._records.close()
        self.spool.close()
        self.store.close()
        log.info("Print SCP stopped")

    def __enter__(self) -> PrintServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
