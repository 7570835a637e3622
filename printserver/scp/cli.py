"""``printserver serve``: run the Print SCP until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import signal
import threading

from printserver.config import load_config
from printserver.errors import PrintserverError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run the DICOM Print SCP",
                       description="Run the DICOM Print SCP (PS3.4 Annex H) with the defaults of the "
                                   "configuration: port 11112, AE title PRINTSCP, data under ./var, "
                                   "and the render workers that turn queued jobs into PDF films "
                                   "([workers] count). Stops cleanly on SIGTERM or SIGINT.")
    p.add_argument("--config", metavar="FILE", help="TOML configuration file")
    p.add_argument("--data-dir", metavar="DIR", help="data folder (job store, spool, films)")
    p.add_argument("--dicom-port", metavar="N", type=int, help="DICOM port (default 11112)")
    p.add_argument("--web-port", metavar="N", type=int,
                   help="web UI port (default 8080; the web UI is not served yet)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from printserver.jobs.housekeeping import Housekeeper
    from printserver.jobs.migrate import upgrade
    from printserver.jobs.pool import WorkerPool
    from printserver.scp.server import PrintServer

    config = load_config(args.config, data_dir=args.data_dir, dicom_port=args.dicom_port,
                         web_port=args.web_port)
    upgrade(config)  # the job store's schema, before anything opens the store
    stop = threading.Event()

    def _stop(signum: int, _frame: object) -> None:
        stop.set()

    previous = {s: signal.signal(s, _stop) for s in (signal.SIGTERM, signal.SIGINT)}
    server = PrintServer(config)
    workers = WorkerPool(config)
    housekeeper = Housekeeper(config)
    try:
        try:
            server.start()
        except OSError as exc:
            raise PrintserverError(f"cannot listen on {config.dicom.host}:{config.dicom.port}: "
                                   f"{exc.strerror or exc}") from None
        workers.start()
        housekeeper.start()  # retention purges, printer status probes
        while not stop.wait(1.0):
            pass
    finally:
        try:
            housekeeper.stop()
            server.stop()
        finally:
            workers.stop()
        for s, handler in previous.items():
            signal.signal(s, handler)
    return 0
