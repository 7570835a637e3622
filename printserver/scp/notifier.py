"""Print Job and Printer N-EVENT-REPORTs that follow the job store (PS3.4 H.4.5.1, H.4.6.1).

The render workers and the operator's CLI run in other processes and record what happens in the
job store. :class:`EventNotifier` runs in the SCP process and polls the store every
:data:`POLL_INTERVAL` seconds:

* **Print Job** (PS3.4 H.4.5.1.1, Table H.4-14): for every job queued on a still-open
  association that negotiated the Print Job SOP Class, each change of its Execution Status is
  sent on *that* association only (PENDING, PRINTING, DONE, FAILURE; a job seen DONE straight
  after PENDING gets its PRINTING first). PENDING is sent inside the N-ACTION handler, after the
  job is durable (the SCU waits for its response then, so nothing can collide). The job is
  followed until DONE or FAILURE was sent, or the association ended.
* **Printer** (PS3.4 H.4.6.1.1, Table H.4-16): every association that can address the Printer
  SOP instance (grayscale meta or stand-alone Printer context) learns each change of its printer's
  Printer Status / Printer Status Info (:func:`printserver.jobs.printer_status.current_status`,
  the same answer as N-GET) as NORMAL, WARNING or FAILURE.

The notifier only decides what to send: each association sends its events itself, on its own
thread, at moments when no request of the SCU can race them (:mod:`.transport.association`), so
an SCU slow to answer delays only its own events. Events still waiting when the association is
released or aborted are dropped.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pydicom.dataset import Dataset

from printserver.config import PrinterConfig
from printserver.jobs.printer_status import PrinterStatusPair, current_status
from printserver.jobs.store import JobStore, JobStoreError
from printserver.scp import printer
from printserver.scp.model import GRAYSCALE_META, PRINT_JOB, PRINTER, PRINTER_INSTANCE
from printserver.scp.print_job import job_event, print_job_event
from printserver.scp.transport.association import ENDED, EventOutcome, EventReport
from printserver.vocabulary import (PRINT_JOB_EVENT_NAMES, PRINTER_EVENT_NAMES, ExecutionStatus,
                                    ExecutionStatusInfo)

if TYPE_CHECKING:  # pragma: no cover
    from printserver.scp.association import PrintAssociation
    from printserver.scp.transport.association import Association

log = logging.getLogger(__name__)

#: seconds between two looks at the job store and the printers' status
POLL_INTERVAL = 0.3
#: Execution Status values after which a job is no longer followed
FINAL = frozenset({ExecutionStatus.DONE, ExecutionStatus.FAILURE})
_EVENT_NAMES = {PRINT_JOB: PRINT_JOB_EVENT_NAMES, PRINTER: PRINTER_EVENT_NAMES}


def event_report(class_uid: str, instance_uid: str, event_type: int,
                 information: Dataset | None, context_syntax: str) -> EventReport:
    """An N-EVENT-REPORT of a Print Job or the Printer, described for the log."""
    name = _EVENT_NAMES[class_uid].get(event_type, str(event_type))
    what = "Print Job" if class_uid == PRINT_JOB else "Printer"
    return EventReport(class_uid, instance_uid, event_type, information, context_syntax,
                       f"{what} {name} ({instance_uid})")


@dataclass
class Subscription:
    """An open association that receives events.

    Attributes
    ----------
    assoc : Association
    printer : PrinterConfig
        The printer its called AE title selected.
    calling_ae : str
    print_jobs : bool
        The Print Job SOP Class was negotiated (and Print Job events are enabled).
    printer_context : str or None
        Abstract syntax under which Printer events go (the meta, or the stand-alone Printer
        class); None when the association cannot address the Printer.
    printer_status : tuple of str
        (Printer Status, Printer Status Info) the SCU last learnt.
    jobs : dict
        Print Job SOP Instance UID → the Execution Status last sent, for jobs still followed.
    """

    assoc: Association
    printer: PrinterConfig
    calling_ae: str
    print_jobs: bool
    printer_context: str | None
    printer_status: PrinterStatusPair
    jobs: dict[str, str] = field(default_factory=dict)


class EventNotifier:
    """Follows the job store and the printers' state; sends the events on the associations.

    Parameters
    ----------
    store : JobStore
    spool_root : Path
        The spool, part of a printer's status
        (:func:`printserver.jobs.printer_status.spool_status`).
    reserve_bytes : int
        Free spool space below which the printer reports WARNING / PRINT BUFF FULL.
    print_job_events : bool
        Send Print Job events (``[dicom] print_job_events``).
    interval : float
        Seconds between two polls of the job store.
    """

    def __init__(self, store: JobStore, spool_root: Path, reserve_bytes: int,
                 print_job_events: bool = True, interval: float = POLL_INTERVAL,
                 max_queued_jobs: int = 0) -> None:
        self.store = store
        self.spool_root = spool_root
        self.reserve_bytes = reserve_bytes
        self.max_queued_jobs = max_queued_jobs
        self.print_job_events = print_job_events
        self.interval = interval
        self._lock = threading.Lock()
        self._subscriptions: dict[Association, Subscription] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- life cycle ----------------------------------------------------------------------------
    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="print-scp-events", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
        with self._lock:
            self._subscriptions.clear()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.poll()
            except JobStoreError as exc:
                log.warning("events: job store not readable: %s", exc)
            except Exception:  # the notifier must outlive a bug in one poll
                log.exception("events: poll failed")

    # -- associations (called from the association's thread) ----------------------------------
    def status_of(self, ae_title: str) -> PrinterStatusPair:
        return current_status(self.store, ae_title, self.spool_root, self.reserve_bytes,
                              self.max_queued_jobs)

    def subscribe(self, assoc: Association, state: PrintAssociation) -> None:
        """Start sending events to a newly established association."""
        print_jobs = self.print_job_events and state.has_context(PRINT_JOB)
        context = next((c for c in (GRAYSCALE_META, PRINTER) if state.has_context(c)), None)
        if not print_jobs and context is None:
            return
        sub = Subscription(assoc, state.printer, state.calling_ae, print_jobs, context,
                           self.status_of(state.printer.ae_title) if context
                           else PrinterStatusPair("", ""))
        with self._lock:
            self._subscriptions[assoc] = sub

    def unsubscribe(self, assoc: Association) -> None:
        """The association was released or aborted: its waiting events are dropped."""
        with self._lock:
            sub = self._subscriptions.pop(assoc, None)
        if sub is not None and sub.jobs:
            log.info("events for %s: association ended, %d job(s) no longer followed",
                     sub.calling_ae, len(sub.jobs))

    def job_queued(self, assoc: Association, job_uid: str, film_session_label: str) -> None:
        """A Print Job was created on ``assoc`` (N-ACTION handler, before its response): send
        PENDING now, while the SCU waits for that response, and follow the job."""
        with self._lock:
            sub = self._subscriptions.get(assoc)
            if sub is None or not sub.print_jobs:
                return
            sub.jobs[job_uid] = ExecutionStatus.PENDING
        event_type, info = print_job_event(ExecutionStatus.PENDING, ExecutionStatusInfo.QUEUED,
                                           film_session_label, sub.printer.name)
        event = event_report(PRINT_JOB, job_uid, event_type, info, PRINT_JOB)
        self._outcome(sub.calling_ae, event, assoc.send_event(event))

    # -- polling -------------------------------------------------------------------------------
    def poll(self) -> None:
        """Look at the job store and the printers once; queue the events the changes call for."""
        with self._lock:
            subs = list(self._subscriptions.values())
        statuses: dict[str, PrinterStatusPair] = {}
        for sub in subs:
            if not sub.assoc.is_alive():  # ended without its end handler having run
                self.unsubscribe(sub.assoc)
                continue
            if sub.printer_context is not None:
                ae = sub.printer.ae_title
                if ae not in statuses:
                    statuses[ae] = self.status_of(ae)
                self._follow_printer(sub, statuses[ae])
            if sub.print_jobs:
                self._follow_jobs(sub)

    def _follow_printer(self, sub: Subscription, status: PrinterStatusPair) -> None:
        if status == sub.printer_status:
            return
        sub.printer_status = status
        event_type, info = printer.printer_event(sub.printer, status)
        assert sub.printer_context is not None
        self._post(sub, event_report(PRINTER, PRINTER_INSTANCE, event_type, info,
                                     sub.printer_context))

    def _follow_jobs(self, sub: Subscription) -> None:
        with self._lock:
            followed = dict(sub.jobs)
        for uid, last in followed.items():
            job = self.store.get_by_uid(uid)
            if job is None:
                log.warning("events: print job %s is gone from the job store", uid)
                with self._lock:
                    sub.jobs.pop(uid, None)
                continue
            status, _info = job.state.execution_status
            if status == last:
                continue
            if status is ExecutionStatus.DONE and last == ExecutionStatus.PENDING:
                # rendered and printed between two polls: PRINTING first
                event_type, info = print_job_event(ExecutionStatus.PRINTING,
                                                   ExecutionStatusInfo.NORMAL,
                                                   job.film_session_label, sub.printer.name)
                self._post(sub, event_report(PRINT_JOB, uid, event_type, info, PRINT_JOB))
            event_type, info = job_event(job, sub.printer.name)
            self._post(sub, event_report(PRINT_JOB, uid, event_type, info, PRINT_JOB))
            with self._lock:
                if status in FINAL:
                    sub.jobs.pop(uid, None)
                else:
                    sub.jobs[uid] = status

    # -- delivery ------------------------------------------------------------------------------
    def _post(self, sub: Subscription, event: EventReport) -> None:
        sub.assoc.post_event(event, lambda ev, outcome: self._outcome(sub.calling_ae, ev, outcome))

    @staticmethod
    def _outcome(calling_ae: str, event: EventReport, outcome: EventOutcome) -> None:
        if outcome.answered:
            # any answer completes the event, also 0110 of an SCU without a handler (P16)
            level = logging.DEBUG if outcome.status == 0 else logging.INFO
            log.log(level, "events for %s: %s answered 0x%04X", calling_ae, event,
                    outcome.status)
        elif outcome.reason == ENDED:
            log.info("events for %s: %s not sent, the association ended", calling_ae, event)
        else:
            log.warning("events for %s: %s dropped: %s", calling_ae, event, outcome.reason)
