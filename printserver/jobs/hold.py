"""A hold point for tests and diagnostics: claimed jobs wait at RENDERING until released.

Inactive unless the environment variable ``PRINTSERVER_HOLD_DIR`` names a folder when a worker is
made (:meth:`HoldPoint.from_environment`). ``printserver serve`` started with it set passes it to
every worker process it spawns. A worker with a hold point, once it has claimed a job for
rendering (the job is RENDERING in the store, ``attempts`` counted, ``claimed_by`` this worker):

1. writes ``<job_id>.<attempt>.held`` into the folder (JSON: ``job_id``, ``attempt``,
   ``worker_id``, ``pid``), written whole (staged, then renamed);
2. waits until ``<job_id>.release`` exists, or until the worker is told to stop (then it carries
   on, as a stopping worker does with its current job);
3. renders and delivers the job as usual.

So a test can hold every job at RENDERING, see which worker (and which process) holds which job,
kill that worker or its serve while the job is provably held, and release the jobs one at a time
(:class:`HoldFolder`). A job stays released for its later attempts too. The hold never changes a
job's record; following PRINTING jobs is never held. Every worker with a hold point logs a WARNING
when it starts, so that one left set in production shows in the log.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: the environment variable naming the hold folder
HOLD_DIR_VARIABLE = "PRINTSERVER_HOLD_DIR"
#: seconds between two looks for a release file (a held worker) or a held file (a test)
POLL_SECONDS = 0.02


@dataclass(frozen=True)
class HeldJob:
    """A job a worker holds at RENDERING (the content of a ``.held`` file)."""

    job_id: str
    attempt: int
    worker_id: str
    pid: int


def _release_path(folder: Path, job_id: str) -> Path:
    return folder / f"{job_id}.release"


@dataclass(frozen=True)
class HoldPoint:
    """The worker's side: hold each claimed job until it is released."""

    folder: Path

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> HoldPoint | None:
        """The hold point ``PRINTSERVER_HOLD_DIR`` names, or None (the normal case)."""
        value = (os.environ if environ is None else environ).get(HOLD_DIR_VARIABLE, "")
        return cls(Path(value)) if value else None

    def hold(self, job_id: str, attempt: int, worker_id: str, stop: Any = None) -> None:
        """Announce the job held and wait until it is released or ``stop`` (anything with
        ``is_set`` / ``wait``) is set."""
        release = _release_path(self.folder, job_id)
        if release.exists():
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        held = self.folder / f"{job_id}.{attempt}.held"
        staged = self.folder / f".{held.name}.{os.getpid()}.tmp"
        staged.write_text(json.dumps({"job_id": job_id, "attempt": attempt,
                                      "worker_id": worker_id, "pid": os.getpid()}))
        staged.replace(held)
        log.warning("job %s: held at RENDERING (attempt %d) until %s exists", job_id, attempt,
                    release)
        while not release.exists():
            if stop is not None and stop.is_set():
                log.warning("job %s: hold ended by the worker's stop", job_id)
                return
            if stop is not None:
                stop.wait(POLL_SECONDS)
            else:
                time.sleep(POLL_SECONDS)
        log.info("job %s: released", job_id)


@dataclass(frozen=True)
class HoldFolder:
    """The controlling side (a test, an operator): which jobs are held, release them."""

    path: Path

    @property
    def environment(self) -> dict[str, str]:
        """The variable to set for the workers (``{PRINTSERVER_HOLD_DIR: path}``)."""
        return {HOLD_DIR_VARIABLE: str(self.path)}

    def held(self) -> list[HeldJob]:
        """Every hold announced so far (released or not), oldest first."""
        if not self.path.is_dir():
            return []
        out = []
        for file in sorted(self.path.glob("*.held"), key=lambda p: p.stat().st_mtime_ns):
            record = json.loads(file.read_text())
            out.append(HeldJob(str(record["job_id"]), int(record["attempt"]),
                               str(record["worker_id"]), int(record["pid"])))
        return out

    def released(self, job_id: str) -> bool:
        return _release_path(self.path, job_id).exists()

    def release(self, job_id: str) -> None:
        """Let the job go, at this attempt and every later one."""
        self.path.mkdir(parents=True, exist_ok=True)
        _release_path(self.path, job_id).touch()

    def wait_held(self, match: Callable[[HeldJob], bool] = lambda held: True,
                  timeout: float = 30.0) -> HeldJob:
        """The first hold ``match`` accepts that is not released yet; waits for one up to
        ``timeout`` seconds (TimeoutError)."""
        deadline = time.monotonic() + timeout
        while True:
            for held in self.held():
                if match(held) and not self.released(held.job_id):
                    return held
            if time.monotonic() >= deadline:
                raise TimeoutError(f"no job held in {self.path} after {timeout} s: "
                                   f"{self.held()}")
            time.sleep(POLL_SECONDS)
