"""Housekeeping of ``printserver serve``: retention purges and printer status probes.

A thread beside the Print SCP and the workers:

* every :data:`printserver.jobs.retention.PURGE_INTERVAL` seconds (and at start) it purges the
  finished jobs older than ``[retention] days`` and the association records older than
  ``[retention] association_days`` (0 = never), see :mod:`printserver.jobs.retention`;
* every ``[workers] probe_interval`` seconds it asks each printer's output device for its state
  (outputs that can tell, e.g. a CUPS queue: :meth:`Output.check`) and records it in the job store,
  so that Printer N-GET shows a stopped queue, or one that works again, even while no job is
  printing. Outputs without a device to ask are left alone: their status is the one the workers
  record when they deliver.
"""

from __future__ import annotations

import logging
import threading
import time

from printserver.config import Config
from printserver.errors import PrintserverError
from printserver.jobs.retention import PURGE_INTERVAL, purge, purge_associations
from printserver.jobs.spool import Spool
from printserver.jobs.store import JobStore, JobStoreError, open_job_store
from printserver.outputs import open_output
from printserver.outputs.base import Output

log = logging.getLogger(__name__)

#: who recorded an output status the probe saw, in the printers' status history
PROBE = "status probe"


def probe_printers(config: Config, store: JobStore) -> None:
    """Record the state of every printer whose output can report one (:meth:`Output.check`)."""
    for printer in config.printers:
        try:
            output = open_output(printer, config)
        except PrintserverError as exc:
            log.debug("printer %s: output not probed: %s", printer.ae_title, exc)
            continue
        if type(output).check is Output.check:
            continue
        status = output.check()
        before = store.printer_state(printer.ae_title)
        if (before.output_status, before.output_status_info) != (status.status,
                                                                 status.status_info):
            log.info("printer %s: %s / %s %s", printer.ae_title, status.status,
                     status.status_info, status.message)
        store.set_output_status(printer.ae_title, status.status, status.status_info,
                                status.message, actor=PROBE)


class Housekeeper:
    """The housekeeping thread of one serve (see the module docstring)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="housekeeping", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)

    def _run(self) -> None:
        next_purge = next_probe = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            try:
                with open_job_store(self.config) as store:
                    if now >= next_probe:
                        probe_printers(self.config, store)
                        next_probe = now + self.config.workers.probe_interval
                    if now >= next_purge:
                        retention = self.config.retention
                        if retention.days > 0:
                            purge(store, Spool(self.config.spool_dir), retention.days)
                        if retention.association_days > 0:
                            purge_associations(store, retention.association_days)
                        next_purge = now + PURGE_INTERVAL
            except JobStoreError as exc:
                log.error("housekeeping: job store: %s", exc)
            except Exception:  # housekeeping must never stop serve: logged, tried again later
                log.exception("housekeeping: unexpected error")
            self._stop.wait(max(0.1, min(next_probe, next_purge) - time.monotonic()))
