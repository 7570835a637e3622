"""Recording the Print SCP's associations without slowing them down.

Each association collects what it does in an :class:`AssociationTrace` on its own thread: the
peer, TLS, the accepted contexts at the start, then a counter per request and, for a response
whose status was not Success, one small tuple (cheap appends, no I/O, no lock). When it ends, or
when the SCP rejects it (A-ASSOCIATE-RJ, PS3.8 9.3.4), the trace goes to the
:class:`AssociationRecorder`: a bounded queue and one background thread that turns traces into
:class:`~printserver.jobs.association_log.AssociationRecord` s and writes them to the job store,
several in one transaction when they pile up.

The SCP never waits for the recorder: :meth:`AssociationRecorder.submit` only appends to the
queue. When the job store cannot take the records (down, or slow), the writer logs that once,
keeps the newest :data:`CAPACITY` traces, drops the oldest, and tries again with a growing delay;
when a write succeeds again it says how many were lost.
"""

from __future__ import annotations

import collections
import itertools
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from pydicom.uid import UID

from printserver.jobs.association_log import (AcceptedContext, AssociationOutcome,
                                              AssociationRecord, Rejection, StatusRecord)
from printserver.jobs.errors import JobStoreError
from printserver.jobs.schema import stamp

if TYPE_CHECKING:  # pragma: no cover
    from printserver.scp.transport.association import Association, Rejection as Refusal, Response
    from printserver.scp.transport.command import Command

log = logging.getLogger(__name__)

#: non-Success responses kept per association (all are counted)
MAX_STATUSES = 100
#: traces waiting to be written, at most; beyond, the oldest is dropped
CAPACITY = 1000
#: traces written in one transaction, at most
BATCH = 200
#: seconds between two writes (traces that arrive meanwhile are written together)
WRITE_INTERVAL = 0.5
#: seconds before the first retry after a failed write; doubled up to :data:`MAX_RETRY_DELAY`
RETRY_DELAY, MAX_RETRY_DELAY = 1.0, 30.0
#: seconds :meth:`AssociationRecorder.stop` waits for the last write
STOP_TIMEOUT = 5.0

#: how the transport says an association ended (``Association._end``) → its outcome
_ENDINGS = {"released": AssociationOutcome.RELEASED,
            "aborted by the peer": AssociationOutcome.ABORTED_BY_PEER,
            "connection closed": AssociationOutcome.CONNECTION_CLOSED}


def outcome_of(how: str) -> tuple[AssociationOutcome, str]:
    """The outcome and reason of an association that ended ``how`` (the transport's words:
    ``released``, ``aborted by the peer``, ``connection closed``, ``aborted (network
    timeout)`` …): an abort by this SCP has its reason in parentheses."""
    outcome = _ENDINGS.get(how)
    if outcome is not None:
        return outcome, ""
    reason = how.removeprefix("aborted").strip().removeprefix("(").removesuffix(")")
    return AssociationOutcome.ABORTED_BY_US, reason


def _name(uid: str) -> str:
    """A UID's name as pydicom knows it, without a trailing "SOP Class" (the UID if unknown)."""
    name = UID(uid).name
    return name.removesuffix(" SOP Class")


def _when(seconds: float) -> str:
    return stamp(datetime.fromtimestamp(seconds, timezone.utc))


