"""``printserver serve``: the composition root of a running server.

:class:`ServeNode` builds the parts of one ``serve`` from its configuration, starts them and stops
them in order:

1. the Print SCP (:class:`printserver.scp.server.PrintServer`): listening on the DICOM port, the
   job store and spool open;
2. the render workers (:class:`printserver.jobs.pool.WorkerPool`): the node's lease, jobs a dead
   run left behind requeued, one process per worker;
3. housekeeping (:class:`printserver.jobs.housekeeping.Housekeeper`): retention purges and the
   printers' status probes;
4. the web server (:class:`web.server.WebServer`, unless ``[web] enabled = false``): the web UI
   and the JSON API on ``[web] host:port``; while there is no user it logs the first-run setup
   token;

and stops them the other way round: the web server (no new request; requests in progress
finish), housekeeping, then the SCP (no new jobs, open associations ended), then the workers
(each finishes its current job).

``printserver serve`` runs one node until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from printserver.config import Config, load_config
from printserver.errors import PrintserverError
from printserver.jobs.housekeeping import Housekeeper
from printserver.jobs.migrate import upgrade
from printserver.jobs.pool import WorkerPool
from printserver.jobs.services import refresh_downstream
from printserver.scp.server import PrintServer
from printserver.scu.reactor_gate import check_pynetdicom
from web.server import WebServer

log = logging.getLogger(__name__)

#: seconds between two looks at the stop flag (signals arrive between them)
STOP_POLL = 1.0


class ServeNode:
    """The parts of one ``printserver serve``: Print SCP, render workers, housekeeping, web.

    Parameters
    ----------
    config
        The whole configuration.
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        self.server: PrintServer | None = None
        self.workers: WorkerPool | None = None
        self.housekeeper: Housekeeper | None = None
        self.web: WebServer | None = None
        #: set once every part has started, cleared when they stop
        self.started = threading.Event()

    def start(self) -> None:
        """Build and start every part. On an error, :meth:`stop` still stops what started.

        Raises
        ------
        PrintserverError
            The DICOM or web port cannot be bound, the configuration cannot be served (e.g. TLS
            files), or the installed pynetdicom is not the one the outputs were written for.
        """
        upgrade(self.config)  # the job store's schema (printserver db upgrade), before any open
        check_pynetdicom()  # the dicom and pacs outputs' SCU, before any worker needs it
        # printers with profile = "downstream": ask their film printers now, so that every part
        # below uses the answer (a film printer that does not answer keeps its previous one)
        self.config, _asked = refresh_downstream(self.config)
        self.server = PrintServer(self.config)
        try:
            self.server.start()
        except OSError as exc:
            dicom = self.config.dicom
            raise PrintserverError(f"cannot listen on {dicom.host}:{dicom.port}: "
                                   f"{exc.strerror or exc}") from None
        self.workers = WorkerPool(self.config)
        self.workers.start()
        self.housekeeper = Housekeeper(self.config)
        self.housekeeper.start()  # retention purges, printer status probes
        if self.config.web.enabled:
            self.web = WebServer(self.config)
            self.web.start()
        self.started.set()

    def stop(self) -> None:
        """Stop what was started: the web server, housekeeping, the Print SCP, then the workers
        (each finishes its current job), the workers even when stopping another part failed."""
        self.started.clear()
        try:
            if self.web is not None:
                self.web.stop()
            if self.housekeeper is not None:
                self.housekeeper.stop()
            if self.server is not None:
                self.server.stop()
        finally:
            if self.workers is not None:
                self.workers.stop()
        self.server = self.workers = self.housekeeper = self.web = None

    def run(self, stop: threading.Event) -> None:
        """Start, serve until ``stop`` is set, then stop."""
        try:
            self.start()
            while not stop.wait(STOP_POLL):
                pass
        finally:
            self.stop()


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``serve`` to the ``printserver`` command."""
    p = sub.add_parser("serve", help="run the DICOM Print SCP and the web UI",
                       description="Run the DICOM Print SCP (PS3.4 Annex H) with the defaults of the "
                                   "configuration: port 11112, AE title PRINTSCP, data under ./var, "
                                   "the render workers that turn queued jobs into PDF films "
                                   "([workers] count), and the web UI and JSON API on "
                                   "127.0.0.1:8080 ([web]). Stops cleanly on SIGTERM or SIGINT.")
    p.add_argument("--config", metavar="FILE", help="TOML configuration file")
    p.add_argument("--data-dir", metavar="DIR", help="data folder (job store, spool, films)")
    p.add_argument("--dicom-port", metavar="N", type=int, help="DICOM port (default 11112)")
    p.add_argument("--web-port", metavar="N", type=int,
                   help="web UI port (default 8080; 0 = any free port, logged at start)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """``printserver serve``: one node until SIGTERM or SIGINT."""
    config = load_config(args.config, data_dir=args.data_dir, dicom_port=args.dicom_port,
                         web_port=args.web_port)
    stop = threading.Event()

    def _stop(_signum: int, _frame: object) -> None:
        stop.set()

    previous = {s: signal.signal(s, _stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        ServeNode(config).run(stop)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return 0
