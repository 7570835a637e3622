"""The ``printserver`` command: one entry point, one sub-command module per part of the pipeline.

Each part registers its sub-commands through a ``register(subparsers)`` function in its own ``cli``
module (``printserver/gsdf/cli.py`` …). A sub-command sets ``func(args) -> int`` as its default.
Errors a user can fix (:class:`printserver.errors.PrintserverError`) are printed on one line without a
traceback and give exit status 2, as bad usage does.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from printserver import __version__
from printserver.errors import PrintserverError
from printserver.logs import configure_logging

log = logging.getLogger("printserver")

#: modules that contribute sub-commands, in the order ``--help`` lists them
COMMAND_MODULES: tuple[str, ...] = (
    "printserver.gsdf.cli",
    "printserver.layout.qc_cli",
    "printserver.serve",
    "printserver.jobs.cli",
    "printserver.jobs.printers_cli",
    "printserver.jobs.db_cli",
    "printserver.accounts.cli",
    "printserver.scu.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="printserver",
        description="DICOM Print SCP and display/printer calibration (PS3.4 Annex H, PS3.14).",
    )
    parser.add_argument("--version", action="version", version=f"printserver {__version__}")
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument("-v", "--verbose", action="count", default=0,
                           help="more log output (-vv for DICOM protocol detail)")
    verbosity.add_argument("-q", "--quiet", action="store_true", help="only errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.verbose, args.quiet)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except PrintserverError as exc:
        print(f"printserver: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
