"""Durable file writes: what "stored" means for printserver.

An accepted print job and a finished film must survive a crash or power loss (see
``docs/conformance.md``, Durability). A file is durable once its data is fsync'd *and* the folder
that names it is fsync'd (on Linux a new or renamed entry is only on disk when its directory is).
"""

from __future__ import annotations

import os
from pathlib import Path


def fsync_path(path: Path) -> None:
    """fsync a file or a folder by path (a folder: so that new or renamed entries are on disk)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_synced(path: Path, data: bytes | memoryview) -> None:
    """Write ``data`` to ``path`` and fsync it (the folder is the caller's to fsync)."""
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def replace_durably(path: Path, data: bytes) -> None:
    """Make ``path`` hold ``data``, whole or not at all, durably: stage a temporary file beside
    it, fsync it, rename it over ``path``, fsync the folder. A crash leaves the old file or the
    new one (and perhaps a ``.*.tmp`` file), never a part of either.

    Raises
    ------
    OSError
        The folder is not writable, the disk is full, ... (the temporary file is removed).
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write_synced(tmp, data)
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    fsync_path(path.parent)
