"""Render workers in their own processes, for ``printserver serve``.

Rendering is CPU-bound; in separate processes it never slows the DICOM side down. The pool:

* is one *node* of the job store: it takes a lease under a new node id (host, pid, start time;
  :func:`printserver.jobs.store.node_id`) and renews it every ``workers.lease_seconds / 3``; its
  workers' ids are ``<node id>/w<slot>.<generation>``;
* at start, puts jobs a dead previous run left RENDERING / PRINTING back to QUEUED, or FAILED once
  they have been claimed ``workers.max_attempts`` times: on SQLite (one node) every such job
  (:meth:`JobStore.requeue_stale`: no worker of an earlier run can be alive); on a shared store
  (PostgreSQL) only those of nodes whose lease expired (:meth:`JobStore.requeue_orphaned`), which
  every node also does at every renewal, so that the jobs of a node that died are taken over by
  the others within about ``lease_seconds``;
* starts ``workers.count`` processes (default one per CPU; 0 renders nothing) with the
  ``spawn`` start method, each running :meth:`printserver.jobs.worker.Worker.run` with its own
  job store connection;
* watches them: a worker that dies (killed, out of memory) has its job requeued and is replaced;
* stops them on :meth:`WorkerPool.stop`: each finishes the job it is rendering (up to
  ``grace_seconds``, then it is killed and its job requeued), then the node's lease ends.

Workers ignore SIGINT (Ctrl-C reaches the whole process group; serve decides) and stop after their
current job on SIGTERM. On Linux a worker is killed by the kernel when serve dies (even by kill -9),
so that a restarted serve never finds a worker of the previous run still rendering.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from printserver.config import Config
from printserver.jobs.model import JobState
from printserver.jobs.spool import Spool
from printserver.jobs.store import JobStore, JobStoreError, node_id, open_job_store
from printserver.jobs.worker import Worker
from printserver.logs import configure_logging

log = logging.getLogger(__name__)

#: seconds between two checks that every worker process is alive
MONITOR_INTERVAL = 1.0
#: a worker dying sooner than this after its start is restarted after a growing pause (1 s … 60 s)
QUICK_DEATH_SECONDS = 10.0
_PR_SET_PDEATHSIG = 1
#: how the log names a job a dead run left behind, by the state it was put back in
_LEFT = {JobState.QUEUED: "unfinished", JobState.PRINTING: "PRINTING (followed again)"}


def _die_with_parent(parent_pid: int) -> None:
    """Ask Linux to SIGKILL this process when its parent dies; exit if it already has."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
                log.warning("prctl(PR_SET_PDEATHSIG) failed: errno %d", ctypes.get_errno())
        except (OSError, AttributeError) as exc:
            log.warning("prctl(PR_SET_PDEATHSIG) unavailable: %s", exc)
    if os.getppid() != parent_pid:
        os._exit(0)


@dataclass
class _StopSignal:
    """Stop when serve says so (it closes its end of the stop pipe), on SIGTERM, or when serve is
    gone.

    A pipe rather than a ``multiprocessing.Event``: a worker killed while it waits on an Event
    (kill -9, out of memory) stays counted as a sleeper of the Event's condition, and serve's
    ``Event.set()`` at stop then waits for it to wake, forever. Nothing a worker does to its end of
    a pipe can block serve.
    """

    pipe: Any  # multiprocessing Connection, the read end: EOF once serve closed the write end
    parent_pid: int
    local: threading.Event = field(default_factory=threading.Event)

    def is_set(self) -> bool:
        return (self.local.is_set() or os.getppid() != self.parent_pid
                or self._closed(0.0))

    def wait(self, timeout: float) -> bool:
        if not self.local.is_set():
            self._closed(timeout)
        return self.is_set()

    def _closed(self, timeout: float) -> bool:
        try:
            return bool(self.pipe.poll(timeout))  # serve never writes: readable means EOF
        except (EOFError, OSError):
            return True


def worker_process_main(config: Config, worker_id: str, stop: Any, parent_pid: int,
                        log_level: int) -> None:
    """Entry point of a worker process (spawned: everything arrives pickled)."""
    configure_logging(1 if log_level <= logging.DEBUG else 0, log_level >= logging.ERROR)
    _die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stop_signal = _StopSignal(stop, parent_pid)
    signal.signal(signal.SIGTERM, lambda _s, _f: stop_signal.local.set())
    store = open_job_store(config)
    try:
        Worker(config, store, Spool(config.spool_dir), worker_id).run(stop_signal)
    finally:
        store.close()


@dataclass
class _Slot:
    number: int
    generation: int = 0
    process: Any = None
    worker_id: str = ""
    started: float = 0.0
    #: deaths in a row soon after starting, for the back-off before the next start
    quick_deaths: int = 0
    next_start: float = 0.0


