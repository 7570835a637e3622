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

log = logging.getLogger("printserver")

#: modules that contribute sub-commands, in the order ``--help`` lists them
COMMAND_MODULES: tuple[str, ...] = (
    "printserver.gsdf.cli",
    "printserver.scp.cli",
    "printserver.jobs.cli",
    "printserver.jobs.printers_cli",
    "printserver.jobs.db_cli",
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


def configure_logging(verbose: int, quiet: bool) -> None:
    """Configure logging once for the whole process: to stderr, one line per record."""
    level = logging.ERROR if quiet else (logging.DEBUG if verbose else logging.INFO)
    logging.basicConfig(level=level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # pynetdicom (our SCU side) is very chatty at INFO; it and the Print SCP's message trace
    # (printserver.scp.transport at DEBUG: every DIMSE message) only with -vv
    logging.getLogger("pynetdicom").setLevel(
        logging.DEBUG if verbose >= 2 else (logging.ERROR if quiet else logging.WARNING))
    logging.getLogger("printserver.scp.transport").setLevel(
        logging.DEBUG if verbose >= 2 else level)
    # Alembic (the job store's schema upgrade) tells every step; printserver.jobs.migrate sums up
    logging.getLogger("alembic").setLevel(logging.DEBUG if verbose else logging.WARNING)


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
