"""A printer's real status, as the Printer SOP instance answers it (PS3.4 H.4.6, PS3.3 C.13.9.1).

The one place that computes (Printer Status, Printer Status Info) for a printer: the SCP's Printer
N-GET and N-EVENT-REPORT, ``printserver printers list`` and the web all call
:func:`current_status` (through :class:`printserver.jobs.services.PrinterService` where they have
one).

Four things can hold a printer back, each recorded where every process sees it:

* its **output device** (the job store's printer state, written by the workers and serve's probe):
  a CUPS queue stopped → FAILURE / PRINTER OFFLINE, a missing queue → FAILURE / CHECK PRINTER,
  the CUPS server unreachable → FAILURE / PRINTER DOWN;
* an operator **pause** (``printserver printers pause AE``): WARNING / PRINTER OFFLINE. The printer
  still accepts films (WARNING, not FAILURE, so that modalities keep sending); its jobs wait;
* the **spool** (:func:`spool_status`): not writable → FAILURE / PRINTER DOWN, less free space
  than one association may hold → WARNING / PRINT BUFF FULL;
* its **queue** (:func:`queue_full`): ``max_queued_jobs`` unfinished jobs → WARNING / PRINT BUFF
  FULL, and new prints are refused (C601 / C602) until it drains.

The most severe wins (FAILURE over WARNING over NORMAL; on a tie the output device first, then the
pause, then the spool and the queue).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import NamedTuple

from printserver.jobs.model import PrinterState
from printserver.jobs.store import JobStore
from printserver.vocabulary import PrinterStatus, PrinterStatusInfo


class PrinterStatusPair(NamedTuple):
    """Printer Status (2110,0010) and Printer Status Info (2110,0020) of a printer.

    A tuple of two strings (the members are ``str`` enums where printserver chose the term; a
    device's own Status Info term stays the string it sent).
    """

    status: str
    info: str


#: Printer Status by severity: the most severe of several causes is the printer's status
SEVERITY = {PrinterStatus.NORMAL: 0, PrinterStatus.WARNING: 1, PrinterStatus.FAILURE: 2}
NORMAL = PrinterStatusPair(PrinterStatus.NORMAL, PrinterStatusInfo.NORMAL)
#: a printer an operator paused
PAUSED = PrinterStatusPair(PrinterStatus.WARNING, PrinterStatusInfo.PRINTER_OFFLINE)
#: the spool is nearly full, or the printer's queue is
BUFFER_FULL = PrinterStatusPair(PrinterStatus.WARNING, PrinterStatusInfo.PRINT_BUFF_FULL)
#: the spool folder cannot be written
SPOOL_DOWN = PrinterStatusPair(PrinterStatus.FAILURE, PrinterStatusInfo.PRINTER_DOWN)


def spool_status(spool_root: Path, reserve_bytes: int) -> PrinterStatusPair:
    """The status the spool gives every printer (PS3.3 C.13.9.1 terms).

    FAILURE / PRINTER DOWN when the spool folder is not writable; WARNING / PRINT BUFF FULL when
    less than ``reserve_bytes`` are free on its file system; else NORMAL / NORMAL.
    """
    if not os.access(spool_root, os.W_OK):
        return SPOOL_DOWN
    if shutil.disk_usage(spool_root).free < reserve_bytes:
        return BUFFER_FULL
    return NORMAL


def queue_full(store: JobStore, ae_title: str, max_queued_jobs: int) -> bool:
    """Whether the printer's queue holds ``max_queued_jobs`` unfinished jobs (0: never full)."""
    return max_queued_jobs > 0 and store.queue_lengths().get(ae_title, 0) >= max_queued_jobs


def combined_status(state: PrinterState | None,
                    spool: tuple[str, str] = NORMAL) -> PrinterStatusPair:
    """(Printer Status, Printer Status Info) of a printer from its stored state and its spool.

    Parameters
    ----------
    state
        The printer's row in the job store (None: never paused, output never seen failing).
    spool
        The spool's and the queue's status (:func:`spool_status`, :data:`BUFFER_FULL`).
    """
    candidates = []
    if state is not None:
        candidates.append(PrinterStatusPair(state.output_status, state.output_status_info))
        if state.paused:
            candidates.append(PAUSED)
    candidates.append(PrinterStatusPair(*spool))
    # a status this server does not know (a device's) counts as a failure
    return max(candidates, key=lambda c: SEVERITY.get(c.status, 2))


def status_of(state: PrinterState | None, spool: tuple[str, str], queue_length: int,
              max_queued_jobs: int) -> PrinterStatusPair:
    """(Printer Status, Printer Status Info) of a printer from what was read about it: its stored
    state, the spool's status (:func:`spool_status`), its queue length and ``max_queued_jobs``
    (0: no limit); for callers that show many printers at once from one read of each."""
    if spool == NORMAL and 0 < max_queued_jobs <= queue_length:
        spool = BUFFER_FULL
    return combined_status(state, spool)


def current_status(store: JobStore, ae_title: str, spool_root: Path, reserve_bytes: int,
                   max_queued_jobs: int = 0) -> PrinterStatusPair:
    """(Printer Status, Printer Status Info) of a printer now (PS3.3 C.13.9.1).

    Parameters
    ----------
    store
        The job store: the output device's state and an operator's pause are read from it (the
        workers and the CLI run in other processes), and the queue's length.
    ae_title
        The printer.
    spool_root, reserve_bytes
        The spool folder and the free space it must keep (``[dicom.limits]
        max_spool_bytes_per_association``), see :func:`spool_status`.
    max_queued_jobs
        ``[dicom.limits] max_queued_jobs`` (0: no limit), see :func:`queue_full`.
    """
    spool = spool_status(spool_root, reserve_bytes)
    length = (store.queue_lengths().get(ae_title, 0) if spool == NORMAL and max_queued_jobs > 0
              else 0)
    return status_of(store.printer_state(ae_title), spool, length, max_queued_jobs)
