"""``printserver printers list|pause|resume``: the configured printers and their real state.

The state shown is the one the Printer SOP instance answers (Printer Status and Printer Status Info,
PS3.3 C.13.9.1, see :mod:`printserver.jobs.printer_status`), with the output device's message, the
pause and the number of unfinished jobs.
"""

from __future__ import annotations

import argparse
import json

from printserver.config import Config, PrinterConfig, load_config
from printserver.errors import PrintserverError
from printserver.jobs.store import open_job_store


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


def _printer(config: Config, ae_title: str) -> PrinterConfig:
    for p in config.printers:
        if p.ae_title == ae_title.strip():
            return p
    raise PrintserverError(f"no printer with AE title {ae_title!r} (configured: "
                           f"{', '.join(p.ae_title for p in config.printers)})")


def printer_rows(config: Config) -> list[dict]:
    """Every configured printer as ``printers list --json`` shows it."""
    from printserver.scp.printer import current_status

    reserve = config.dicom.limits.max_spool_bytes_per_association
    config.spool_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    with open_job_store(config) as store:
        lengths = store.queue_lengths()
        for p in config.printers:
            state = store.printer_state(p.ae_title)
            status, info = current_status(store, p.ae_title, config.spool_dir, reserve,
                                          config.dicom.limits.max_queued_jobs)
            rows.append({
                "ae_title": p.ae_title, "name": p.name, "output_kind": p.output.kind,
                "output_queue": p.output.queue, "status": status, "status_info": info,
                "paused": state.paused, "paused_at": state.paused_at,
                "output_status": state.output_status,
                "output_status_info": state.output_status_info,
                "message": state.message, "status_updated_at": state.updated_at,
                "queue_length": lengths.get(p.ae_title, 0)})
    return rows


def run_list(args: argparse.Namespace) -> int:
    rows = printer_rows(load_config(args.config, data_dir=args.data_dir))
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(f"{'AE TITLE':16} {'NAME':20} {'OUTPUT':6} {'STATUS':8} {'STATUS INFO':16} "
          f"{'PAUSED':6} {'QUEUE':>5}  MESSAGE")
    for r in rows:
        print(f"{r['ae_title']:16} {r['name'][:20]:20} {r['output_kind']:6} {r['status']:8} "
              f"{r['status_info']:16} {'yes' if r['paused'] else 'no':6} "
              f"{r['queue_length']:5d}  {r['message']}")
    return 0


def run_pause(args: argparse.Namespace) -> int:
    config = load_config(args.config, data_dir=args.data_dir)
    printer = _printer(config, args.ae_title)
    with open_job_store(config) as store:
        store.set_paused(printer.ae_title, args.paused)
    print(f"printer {printer.ae_title} {'paused' if args.paused else 'resumed'}")
    return 0
