"""Send an N-EVENT-REPORT from the SCP on an open association without racing the SCU.

PS3.7 10.1.1 (N-EVENT-REPORT) and PS3.4 H.4.5 / H.4.6 (Print Job and Printer events): the SCP is
the *invoker* of the event report, on an association the SCU opened. pynetdicom's own
``Association.send_n_event_report`` takes the next DIMSE message of the association as the
response: called from any thread but the association's reactor, a request the SCU sends at that
moment (e.g. N-DELETE right after N-ACTION) is swallowed and the association aborted (pitfall
P4 of ``reference/print-management.md``). This module sends the request itself and waits for the
response **by Message ID Being Responded To**, leaving any request of the SCU queued, in order,
for the reactor; it never aborts the association: an unanswered event is dropped after the
timeout, and any answer of the SCU, also a failure such as 0110 (pitfall P16), completes it.

It is the only module of printserver that relies on pynetdicom internals, checked against
**pynetdicom 3.0.4** (``pyproject.toml`` pins ``>=3.0.2,<3.1``; the same code in 3.0.2):

* ``Association._reactor_checkpoint``: a ``threading.Event`` the reactor (``_run_reactor``)
  waits on at the top of every loop, before it takes a message off the queue. pynetdicom's own
  ``send_*`` methods ``clear()`` and ``set()`` it and only ever call ``wait()``, ``set()`` and
  ``clear()``; :func:`install_gate` replaces it with a :class:`ReactorGate`, which can tell when the
  reactor is really parked there (pynetdicom's ``_is_paused`` is also True while a handler runs,
  and is set a moment before the reactor reaches the checkpoint);
* ``Association.dimse.msg_queue``: the ``queue.Queue`` of decoded (context ID, DIMSE primitive)
  messages that the reactor serves (N-EVENT-REPORT *requests* never go there; responses do);
* ``Association.dimse.send_msg(primitive, context_id)`` and ``Association.dul.peek_next_pdu()``
  (an A-RELEASE request or an abort waiting for the reactor).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO

from pydicom.dataset import Dataset
from pydicom.uid import UID
from pynetdicom.association import Association
from pynetdicom.dimse_primitives import N_EVENT_REPORT
from pynetdicom.dsutils import encode
from pynetdicom.pdu_primitives import A_ABORT, A_P_ABORT, A_RELEASE

log = logging.getLogger(__name__)

#: how often a wait for the SCU's response looks whether the association ended meanwhile
_CHECK_INTERVAL = 0.1
#: seconds between the SCU's answer and the next message the SCP sends on the association.
#: A pynetdicom SCU answers an event report in a thread of its own, which, after the answer has
#: gone out, marks the SCU's reactor "not paused" (``Association._serve_request``); if the SCU has
#: meanwhile received our next response and paused its reactor for its next request, that late
#: write makes its ``send_*`` wait for the pause forever (seen with pynetdicom 3.0.4 as the SCU).
#: Holding our next message back a moment lets that thread finish first.
SETTLE = 0.1
#: an event not sent inside a handler goes out only (a) while a request of the SCU waits in the
#: queue (the SCU is blocked waiting for our response, the case pynetdicom SCUs handle well) or
#: (b) when the association has been quiet for QUIET seconds (the SCU is not between two
#: requests). The reactor is held at most HOLD seconds waiting for either, then let go.
QUIET = 0.5
HOLD = 0.25


class ReactorGate:
    """The reactor checkpoint of one association, which knows when the reactor waits at it.

    Same interface as the ``threading.Event`` it replaces (``set``, ``clear``, ``is_set``,
    ``wait``); :meth:`pause` closes it and returns once the reactor is parked in :meth:`wait`,
    i.e. not serving a request and not about to take one off the message queue.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._open = True
        self._parked = False

    def is_set(self) -> bool:
        return self._open

    def set(self) -> None:
        with self._cond:
            self._open = True
            self._cond.notify_all()

    def clear(self) -> None:
        with self._cond:
            self._open = False

    def wait(self, timeout: float | None = None) -> bool:
        """Called by the reactor: block while the gate is closed."""
        with self._cond:
            if not self._open:
                self._parked = True
                self._cond.notify_all()
                try:
                    self._cond.wait_for(lambda: self._open, timeout)
                finally:
                    self._parked = False
            return self._open

    def pause(self, timeout: float) -> bool:
        """Close the gate and wait until the reactor is parked; False (gate open again) if it
        did not get there within ``timeout`` seconds (a long request being served)."""
        with self._cond:
            self._open = False
            if self._cond.wait_for(lambda: self._parked and not self._open, timeout):
                return True
            self._open = True
            self._cond.notify_all()
            return False

    def resume(self) -> None:
        self.set()


