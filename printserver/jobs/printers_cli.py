"""``printserver printers list|pause|resume``: the configured printers and their real state.

The state shown is the one the Printer SOP instance answers (Printer Status and Printer Status Info,
PS3.3 C.13.9.1, see :mod:`printserver.jobs.printer_status`), with the output device's message, the
pause and the number of unfinished jobs. Thin: it calls
:class:`printserver.jobs.services.PrinterService` and formats what it returns.
"""

from __future__ import annotations

import argparse
import json

from printserver.config import load_config
from printserver.jobs.cli import actor
from printserver.jobs.services import Services


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("printers", help="list printers with their status; pause and resume them",
                       description="The configured printers with their real status (as Printer "
                                   "N-GET answers it), and pausing (queued jobs wait) or resuming "
                                   "a printer.")
    printers = p.add_subparsers(dest="printers_command", metavar="SUBCOMMAND", required=True)
    q = printers.add_parser("list", help="printers with status, pause and queue length")
    q.add_argument("--json", action="store_true", help="JSON output")
    _common(q)
    q.set_defaults(func=run_list)
    for name, helptext in (("pause", "pause a printer: its queued jobs wait (Printer Status "
                                     "WARNING, PRINTER OFFLINE)"),
                           ("resume", "resume a paused printer")):
        q = printers.add_parser(name, help=helptext, description=helptext)
        q.add_argument("ae_title", metavar="AE", help="the printer's AE title")
        _common(q)
        q.set_defaults(func=run_pause, paused=name == "pause")


def _common(q: argparse.ArgumentParser) -> None:
    q.add_argument("--config", metavar="FILE", help="TOML configuration file")
    q.add_argument("--data-dir", metavar="DIR", help="data folder")


def _services(args: argparse.Namespace) -> Services:
    return Services.open(load_config(args.config, data_dir=args.data_dir))


def run_list(args: argparse.Namespace) -> int:
    with _services(args) as services:
        rows = services.printers.list()
    if args.json:
        print(json.dumps([r.to_dict() for r in rows], indent=1))
        return 0
    print(f"{'AE TITLE':16} {'NAME':20} {'OUTPUT':6} {'STATUS':8} {'STATUS INFO':16} "
          f"{'PAUSED':6} {'QUEUE':>5}  MESSAGE")
    for r in rows:
        print(f"{r.ae_title:16} {r.name[:20]:20} {r.output_kind:6} {r.status:8} "
              f"{r.status_info:16} {'yes' if r.paused else 'no':6} "
              f"{r.queue_length:5d}  {r.message}")
    return 0


def run_pause(args: argparse.Namespace) -> int:
    with _services(args) as services:
        printers = services.printers
        change = printers.pause if args.paused else printers.resume
        printer = change(args.ae_title, actor=actor())
    print(f"printer {printer.ae_title} {'paused' if args.paused else 'resumed'}")
    return 0
