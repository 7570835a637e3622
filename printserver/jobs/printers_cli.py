"""``printserver printers list|pause|resume|show|refresh``: the configured printers, their real
state and their effective settings.

The state shown is the one the Printer SOP instance answers (Printer Status and Printer Status Info,
PS3.3 C.13.9.1, see :mod:`printserver.jobs.printer_status`), with the output device's message, the
pause and the number of unfinished jobs. ``show`` prints every effective value of a printer and
where it came from (default, profile, config); ``refresh`` asks the film printers of ``downstream``
profiles again. Thin: it calls :class:`printserver.jobs.services.PrinterService` and formats what
it returns.
"""

from __future__ import annotations

import argparse
import json

from printserver.config import Config, load_config
from printserver.jobs.cli import actor
from printserver.jobs.services import Services, printer_settings, refresh_downstream


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
    q = printers.add_parser("show", help="every effective value of a printer and its origin",
                            description="Every effective value of a printer, as the Print SCP, "
                                        "the renderer and the outputs use it, and where it came "
                                        "from: default (built in), profile (the printer's "
                                        "profile) or config (its [[printers]] table).")
    q.add_argument("ae_title", metavar="AE", help="the printer's AE title")
    q.add_argument("--json", action="store_true", help="JSON output")
    _common(q)
    q.set_defaults(func=run_show)
    q = printers.add_parser("refresh", help="ask downstream film printers for their capabilities",
                            description="Ask the DICOM film printer of each printer whose profile "
                                        "is downstream (or of the printers named) for its Printer "
                                        "and Printer Configuration Retrieval attributes, and keep "
                                        "the answer under the data folder (serve does this at "
                                        "start; a running serve uses a new answer once restarted). "
                                        "A film printer that does not answer keeps its previous "
                                        "answer. Exit 1 when one did not answer.")
    q.add_argument("ae_titles", metavar="AE", nargs="*", help="printers (default: every printer "
                                                               "with profile = \"downstream\")")
    q.add_argument("--json", action="store_true", help="JSON output")
    _common(q)
    q.set_defaults(func=run_refresh)


def _common(q: argparse.ArgumentParser) -> None:
    q.add_argument("--config", metavar="FILE", help="TOML configuration file")
    q.add_argument("--data-dir", metavar="DIR", help="data folder")


def _config(args: argparse.Namespace) -> Config:
    return load_config(args.config, data_dir=args.data_dir)


def _services(args: argparse.Namespace) -> Services:
    return Services.open(_config(args))


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


def _text(value: object) -> str:
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value) or "(none)"
    if isinstance(value, dict):
        return ", ".join(f"{k} = {_text(v)}" for k, v in value.items()) or "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if value != "" else '""'


def run_show(args: argparse.Namespace) -> int:
    settings = printer_settings(_config(args), args.ae_title)  # the configuration alone
    if args.json:
        print(json.dumps(settings.to_dict(), indent=1))
        return 0
    print(f"printer {settings.ae_title}")
    if settings.profile:
        print(f"profile {settings.profile}: {settings.profile_source}")
    print(f"{'KEY':28} {'ORIGIN':8} VALUE")
    for s in settings.settings:
        if isinstance(s.value, dict) and s.key == "output":  # one line per output key
            for key, value in s.value.items():
                print(f"{'output.' + key:28} {s.origin:8} {_text(value)}")
            continue
        print(f"{s.key:28} {s.origin:8} {_text(s.value)}")
    return 0


def run_refresh(args: argparse.Namespace) -> int:
    _refreshed, results = refresh_downstream(_config(args), args.ae_titles or None)
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=1))
    else:
        if not results:
            print("no printer has profile = \"downstream\"")
        for r in results:
            print(f"printer {r.ae_title}: {'' if r.answered else 'no answer: '}{r.message}")
    return 0 if all(r.answered for r in results) else 1