def install_gate(assoc: Association) -> ReactorGate:
    """Give ``assoc`` a :class:`ReactorGate` as its reactor checkpoint.

    Call it from ``EVT_ESTABLISHED`` (the association's thread, before its reactor runs).
    """
    current = assoc._reactor_checkpoint
    if isinstance(current, ReactorGate):
        return current
    gate = ReactorGate()
    if not current.is_set():
        gate.clear()
    assoc._reactor_checkpoint = gate  # type: ignore[assignment]
    return gate


@dataclass(frozen=True)
class EventOutcome:
    """What became of one N-EVENT-REPORT.

    Attributes
    ----------
    sent : bool
        The request went out.
    status : int or None
        The Status the SCU answered (None: no answer).
    reason : str
        Why the event was not sent or not answered (empty when answered).
    busy : bool
        Not sent because the reactor was serving a request all along: try again.
    """

    sent: bool
    status: int | None = None
    reason: str = ""
    busy: bool = False

    @property
    def answered(self) -> bool:
        return self.status is not None


def ended(assoc: Association) -> str:
    """Why the association can no longer carry an event ("" while it can)."""
    if not assoc.is_established:
        return "association ended"
    pending = assoc.dul.peek_next_pdu()
    if isinstance(pending, (A_ABORT, A_P_ABORT)):
        return "association aborted"
    if isinstance(pending, A_RELEASE) and pending.result is None:
        return "the SCU asked to release the association"
    if not assoc.dul.is_alive():
        return "connection closed"
    return ""


def _context(assoc: Association, abstract_syntax: str) -> tuple[int, UID]:
    """Context ID and transfer syntax of the accepted context for ``abstract_syntax``."""
    for cx in assoc.accepted_contexts:
        if str(cx.abstract_syntax) == abstract_syntax:
            return int(cx.context_id), UID(cx.transfer_syntax[0])
    raise ValueError(f"no accepted presentation context for {abstract_syntax}")


def _await_response(assoc: Association, message_id: int, deadline: float) -> N_EVENT_REPORT | None:
    """Take the N-EVENT-REPORT-RSP answering ``message_id`` off the message queue; every other
    message stays where it is, in order, for the reactor. None when the association ended or the
    deadline passed."""
    q = assoc.dimse.msg_queue
    with q.not_empty:
        while True:
            for index, (_cx, msg) in enumerate(q.queue):
                if (isinstance(msg, N_EVENT_REPORT)
                        and msg.MessageIDBeingRespondedTo == message_id):
                    del q.queue[index]
                    return msg
            remaining = deadline - time.monotonic()
            if remaining <= 0 or ended(assoc):
                return None
            q.not_empty.wait(min(remaining, _CHECK_INTERVAL))


def _request_waiting(assoc: Association) -> bool:
    """A request of the SCU waits in the queue (the SCU is blocked on its response)."""
    queued = list(assoc.dimse.msg_queue.queue)
    return any(not isinstance(msg, N_EVENT_REPORT) for _cx, msg in queued)


