"""The spool: one folder per print job holding its pixel files and ``manifest.json``.

Writing is crash-safe: the files go to a temporary folder, each file is fsync'd, the folder is
fsync'd, renamed to its final name and the spool folder fsync'd. A job folder therefore either
exists complete or not at all; the job row is committed only after :meth:`Spool.write_job`
returns (see :mod:`printserver.scp.print_job`).

Several ``printserver serve`` nodes may share one spool folder (PostgreSQL job store): each
process stages and assembles its jobs in a staging folder of its own, ``.staging/<host>-<pid>``
(on the spool's file system, so that a job folder is a rename away), and a serve starting up
clears only the staging folders of processes of its own host that are gone. Each association
stages its images with a :class:`Stager` of its own.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import socket
import threading
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from printserver.durable import fsync_path, write_synced
from printserver.errors import PrintserverError
from printserver.jobs.model import Job

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
#: staging threads of one association: two fsyncs in flight share the file system's journal
#: commits (with one, a print of 16 images took ~10 % longer)
STAGE_WORKERS = 2
_TMP_PREFIX = ".tmp-"
_STAGING = ".staging"


@dataclass(frozen=True)
class StagedFile:
    """Pixel bytes already written and fsync'd to the staging folder, waiting for a job."""

    path: Path
    nbytes: int
    sha256: str


class SpoolError(PrintserverError):
    """A spool folder or file is missing or does not match its manifest."""