class AssociationTrace:
    """What one association did, collected on its thread; :meth:`record` makes the record.

    Create it with :meth:`accepted` when the association is established, or :meth:`rejected`.
    """

    __slots__ = ("started", "_clock", "calling_ae", "called_ae", "peer", "tls_version",
                 "tls_cipher", "contexts", "requests", "failures", "statuses", "ended",
                 "duration", "how", "rejection", "job_ids")

    def __init__(self, assoc: Association) -> None:
        self.started = time.time()
        self._clock = time.monotonic()
        self.calling_ae, self.called_ae = assoc.calling_ae, assoc.called_ae
        self.peer = (str(assoc.address[0]), int(assoc.address[1]))
        self.tls_version = self.tls_cipher = ""
        if isinstance(assoc.sock, ssl.SSLSocket):
            self.tls_version = assoc.sock.version() or ""
            cipher = assoc.sock.cipher()
            self.tls_cipher = cipher[0] if cipher else ""
        self.contexts: list[tuple[int, str, str]] = []
        self.requests = self.failures = 0
        self.statuses: list[tuple[float, str, str, int, str]] = []
        self.ended, self.duration, self.how = self.started, 0.0, ""
        self.rejection: Refusal | None = None
        self.job_ids: tuple[str, ...] = ()

    @classmethod
    def accepted(cls, assoc: Association) -> AssociationTrace:
        """The trace of an association just established, with its accepted contexts."""
        trace = cls(assoc)
        trace.contexts = [(int(cid), str(cx.abstract_syntax), str(cx.transfer_syntax[0]))
                          for cid, cx in sorted(assoc.contexts.items())]
        return trace

    @classmethod
    def rejected(cls, assoc: Association, rejection: Refusal) -> AssociationTrace:
        """The trace of an association the SCP rejects (A-ASSOCIATE-RJ)."""
        trace = cls(assoc)
        trace.rejection = rejection
        return trace

    def responded(self, command: Command, response: Response) -> None:
        """A request was answered (on the association's thread: a count, and an append for a
        status that was not Success)."""
        self.requests += 1
        if response.status:
            self.failures += 1
            if len(self.statuses) < MAX_STATUSES:
                self.statuses.append((
                    time.time(), command.name.removesuffix("-RQ"),
                    str(command.get("AffectedSOPClassUID") or command.get("RequestedSOPClassUID")
                        or ""),
                    int(response.status), str(response.fields.get("ErrorComment") or "")))

    def finish(self, how: str, job_ids: Sequence[str] = ()) -> AssociationTrace:
        """The association ended ``how`` (the transport's words) having queued ``job_ids``."""
        self.ended = time.time()
        self.duration = time.monotonic() - self._clock
        self.how = how
        self.job_ids = tuple(job_ids)
        return self

    def record(self, server: str = "") -> AssociationRecord:
        """The record to store (names looked up here, off the association's thread)."""
        if self.rejection is not None:
            outcome, reason = AssociationOutcome.REJECTED, self.rejection.why
            rejection = Rejection(self.rejection.result, self.rejection.source,
                                  self.rejection.reason)
        else:
            (outcome, reason), rejection = outcome_of(self.how), None
        return AssociationRecord(
            started_at=_when(self.started), ended_at=_when(self.ended),
            duration=round(self.duration, 3), server=server, calling_ae=self.calling_ae,
            called_ae=self.called_ae, peer_host=self.peer[0], peer_port=self.peer[1],
            tls_version=self.tls_version, tls_cipher=self.tls_cipher, outcome=outcome,
            reason=reason, rejection=rejection,
            contexts=tuple(AcceptedContext(cid, abstract, _name(abstract), ts, _name(ts))
                           for cid, abstract, ts in self.contexts),
            requests=self.requests, failures=self.failures,
            statuses=tuple(StatusRecord(_when(at), operation, uid, _name(uid) if uid else "",
                                        status, comment)
                           for at, operation, uid, status, comment in self.statuses),
            job_ids=self.job_ids)