def _good_moment(assoc: Association, last_activity: Callable[[], float]) -> bool:
    """With the reactor paused: wait up to :data:`HOLD` for a request of the SCU or for
    :data:`QUIET` seconds of silence on the association."""
    q = assoc.dimse.msg_queue
    until = time.monotonic() + HOLD
    with q.not_empty:
        while True:
            if _request_waiting(assoc) or time.monotonic() - last_activity() >= QUIET:
                return True
            remaining = until - time.monotonic()
            if remaining <= 0 or ended(assoc):
                return False
            q.not_empty.wait(min(remaining, 0.02))


def send_event_report(assoc: Association, class_uid: str, instance_uid: str, event_type: int,
                      information: Dataset | None, message_id: int, timeout: float,
                      context_syntax: str | None = None,
                      last_activity: Callable[[], float] | None = None) -> EventOutcome:
    """Send one N-EVENT-REPORT-RQ on ``assoc`` and wait for its response (PS3.7 10.1.1).

    From the association's own reactor thread (inside a DIMSE handler, while the SCU waits for
    the response) it is sent at once; from any other thread the reactor is first paused at its
    checkpoint (:class:`ReactorGate`), and resumed afterwards.

    Parameters
    ----------
    assoc : Association
        An acceptor association with a :class:`ReactorGate` (:func:`install_gate`).
    class_uid, instance_uid : str
        Affected SOP Class / Instance UID (e.g. Print Job and the job's UID).
    event_type : int
        Event Type ID (PS3.4 Table H.4-14 / H.4-16).
    information : Dataset or None
        Event Information.
    message_id : int
        Message ID of the request (unique among the SCP's outstanding requests).
    timeout : float
        Seconds to wait, first for the reactor to pause, then for the SCU's answer.
    context_syntax : str, optional
        Abstract syntax of the presentation context to use (the meta SOP class for Printer,
        pitfall P5); default ``class_uid``.
    last_activity : callable, optional
        ``time.monotonic()`` of the last DIMSE message on the association other than event
        reports; outside the reactor the event waits for a good moment (:data:`QUIET`).

    Returns
    -------
    EventOutcome
        Never raises for a peer that misbehaves or goes away; ValueError when no context fits.
    """
    cx_id, ts = _context(assoc, context_syntax or class_uid)
    in_reactor = threading.current_thread() is assoc
    gate = assoc._reactor_checkpoint
    if not in_reactor:
        if not isinstance(gate, ReactorGate):
            raise RuntimeError("install_gate() was not called for this association")
        if not gate.pause(timeout):
            return EventOutcome(False, reason="the association stayed busy", busy=True)
        if last_activity is not None and not _good_moment(assoc, last_activity):
            gate.resume()
            return EventOutcome(False, reason="the SCU is between two requests", busy=True)
    try:
        why = ended(assoc)
        if why:
            return EventOutcome(False, reason=why)
        req = N_EVENT_REPORT()
        req.MessageID = message_id
        req.AffectedSOPClassUID = class_uid
        req.AffectedSOPInstanceUID = instance_uid
        req.EventTypeID = event_type
        if information is not None:
            data = encode(information, ts.is_implicit_VR, ts.is_little_endian, ts.is_deflated)
            if data is None:
                raise ValueError("event information could not be encoded")
            req.EventInformation = BytesIO(data)
        deadline = time.monotonic() + timeout
        assoc.dimse.send_msg(req, cx_id)
        rsp = _await_response(assoc, message_id, deadline)
        if rsp is not None:
            time.sleep(SETTLE)
    finally:
        if not in_reactor:
            gate.resume()
    if rsp is None:
        why = ended(assoc) or f"no answer within {timeout:g} s"
        return EventOutcome(True, reason=why)
    return EventOutcome(True, status=int(rsp.Status) if rsp.Status is not None else None,
                        reason="" if rsp.Status is not None else "answer without a Status")