def _alive(pid: int) -> bool:
    """Whether a process of this host has this id."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


class Stager:
    """Stages the image pixels of one association in the spool's staging folder, on staging
    threads of its own (:meth:`Spool.stager`).

    The SCP stages each image at Image Box N-SET, so that at N-ACTION the job folder only needs
    hard links to files that are already durable. :meth:`stage` defers the write to
    :meth:`run_deferred`, which the SCP calls on the association's own thread right after the
    N-SET response has left, while the SCU prepares its next request: the CPU work (copy,
    SHA-256) is done there, without a second thread competing for the CPU, and only the fsync
    waits on a staging thread. Those threads are this association's alone, so another
    association's images never queue in front of this one's N-ACTION (which waits until every
    image of its job is durable); they are started with the first images and end with
    :meth:`close`, at the end of the association.

    Parameters
    ----------
    folder : callable
        Returns the staging folder (created when first needed).
    name : str
        For the staging thread's name (the calling AE title).
    """

    def __init__(self, folder: Callable[[], Path], name: str = "",
                 closed: Callable[[Stager], None] | None = None) -> None:
        self.name = name
        self._folder = folder
        self._closed_callback = closed
        self._lock = threading.Lock()
        self._deferred: list[tuple[Future[StagedFile], bytes]] = []
        self._discarded: list[Future[StagedFile]] = []
        self._pool: ThreadPoolExecutor | None = None

    def stage(self, data: bytes) -> Future[StagedFile]:
        """Stage ``data`` as a file (written, hashed, fsync'd); the Future says when it is
        durable. The write waits for :meth:`run_deferred`."""
        future: Future[StagedFile] = Future()
        with self._lock:
            self._deferred.append((future, data))
        return future

    def run_deferred(self) -> None:
        """Write and hash the deferred files now, on this thread; their fsync runs on the
        staging thread (a slow disk must not hold the association up), and each Future is done
        once its file is durable. Then discarded files are unlinked."""
        while True:
            with self._lock:
                if not self._deferred:
                    break
                future, data = self._deferred.pop(0)
            if not future.set_running_or_notify_cancel():
                continue
            try:
                path = self._folder() / uuid.uuid4().hex
                path.write_bytes(data)
                staged = StagedFile(path, len(data), hashlib.sha256(data).hexdigest())
                self._submit(self._sync_staged, future, staged)
            except BaseException as exc:  # the Future carries it to N-ACTION (e.g. disk full)
                future.set_exception(exc)
        self.flush_discarded()

    @staticmethod
    def _sync_staged(future: Future[StagedFile], staged: StagedFile) -> None:
        try:
            fsync_path(staged.path)
            future.set_result(staged)
        except BaseException as exc:
            future.set_exception(exc)

    def discard(self, *staged: Future[StagedFile]) -> None:
        """Remove staging files once written (a job that linked one keeps its own link).

        They are unlinked later, on the staging thread: with the next image staged or at
        :meth:`close`, so that an N-DELETE of a film box neither waits for one unlink per image
        nor competes with them for the CPU."""
        with self._lock:
            self._discarded.extend(staged)

    def flush_discarded(self) -> None:
        """Unlink, on the staging thread, the staging files discarded so far."""
        with self._lock:
            staged, self._discarded = tuple(self._discarded), []
        if staged:
            try:
                self._submit(self._unlink_staged, staged)
            except RuntimeError:  # the thread is shutting down: do it here
                self._unlink_staged(staged)

    @staticmethod
    def _unlink_staged(staged: tuple[Future[StagedFile], ...]) -> None:
        def unlink(done: Future[StagedFile]) -> None:
            if done.exception() is None:
                done.result().path.unlink(missing_ok=True)
        for future in staged:
            future.add_done_callback(unlink)  # at once when written, else when it is

    def _submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(STAGE_WORKERS,
                                            thread_name_prefix=f"spool-stage-{self.name}")
        return self._pool.submit(fn, *args)

    def close(self) -> None:
        """Write what is still deferred, unlink what was discarded, wait for the staging
        thread to finish and stop it."""
        self.run_deferred()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        if self._closed_callback is not None:
            self._closed_callback(self)


class Spool:
    """The spool folder ``data_dir/spool``.

    Parameters
    ----------
    root : Path
        The spool folder; created when missing.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        #: this process's staging folder (created when first needed)
        self.staging = self.root / _STAGING / f"{socket.gethostname()}-{os.getpid()}"
        self._lock = threading.Lock()
        self._stagers: set[Stager] = set()

    # -- staging: pixels written while the SCU sends the next image ------------------------------
    def stager(self, name: str = "") -> Stager:
        """A :class:`Stager` for one association (``name``: its calling AE title); close it when
        the association ends."""
        stager = Stager(self._staging_dir, name, closed=self._forget)
        with self._lock:
            self._stagers.add(stager)
        return stager

    def _forget(self, stager: Stager) -> None:
        with self._lock:
            self._stagers.discard(stager)

    def _staging_dir(self) -> Path:
        self.staging.mkdir(parents=True, exist_ok=True)
        return self.staging

    def clear_staging(self) -> None:
        """Remove what dead processes of this host left staged (never part of an acknowledged
        job), and this process's own staging folder's content; other hosts' folders are theirs."""
        own = self._staging_dir()
        host = socket.gethostname()
        for path in own.parent.iterdir():
            name, _, pid = path.name.rpartition("-")
            if path == own:
                for leftover in path.iterdir():
                    if leftover.is_dir():
                        shutil.rmtree(leftover)
                    else:
                        leftover.unlink()
            elif not path.is_dir():  # a staging file of a release before per-process folders
                path.unlink(missing_ok=True)
            elif name == host and pid.isdigit() and not _alive(int(pid)):
                shutil.rmtree(path, ignore_errors=True)

    def close(self) -> None:
        """Close the stagers still open (associations that did not end by themselves): their
        pending writes and unlinks are done, their threads stopped."""
        with self._lock:
            stagers = list(self._stagers)
        for stager in stagers:
            stager.close()

    def job_dir(self, job: Job | str) -> Path:
        """Folder of a job (a :class:`Job` or its spool folder name)."""
        name = job.spool_dir if isinstance(job, Job) else str(job)
        return self.root / name

    def write_job(self, job_id: str, manifest: Mapping[str, Any],
                  pixel_files: Mapping[str, bytes | memoryview | StagedFile]) -> str:
        """Write a job folder durably and return the SHA-256 of its manifest.

        Parameters
        ----------
        job_id : str
            Folder name; must not exist yet.
        manifest : mapping
            JSON-serialisable description of the job.
        pixel_files : mapping
            File name → bytes (written and fsync'd) or a :class:`StagedFile` (hard-linked: its
            data are already durable), all before the manifest.
        """
        final = self.root / job_id
        if final.exists():
            raise SpoolError(f"spool folder {final} already exists")
        tmp = self._staging_dir() / f"{_TMP_PREFIX}{job_id}"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        try:
            for name, data in pixel_files.items():
                if "/" in name or name.startswith("."):
                    raise SpoolError(f"bad spool file name {name!r}")
                if isinstance(data, StagedFile):
                    os.link(data.path, tmp / name)
                else:
                    write_synced(tmp / name, data)
            text = json.dumps(manifest, indent=1, sort_keys=False).encode("utf-8")
            write_synced(tmp / MANIFEST_NAME, text)
            fsync_path(tmp)
            os.rename(tmp, final)
            fsync_path(self.root)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return hashlib.sha256(text).hexdigest()

    def remove_job(self, job_id: str) -> None:
        """Delete a job folder (used when the job row could not be committed)."""
        shutil.rmtree(self.root / job_id, ignore_errors=True)

    def orphans(self, known: set[str]) -> list[str]:
        """Spool folders without a job row (a crash between rename and commit) and temp folders
        left by a release that assembled jobs in the spool folder itself."""
        return sorted(p.name for p in self.root.iterdir()
                      if p.is_dir() and p.name != _STAGING
                      and (p.name.startswith(_TMP_PREFIX) or p.name not in known))

    def load_manifest(self, job: Job | str) -> dict[str, Any]:
        """The job's manifest as written at N-ACTION."""
        path = self.job_dir(job) / MANIFEST_NAME
        try:
            return json.loads(path.read_text("utf-8"))
        except FileNotFoundError:
            raise SpoolError(f"{path}: manifest missing") from None

    def _image(self, manifest: Mapping[str, Any], film: int, position: int) -> dict[str, Any]:
        films = manifest["films"]
        if not 1 <= film <= len(films):
            raise SpoolError(f"job {manifest['job_id']} has no film {film}")
        for box in films[film - 1]["image_boxes"]:
            if box["position"] == position:
                if box["image"] is None:
                    raise SpoolError(f"film {film} position {position} has no image")
                return box["image"]
        raise SpoolError(f"film {film} has no image box at position {position}")

    def pixel_bytes(self, job: Job | str, film: int, position: int,
                    manifest: Mapping[str, Any] | None = None) -> bytes:
        """Raw pixel bytes of one image box (little endian, as received), checked by SHA-256.

        Parameters
        ----------
        job : Job or str
        film : int
            1-based film (film box) number in the manifest's order.
        position : int
            Image Box Position (2020,0010).
        """
        manifest = manifest or self.load_manifest(job)
        image = self._image(manifest, film, position)
        data = (self.job_dir(job) / image["file"]).read_bytes()
        if hashlib.sha256(data).hexdigest() != image["sha256"]:
            raise SpoolError(f"{image['file']}: SHA-256 does not match the manifest")
        return data

    def load_pixels(self, job: Job | str, film: int, position: int,
                    manifest: Mapping[str, Any] | None = None) -> np.ndarray:
        """Pixels of one image box as a ``(rows, columns)`` array, masked to Bits Stored.

        8-bit images give ``uint8``, 12-bit images (16 allocated) ``uint16``.
        """
        manifest = manifest or self.load_manifest(job)
        image = self._image(manifest, film, position)
        data = self.pixel_bytes(job, film, position, manifest)
        dtype = "<u2" if image["bits_allocated"] == 16 else "u1"
        arr = np.frombuffer(data, dtype=dtype).reshape(image["rows"], image["columns"])
        mask = (1 << image["bits_stored"]) - 1
        return (arr & mask).astype(arr.dtype.newbyteorder("="))