class AssociationRecorder:
    """Writes association traces to the job store from a background thread (module docstring).

    Parameters
    ----------
    write
        Stores a batch of records in one transaction (``JobStore.associations.add``); raises
        :class:`~printserver.jobs.errors.JobStoreError` when the database fails.
    capacity
        Traces kept waiting at most; beyond, the oldest is dropped.
    interval
        Seconds between two writes.
    retry_delay
        Seconds before the first retry after a failed write (doubled up to
        :data:`MAX_RETRY_DELAY`).

    Attributes
    ----------
    dropped : int
        Traces dropped so far (the queue was full).
    failed_writes : int
        Writes the job store refused so far.
    """

    def __init__(self, write: Callable[[list[AssociationRecord]], None],
                 capacity: int = CAPACITY, interval: float = WRITE_INTERVAL,
                 retry_delay: float = RETRY_DELAY) -> None:
        self._write = write
        self.capacity = capacity
        self.interval = interval
        self.retry_delay = retry_delay
        self.server = socket.gethostname()
        self.dropped = self.failed_writes = 0
        self._cond = threading.Condition()
        self._queue: collections.deque[tuple[int, AssociationTrace]] = collections.deque()
        #: the batch being written (taken off the queue; put back when the write fails)
        self._writing: list[tuple[int, AssociationTrace]] = []
        self._numbers = itertools.count(1)
        self._submitted = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- any thread ------------------------------------------------------------------------------
    def submit(self, trace: AssociationTrace) -> None:
        """Queue a trace for writing; never waits (drops the oldest when full)."""
        with self._cond:
            if len(self._queue) >= self.capacity:
                self._queue.popleft()
                self.dropped += 1
            self._submitted = next(self._numbers)
            self._queue.append((self._submitted, trace))
            self._cond.notify_all()

    @property
    def pending(self) -> int:
        """Traces not written yet (queued, or in the write under way)."""
        with self._cond:
            return len(self._queue) + len(self._writing)

    def _oldest(self) -> float:
        """The number of the oldest trace not written yet (infinite: none)."""
        firsts = [batch[0][0] for batch in (self._writing, self._queue) if batch]
        return min(firsts, default=float("inf"))

    def flush(self, timeout: float) -> bool:
        """Wait until every trace submitted so far is written (or dropped); False after
        ``timeout`` seconds."""
        with self._cond:
            target = self._submitted
            return self._cond.wait_for(lambda: self._oldest() > target, timeout)

    # -- life cycle ------------------------------------------------------------------------------
    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="association-recorder",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Write what is queued (one last attempt) and stop; gives up after ``timeout``."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("associations: %d record(s) not written, the job store did not "
                            "answer within %g s", self.pending, timeout)
            self._thread = None

    # -- the writer thread -----------------------------------------------------------------------
    def _run(self) -> None:
        delay, failing, lost = self.retry_delay, False, 0
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._stop.is_set())
                if not self._queue:
                    return
                count = min(BATCH, len(self._queue))
                self._writing = [self._queue.popleft() for _ in range(count)]
                batch = self._writing
            try:
                self._write([trace.record(self.server) for _n, trace in batch])
            except JobStoreError as exc:
                self.failed_writes += 1
                with self._cond:
                    if not failing:
                        log.error("associations: records cannot be written (%s); keeping the "
                                  "newest %d in memory, dropping older ones, until the job store "
                                  "answers", exc, self.capacity)
                        failing, lost = True, self.dropped
                    self._put_back(batch)
                if self._stop.wait(delay):
                    log.warning("associations: %d record(s) not written, the job store failed",
                                self.pending)
                    return
                delay = min(2 * delay, MAX_RETRY_DELAY)
                continue
            except Exception:  # a record that cannot be written must not block the others
                log.exception("associations: %d record(s) could not be written, dropped",
                              len(batch))
            with self._cond:
                self._writing = []
                self._cond.notify_all()
            if failing:
                log.info("associations: records written again; %d dropped while the job store "
                         "failed", self.dropped - lost)
                failing, delay = False, self.retry_delay
            if not self._stop.is_set():
                self._stop.wait(self.interval)

    def _put_back(self, batch: list[tuple[int, AssociationTrace]]) -> None:
        """A batch the job store refused goes back to the front of the queue, as much of it as
        the capacity leaves room for (its newest); the rest is dropped. Holds the lock."""
        room = max(0, self.capacity - len(self._queue))
        keep = batch[len(batch) - room:] if room else []
        self.dropped += len(batch) - len(keep)
        self._queue.extendleft(reversed(keep))
        self._writing = []
        self._cond.notify_all()
