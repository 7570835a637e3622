"""Logging set-up of a printserver process: the ``printserver`` command and its worker processes.

One function, called once per process: by :func:`printserver.cli.main` with the command's ``-v`` /
``-q`` flags, and by every render worker process (:mod:`printserver.jobs.pool`), which is spawned
and so starts with nothing configured, with the level of the serve that started it.
"""

from __future__ import annotations

import logging
import sys


def configure_logging(verbose: int, quiet: bool) -> None:
    """Configure logging once for the whole process: to stderr, one line per record.

    Parameters
    ----------
    verbose
        0: INFO; 1 (``-v``): DEBUG; 2 (``-vv``): DEBUG with the DICOM protocol detail too.
    quiet
        Only errors (``-q``).
    """
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