class WorkerPool:
    """The worker processes of one ``printserver serve``.

    Parameters
    ----------
    config
        ``config.workers`` gives the count, poll interval and attempts.
    grace_seconds
        How long :meth:`stop` lets a worker finish its current job before killing it.
    """

    def __init__(self, config: Config, grace_seconds: float = 10.0) -> None:
        self.config = config
        self.grace_seconds = grace_seconds
        self._ctx = multiprocessing.get_context("spawn")
        #: workers wait on the read end; closing the write end stops them (see _StopSignal)
        self._stop_reader, self._stop_writer = self._ctx.Pipe(duplex=False)
        self._stopping = threading.Event()
        self._monitor_done = threading.Event()
        self._lock = threading.Lock()
        self._slots: list[_Slot] = []
        self._monitor: threading.Thread | None = None
        self.node_id = node_id()
        self._next_renewal = 0.0

    @property
    def workers(self) -> dict[str, int | None]:
        """Worker id (as recorded in ``claimed_by``) → process id, of the current workers."""
        return {s.worker_id: s.process.pid for s in self._slots}

    def start(self) -> None:
        """Take the node's lease, requeue what dead runs left unfinished, start the workers."""
        workers = self.config.workers
        count = workers.processes
        with open_job_store(self.config) as store:
            if count:  # a node without workers holds no jobs: no lease
                store.heartbeat(self.node_id, workers.lease_seconds)
                self._next_renewal = time.monotonic() + workers.lease_seconds / 3
            if store.shared and count:
                log.info("node %s: lease of %.0f s taken in the shared job store", self.node_id,
                         workers.lease_seconds)
                left = store.requeue_orphaned(workers.max_attempts)
            else:
                left = store.requeue_stale(max_attempts=workers.max_attempts)
            for job in left:
                log.warning("job %s left %s by a previous run: %s", job.job_id,
                            _LEFT.get(job.state, job.state.value), job.message)
        if count == 0:
            log.info("workers.count = 0: print jobs are queued, not rendered")
            return
        self._slots = [_Slot(n) for n in range(1, count + 1)]
        for slot in self._slots:
            self._spawn(slot)
        # the monitor starts replacement workers, so it lives until they are all stopped (on
        # Linux a worker dies with the thread that started it)
        self._monitor = threading.Thread(target=self._watch, name="worker-monitor", daemon=True)
        self._monitor.start()
        log.info("%d render worker process(es) started", count)

    def _spawn(self, slot: _Slot) -> None:
        slot.generation += 1
        slot.worker_id = f"{self.node_id}/w{slot.number}.{slot.generation}"
        slot.process = self._ctx.Process(
            target=worker_process_main, name=f"printserver-worker-{slot.number}",
            args=(self.config, slot.worker_id, self._stop_reader, os.getpid(),
                  logging.getLogger().getEffectiveLevel()))
        slot.process.start()
        slot.started = time.monotonic()

    def _watch(self) -> None:
        store: JobStore | None = None
        try:  # the lease is renewed until the workers have stopped, their last jobs included
            while not self._monitor_done.wait(MONITOR_INTERVAL):
                if not self._stopping.is_set():
                    with self._lock:  # stop() does not begin while a replacement is started
                        self._replace_dead()
                if time.monotonic() >= self._next_renewal:
                    store = self._renew(store)
        finally:
            if store is not None:
                store.close()

    def _renew(self, store: JobStore | None) -> JobStore | None:
        """Renew the node's lease; on a shared store, requeue the jobs of expired nodes."""
        workers = self.config.workers
        try:
            store = store or open_job_store(self.config)
            if not store.heartbeat(self.node_id, workers.lease_seconds):
                log.error("node %s: its lease had expired (stalled longer than "
                          "workers.lease_seconds = %.0f s?); the jobs it held may have been "
                          "requeued by other nodes", self.node_id, workers.lease_seconds)
            self._next_renewal = time.monotonic() + workers.lease_seconds / 3
            if store.shared:
                for job in store.requeue_orphaned(workers.max_attempts):
                    log.warning("job %s taken over from a node whose lease expired: %s: %s",
                                job.job_id, job.state.value, job.message)
        except JobStoreError as exc:
            log.error("node %s: could not renew its lease: %s", self.node_id, exc)
            self._next_renewal = time.monotonic() + 1.0
        return store

    def _replace_dead(self) -> None:
        """Requeue the jobs of dead workers and start others (after a back-off if they die
        right after starting)."""
        for slot in self._slots:
            if self._stopping.is_set() or slot.process.is_alive():
                continue
            now = time.monotonic()
            if slot.next_start == 0.0:  # just found dead
                log.error("worker %s died (exit code %s); requeueing its job",
                          slot.worker_id, slot.process.exitcode)
                self._requeue([slot.worker_id])
                quick = now - slot.started < QUICK_DEATH_SECONDS
                slot.quick_deaths = slot.quick_deaths + 1 if quick else 0
                slot.next_start = now + min(60.0, 2.0 ** slot.quick_deaths - 1)
            if now >= slot.next_start:
                slot.next_start = 0.0
                self._spawn(slot)
                log.info("worker %s started in place of the dead one", slot.worker_id)

    def _requeue(self, worker_ids: list[str]) -> None:
        try:
            with open_job_store(self.config) as store:
                for job in store.requeue_stale(worker_ids, self.config.workers.max_attempts):
                    log.warning("job %s: %s: %s", job.job_id, job.state.value, job.message)
        except JobStoreError as exc:
            log.error("could not requeue the jobs of workers %s: %s", ", ".join(worker_ids), exc)

    def stop(self) -> None:
        """Let every worker finish its current job (up to ``grace_seconds``), then end them."""
        with self._lock:
            self._stopping.set()
            self._stop_writer.close()
        deadline = time.monotonic() + self.grace_seconds
        killed = []
        for slot in self._slots:
            slot.process.join(max(0.0, deadline - time.monotonic()))
            if slot.process.is_alive():
                log.warning("worker %s still busy after %.0f s: killed, its job requeued",
                            slot.worker_id, self.grace_seconds)
                slot.process.kill()
                slot.process.join(5)
                killed.append(slot.worker_id)
        if killed:
            self._requeue(killed)
        self._monitor_done.set()
        if self._monitor is not None:
            self._monitor.join(5)
        if self._slots:
            try:
                with open_job_store(self.config) as store:
                    store.leave(self.node_id)
            except JobStoreError as exc:  # the lease expires by itself
                log.error("node %s: could not end its lease: %s", self.node_id, exc)
        if self._slots:
            log.info("render workers stopped")
        self._slots = []
