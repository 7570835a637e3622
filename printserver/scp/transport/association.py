"""One association, acceptor side: the PS3.8 state machine of :mod:`.fsm` and its actions.

PS3.8 7.1 (A-ASSOCIATE), 7.2 (A-RELEASE), 7.3-7.4 (A-ABORT, A-P-ABORT), 9.1.5 (ARTIM), 9.2 (the
state machine) and 9.3 (PDUs); PS3.7 9.1 (status, message IDs) and 10.1.1 (N-EVENT-REPORT, which
here the SCP invokes).

Everything happens on the association's own thread. What happens becomes an event of PS3.8
Table 9-10: a PDU read (Evt3, 4, 6, 10, 12, 13, 16; Evt19 when it cannot be decoded), the
connection closing or failing under a send (Evt17), the ARTIM timer running out (Evt18), and the
service user's primitives: its answer to the A-ASSOCIATE indication (Evt7 / Evt8), each response
or event report it sends (Evt9), its answer to the A-RELEASE indication (Evt14) and an A-ABORT it
asks for (Evt15: network timeout, server stopping). :meth:`Association._fire` looks the
(state, event) pair up in :data:`DISPATCH`, built from :data:`.fsm.TRANSITIONS`, and runs the
action's method; nothing else changes the state.

Waits block in ``poll`` on the socket and a wake-up socket pair (events posted by another thread
with :meth:`~Association.post_event`, :meth:`~Association.abort`), until the deadline of the
timer that runs: ARTIM in Sta2 and Sta13, the idle network timeout and an event's quiet time in
Sta6; nothing polls. A request is decoded, handed to the :class:`ServiceUser` and answered before
the next PDU is read, so the per-association print state needs no lock.

N-EVENT-REPORTs (PS3.4 H.4.5.1, H.4.6.1) go out on this same thread, never racing a request of
the SCU: from inside a handler at once (the SCU waits for that request's response), otherwise
just before the next response (ditto) or once the association has been quiet for :data:`QUIET`
seconds. While waiting for the SCU's answer, requests it sends meanwhile are kept, in order, and
served afterwards. An unanswered event is dropped after the DIMSE timeout; the association is
never aborted for it.

A send is bounded by the transfer timeout: a peer that does not take a PDU within it (it stopped
reading) has its connection closed, Evt17; :meth:`~Association.close_transport` does the same
from another thread, for a server that stops.
"""

from __future__ import annotations

import collections
import logging
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRBigEndian, ImplicitVRLittleEndian
from pynetdicom.pdu_primitives import (A_ASSOCIATE, ImplementationClassUIDNotification,
                                       ImplementationVersionNameNotification,
                                       MaximumLengthNotification, SCP_SCU_RoleSelectionNegotiation)
from pynetdicom.presentation import PresentationContext, negotiate_as_acceptor

from printserver.scp.transport import pdu as P
from printserver.scp.transport.command import (C_CANCEL, C_ECHO, N_ACTION, N_CREATE, N_DELETE,
                                               N_EVENT_REPORT, N_GET, N_SET, NO_DATA_SET,
                                               RESPONSE, Command, encode_command)
from printserver.scp.transport.fsm import ACTIONS, TRANSITIONS, Event, State, next_state
from printserver.scp.transport.message import (Message, MessageAssembler, decode_data_set,
                                               encode_data_set, fragments)
from printserver.vocabulary import Status

log = logging.getLogger(__name__)

#: DICOM Application Context Name (PS3.7 A.2.1)
APPLICATION_CONTEXT = "1.2.840.10008.3.1.1.1"
#: Command Data Set Type when a data set follows (any value but 0x0101, PS3.7 E.1)
DATA_SET_PRESENT = 0x0001
#: largest A-ASSOCIATE-RQ / other non-data PDU read (a generous bound on memory)
MAX_CONTROL_PDU = 1 << 20
#: an event not sent inside a handler waits for a response to precede or for this many quiet
#: seconds: the SCU is then not between two requests of a sequence (a protocol choice, see
#: docs/conformance.md 4.8, not a pause: the association's thread waits for the socket)
QUIET = 0.5
#: the ARTIM timer after our last PDU (A-ASSOCIATE-RJ, A-RELEASE-RP, A-ABORT): seconds, and
#: bytes, read on in Sta13 waiting for the peer to close the connection (PS3.8 9.1.5)
LINGER, MAX_LINGER_BYTES = 5.0, 4 << 20
#: once the server stops: seconds a connection may still wait in Sta13 for its peer to close
#: (a connection still in Sta2 is closed at once: its ARTIM timer expires)
STOP_LINGER = 1.0
#: why an event was not sent when its association ended first
ENDED = "association ended"
#: the DIMSE services the :class:`ServiceUser` answers (PS3.7 10)
N_SERVICES = frozenset({N_GET, N_SET, N_ACTION, N_CREATE, N_DELETE})

STA1, STA2, STA3, STA6, STA8, STA13 = (State.STA1, State.STA2, State.STA3, State.STA6,
                                       State.STA8, State.STA13)
EVT5, EVT6, EVT7, EVT8, EVT9, EVT10 = (Event.EVT5, Event.EVT6, Event.EVT7, Event.EVT8,
                                       Event.EVT9, Event.EVT10)
EVT12, EVT14, EVT15, EVT17, EVT18, EVT19 = (Event.EVT12, Event.EVT14, Event.EVT15,
                                            Event.EVT17, Event.EVT18, Event.EVT19)
#: the event each PDU type is when it is read (PS3.8 Table 9-10)
PDU_EVENTS = {P.ASSOCIATE_RQ: EVT6, P.ASSOCIATE_AC: Event.EVT3, P.ASSOCIATE_RJ: Event.EVT4,
              P.P_DATA_TF: EVT10, P.RELEASE_RQ: EVT12, P.RELEASE_RP: Event.EVT13,
              P.ABORT: Event.EVT16}
#: states in which the service user still answers requests (Sta8: a release was asked for)
_ANSWERING = frozenset({STA6, STA8})


@dataclass(frozen=True)
class Rejection:
    """A-ASSOCIATE-RJ result, source and reason (PS3.8 Table 9-21), and why, for the log."""

    result: int
    source: int
    reason: int
    why: str


@dataclass
class Request:
    """A DIMSE request for the service user: command set, decoded data set, its context."""

    command: Command
    data_set: Dataset | None
    context: PresentationContext
    association: Association

    @property
    def big_endian(self) -> bool:
        return self.context.transfer_syntax[0] == ExplicitVRBigEndian


@dataclass
class Response:
    """What the service user answers: Status, further command elements (Error Comment,
    Offending Element, Attribute Identifier List, Affected SOP Instance UID...) and a data set."""

    status: int = 0x0000
    fields: dict[str, object] = field(default_factory=dict)
    data_set: Dataset | None = None
    #: work to do once the response has left (while the SCU prepares its next request)
    after: Callable[[], None] | None = None


@dataclass(frozen=True)
class EventReport:
    """An N-EVENT-REPORT to send (PS3.7 10.1.1): Affected SOP Class / Instance, Event Type ID,
    Event Information, and the abstract syntax of the context to send it on."""

    class_uid: str
    instance_uid: str
    event_type: int
    information: Dataset | None
    context_syntax: str
    description: str = ""

    def __str__(self) -> str:
        return self.description or f"event {self.event_type} of {self.instance_uid}"


@dataclass(frozen=True)
class EventOutcome:
    """What became of an event: sent, the Status answered (None: none) and why not."""

    sent: bool
    status: int | None = None
    reason: str = ""

    @property
    def answered(self) -> bool:
        return self.status is not None


class ServiceUser(Protocol):
    """What the association calls (all on the association's thread)."""

    def on_requested(self, request: A_ASSOCIATE, address: tuple[str, int]) -> Rejection | None: ...

    def on_rejected(self, assoc: Association, rejection: Rejection) -> None:
        """The association is being rejected, by the user or the provider (A-ASSOCIATE-RJ)."""

    def on_established(self, assoc: Association) -> None: ...

    def on_request(self, request: Request) -> Response: ...

    def on_responded(self, assoc: Association, command: Command, response: Response) -> None:
        """A request was answered (whoever answered it: the user, or the association for a
        service it does not offer or a data set it cannot decode); must be quick."""

    def on_ended(self, assoc: Association, how: str) -> None: ...


@dataclass(frozen=True)
class AssociationSettings:
    """Parameters every association of a listener shares.

    Attributes
    ----------
    acse_timeout : float
        The ARTIM timer while the A-ASSOCIATE-RQ is awaited (Sta2).
    network_timeout : float
        Seconds an established association may stay without a PDU (0: no limit); then the
        SCP aborts it.
    dimse_timeout : float
        Seconds an N-EVENT-REPORT waits for its answer.
    transfer_timeout : float
        Seconds a PDU may stall on the wire: a send the peer does not take (it stopped
        reading: the connection is closed), a PDU whose rest does not come (A-ABORT).
    event_settle : float
        Seconds of silence after the SCU answered an event (0: none), for SCUs that need it
        (``[dicom] event_settle_seconds``).
    """

    contexts: list[PresentationContext]
    max_pdu: int
    acse_timeout: float
    network_timeout: float
    dimse_timeout: float
    max_data_set: int
    implementation_uid: str
    implementation_version: str
    transfer_timeout: float = 30.0
    event_settle: float = 0.0


class TransportFailed(Exception):
    """The connection failed under a send: the peer reset it, or did not take a PDU within the
    transfer timeout. The stream is no longer framed; the Upper Layer sees Evt17."""


class UndefinedTransition(RuntimeError):
    """An event in a state whose cell of PS3.8 Table 9-10 is blank, or an action only a
    requestor takes: a bug of this acceptor."""


class Association:
    """One association with a Print SCU, served by :meth:`run` on its own thread.

    Attributes
    ----------
    ul_state : State
        The Upper Layer state (PS3.8 Sta1 ... Sta13); only :meth:`_fire` changes it.
    calling_ae, called_ae : str
    address : tuple
        The peer's (host, port).
    contexts : dict
        Accepted presentation contexts by ID.
    state : object
        The service user's per-association state (set in ``on_established``).
    sending_since : float or None
        ``time.monotonic()`` when the send under way began; None when nothing is being sent.
    """

    def __init__(self, sock: socket.socket, address: tuple[str, int], user: ServiceUser,
                 settings: AssociationSettings, ssl_context: ssl.SSLContext | None = None,
                 admit: Callable[[Association], bool] | None = None,
                 release: Callable[[Association], None] | None = None) -> None:
        self.sock = sock
        self.address = address
        self.user = user
        self.settings = settings
        self.ssl_context = ssl_context
        self.admit = admit
        self.release = release
        self.ul_state = STA1
        self.calling_ae = ""
        self.called_ae = ""
        self.contexts: dict[int, PresentationContext] = {}
        self.peer_max_pdu = 0
        self.state: object | None = None
        self.last_activity = time.monotonic()
        self.sending_since: float | None = None
        self.thread: threading.Thread | None = None
        #: counted against the listener's association limit
        self.counted = False
        self._reader = P.PDUReader()
        self._assembler = MessageAssembler(settings.max_data_set)
        self._backlog: collections.deque[Message] = collections.deque()
        self._outbox: collections.deque[tuple[EventReport, Callable | None]] = collections.deque()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_w.setblocking(False)
        self._wake_r.setblocking(False)
        self._poller = select.poll()
        self._message_id = 0
        #: the A-ASSOCIATE-RQ between its indication (AE-6) and the user's answer (Sta3)
        self._rq: tuple[P.PDU, A_ASSOCIATE] | None = None
        #: deadline of the ARTIM timer (monotonic seconds), None when it does not run
        self._artim: float | None = None
        #: why the local user asked for an A-ABORT (any thread), and when
        self._abort, self._abort_at = "", 0.0
        #: how the association ended (first word wins), and whether on_established ran
        self._how, self._told = "", False
        #: our A-ABORT is out and our sending side shut; the peer's PDU boundaries are known
        self._half_closed, self._framed = False, True
        #: bytes read in Sta13
        self._lingered = 0
        #: Message ID of the event whose answer is awaited, and that answer once read
        self._awaiting: int | None = None
        self._answer: Message | None = None
        self._transport_lock = threading.Lock()
        self._closed = False

    # -- public, any thread ----------------------------------------------------------------------
    def is_alive(self) -> bool:
        """The association may still send events: established (the user was told), not
        ended, no A-ABORT asked for."""
        return (self._told and not self._how and not self._abort and self.thread is not None
                and self.thread.is_alive())

    def post_event(self, event: EventReport,
                   done: Callable[[EventReport, EventOutcome], None] | None = None) -> None:
        """Queue ``event`` for this association; ``done`` is called with its outcome (on the
        association's thread). Events still queued when the association ends are dropped."""
        self._outbox.append((event, done))
        self._wake()

    def abort(self, how: str = "aborted (server stopping)") -> None:
        """Ask for an A-ABORT from any thread (the server stops): Evt15 in an association,
        ARTIM running out at once in Sta2, a short ARTIM in Sta13 (:data:`STOP_LINGER`)."""
        if not self._abort:
            self._abort_at = time.monotonic()
            self._abort = how
        self._wake()

    def close_transport(self) -> None:
        """Shut the connection down from any thread: a send or read under way fails at once
        (Evt17). For a peer that does not read, after :meth:`abort` had its chance."""
        with self._transport_lock:
            if self._closed:
                return
            try:  # the plain socket's shutdown, also under TLS: nothing of the TLS state
                socket.socket.shutdown(self.sock, socket.SHUT_RDWR)
            except OSError:
                pass

    def accepted(self, abstract_syntax: str) -> PresentationContext | None:
        """The accepted context for ``abstract_syntax``, if any."""
        return next((cx for cx in self.contexts.values()
                     if str(cx.abstract_syntax) == abstract_syntax), None)

    # -- the association's thread: the machine -------------------------------------------------
    def run(self) -> None:
        """Serve the connection from Evt5 until the machine is back in Sta1; never raises."""
        try:
            if self.ssl_context is not None and not self._handshake():
                return
            self._poller.register(self.sock, select.POLLIN)
            self._poller.register(self._wake_r, select.POLLIN)
            self._fire(EVT5)
            while self.ul_state is not STA1:
                try:
                    if self._backlog and self.ul_state in _ANSWERING:
                        self._handle(self._backlog.popleft())
                        continue
                    step = self._next_event()
                    if step is not None:
                        self._fire(*step)
                except TransportFailed as exc:
                    self._fire(EVT17, str(exc))
        except Exception:  # a bug must not take the listener down with it
            log.exception("association from %s (%s) failed in %s", self.calling_ae or "?",
                          self.address[0], self.ul_state)
            self._end("aborted (internal error)")
            if self.ul_state not in (STA1, STA2, STA13):
                try:  # outside the table: the machine's state is not to be trusted
                    self.sock.sendall(P.abort_pdu(P.ABORT_PROVIDER, P.REASON_NOT_SPECIFIED))
                except OSError:
                    pass
        finally:
            self.ul_state = STA1
            if self._told:
                try:
                    self.user.on_ended(self, self._how or "aborted")
                except Exception:
                    log.exception("association end handler failed")
            self._drop_events()
            self._close()

    def _fire(self, event: Event, arg: object = None) -> None:
        """Run the action PS3.8 Table 9-10 gives ``event`` in the current state, and move to
        the action's next state (AE-6, which has two, returns the one it chose)."""
        method, next_state_ = DISPATCH[self.ul_state, event]
        chosen = method(self, event, arg)
        self.ul_state = next_state_ if chosen is None else chosen

    def _next_event(self) -> tuple[Event, object] | None:
        """Wait for what happens next in this state; None when nothing needs an action (a
        wake-up, a timer to look at again, events sent)."""
        state = self.ul_state
        if state is STA6:
            return self._next_in_sta6()
        if state is STA8:  # the backlog is answered: the user answers the A-RELEASE too
            return (EVT15, self._abort) if self._abort else (EVT14, None)
        if state is STA3:
            return self._associate_response()
        return self._next_under_artim()

    def _next_in_sta6(self) -> tuple[Event, object] | None:
        s = self.settings
        if self._abort:
            return EVT15, self._abort
        now = time.monotonic()
        timeout = None
        if self._outbox and self._assembler.idle:
            wait = self.last_activity + QUIET - now
            if wait <= 0:
                self._send_events()
                return None
            timeout = wait
        if s.network_timeout:
            idle = self.last_activity + s.network_timeout - now
            if idle <= 0:
                log.warning("association from %s (%s): no PDU for %g s, aborted",
                            self.calling_ae, self.address[0], s.network_timeout)
                return EVT15, "aborted (network timeout)"
            timeout = idle if timeout is None else min(timeout, idle)
        return self._read_event() if self._wait(timeout) else None

    def _next_under_artim(self) -> tuple[Event, object] | None:
        """Sta2 and Sta13: a PDU, the connection closing, or the ARTIM timer running out."""
        assert self._artim is not None, f"ARTIM stopped in {self.ul_state}"
        deadline = self._artim
        if self._abort:  # the server stops: no association in Sta2, a short wait in Sta13
            linger = 0.0 if self.ul_state is STA2 else STOP_LINGER
            deadline = min(deadline, self._abort_at + linger)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return EVT18, None
        return self._read_event() if self._wait(remaining) else None

    def _associate_response(self) -> tuple[Event, object]:
        """Sta3: the service user's answer to the A-ASSOCIATE indication, Evt7 or Evt8."""
        assert self._rq is not None
        rq = self._rq[1]
        if str(rq.application_context_name) != APPLICATION_CONTEXT:
            return EVT8, Rejection(1, 1, 2, f"application context {rq.application_context_name}")
        rejection = self.user.on_requested(rq, self.address)
        return (EVT8, rejection) if rejection is not None else (EVT7, None)

    def _read_event(self) -> tuple[Event, object] | None:
        """Read what the socket has and name its event: the PDU's (decoded as it is read, as
        a DUL does: an A-ASSOCIATE-RQ in Sta2, the presentation data values of a P-DATA-TF in
        Sta6), Evt19 when it cannot be decoded, Evt17 when the connection closed."""
        state = self.ul_state
        try:
            if state is STA13:
                return self._read_ignored()
            pdu = self._reader.read(self.sock, self._max_read() if state is STA6
                                    else MAX_CONTROL_PDU)
        except P.ProtocolError as exc:  # unknown type, or too long: its body is left unread
            self._framed = False
            return EVT19, exc
        except socket.timeout:
            self._framed = False
            return self._stalled()
        except (P.ConnectionClosed, OSError) as exc:
            return EVT17, f"connection closed by the peer ({exc})"
        self.last_activity = time.monotonic()
        event = PDU_EVENTS[pdu.type]
        try:
            if event is EVT10 and state is STA6:
                return event, self._messages(pdu)
            if event is EVT6 and state is STA2:
                return event, (pdu, P.decode_associate_rq(pdu))
            if event is EVT12 and not self._assembler.idle:
                raise P.ProtocolError("A-RELEASE-RQ in the middle of a message",
                                      P.REASON_UNEXPECTED_PDU)
        except P.ProtocolError as exc:
            return EVT19, exc
        return event, pdu

    def _stalled(self) -> tuple[Event, object]:
        """A PDU began but its rest did not come within the socket's timeout."""
        if self.ul_state is STA6:
            log.warning("association from %s (%s): a PDU stalled for %g s, aborted",
                        self.calling_ae, self.address[0], self.settings.transfer_timeout)
            return EVT15, "aborted (PDU stalled)"
        return EVT18, None  # Sta2, Sta13: the ARTIM timer bounds the wait

    def _read_ignored(self) -> tuple[Event, object] | None:
        """Sta13: read the peer's PDUs only to see what they are (their bodies are dropped);
        once the stream's framing is lost, bytes are dropped as they come. Beyond
        :data:`MAX_LINGER_BYTES` the wait ends as if ARTIM ran out."""
        if not self._framed:
            n = len(self.sock.recv(65536))
            if n == 0:
                return EVT17, "connection closed by the peer"
            self._lingered += n
            return (EVT18, None) if self._lingered > MAX_LINGER_BYTES else None
        try:
            pdu_type, length = P.read_header(self.sock, 0xFFFFFFFF)  # the budget decides
        except P.ProtocolError as exc:
            self._framed = False
            return EVT19, exc
        self._lingered += 6 + length
        if self._lingered > MAX_LINGER_BYTES:
            return EVT18, None
        P.discard(self.sock, length)
        return PDU_EVENTS[pdu_type], None

    def _messages(self, pdu: P.PDU) -> list[Message]:
        """The DIMSE messages a P-DATA-TF completes (PS3.8 9.3.5, Annex E)."""
        messages = []
        for context_id, control, fragment in P.pdv_items(pdu.data):
            if context_id not in self.contexts:
                raise P.ProtocolError(f"message on presentation context {context_id}, which "
                                      "was not accepted", P.REASON_UNEXPECTED_PARAMETER)
            message = self._assembler.add(context_id, control, fragment)
            if message is not None:
                messages.append(message)
        return messages

    def _max_read(self) -> int:
        max_pdu = self.settings.max_pdu
        # PS3.8 D.1: Maximum Length Received bounds the PDV list of a P-DATA-TF; 0 = no limit,
        # but still no PDU larger than the largest data set the association may send
        if max_pdu:
            return max(max_pdu + 6, MAX_CONTROL_PDU)
        return min(0xFFFFFFFF, self.settings.max_data_set + MAX_CONTROL_PDU)

    # -- actions (PS3.8 Tables 9-6 to 9-9), bound to Table 9-10 by DISPATCH -------------------
    def _ae_5(self, event: Event, arg: object) -> None:
        """Transport connection response; start ARTIM: the A-ASSOCIATE-RQ is due."""
        self._start_artim(self.settings.acse_timeout)

    def _ae_6(self, event: Event, arg: object) -> State:
        """Stop ARTIM; the provider's checks (protocol version, the association limit), then
        the A-ASSOCIATE indication (Sta3), or A-ASSOCIATE-RJ and ARTIM (Sta13)."""
        self._stop_artim()
        pdu, rq = arg  # type: ignore[misc]
        self.calling_ae = rq.calling_ae_title.strip()
        self.called_ae = rq.called_ae_title.strip()
        rejection = None
        if len(pdu.data) < 2 or not pdu.data[1] & 0x01:
            rejection = Rejection(1, 2, 2, "protocol version not supported")
        elif self.admit is not None and not self.admit(self):
            rejection = Rejection(2, 3, 2, "too many associations (max_associations)")
        if rejection is not None:
            self._reject(rejection)
            return STA13
        self._rq = (pdu, rq)
        return STA3

    def _ae_7(self, event: Event, arg: object) -> None:
        """Send A-ASSOCIATE-AC: the contexts as negotiated; the user learns of the association."""
        assert self._rq is not None
        rq, self._rq = self._rq[1], None
        s = self.settings
        roles = {item.sop_class_uid: (item.scu_role, item.scp_role)
                 for item in rq.user_information
                 if isinstance(item, SCP_SCU_RoleSelectionNegotiation)}
        result, ac_roles = negotiate_as_acceptor(rq.presentation_context_definition_list,
                                                 s.contexts, roles)
        self.contexts = {int(cx.context_id): cx for cx in result if cx.result == 0x00}
        self.peer_max_pdu = int(rq.maximum_length_received or 0)
        self._send(P.associate_ac(self._accept_primitive(rq, result, ac_roles)))
        self.last_activity = time.monotonic()
        self.sock.settimeout(s.transfer_timeout or None)
        self._told = True
        self.user.on_established(self)

    def _ae_8(self, event: Event, arg: object) -> None:
        """Send A-ASSOCIATE-RJ (the user's rejection) and start ARTIM."""
        self._rq = None
        self._reject(arg)  # type: ignore[arg-type]

    def _reject(self, rejection: Rejection) -> None:
        log.warning("association from %s (%s) to %s rejected: %s", self.calling_ae,
                    self.address[0], self.called_ae, rejection.why)
        try:
            self.user.on_rejected(self, rejection)
        except Exception:
            log.exception("association rejection handler failed")
        if self.counted and self.release is not None:
            self.release(self)  # a rejected association holds no place while Sta13 lasts
        self._send(P.associate_rj(rejection.result, rejection.source, rejection.reason))
        self._start_artim(LINGER)

    def _p_data(self, event: Event, arg: object) -> None:
        """DT-1 / AR-7: send the P-DATA-TF PDUs of a response or an event report."""
        self._send(arg)  # type: ignore[arg-type]

    def _dt_2(self, event: Event, arg: object) -> None:
        """P-DATA indication: completed messages go to the user, in order (an awaited event
        answer to the event's sender)."""
        for message in arg:  # type: ignore[attr-defined]
            command = message.command
            if self._awaiting is not None and command.field == N_EVENT_REPORT | RESPONSE \
                    and command.get("MessageIDBeingRespondedTo") == self._awaiting:
                self._answer = message
            else:
                self._backlog.append(message)

    def _ar_2(self, event: Event, arg: object) -> None:
        """A-RELEASE indication: requests already received are answered first (Sta8)."""
        log.debug("association from %s: A-RELEASE-RQ", self.calling_ae)

    def _ar_4(self, event: Event, arg: object) -> None:
        """Send A-RELEASE-RP and start ARTIM: the requestor closes the connection."""
        self._send(P.RELEASE_RP_BYTES)
        self._end("released")
        self._start_artim(LINGER)

    def _stop_timer(self, event: Event, arg: object) -> None:
        """AR-5 / AA-5: stop ARTIM (the connection closed)."""
        self._stop_artim()

    def _aa_1(self, event: Event, arg: object) -> None:
        """Send A-ABORT and start ARTIM. From the service user (Evt15: network timeout,
        server stopping) its source is the service user; a PDU the provider refuses before
        any association exists (Sta2) gets the provider's source and reason, as with AA-8,
        so that the peer learns why."""
        if event is EVT15:
            self._end(str(arg))
            self._send_abort(P.ABORT_USER, 0x00)
        else:
            log.warning("connection from %s: %s before an association, aborted",
                        self.address[0], self._refusal(event, arg))
            self._send_abort(P.ABORT_PROVIDER, self._reason(arg))
        self._start_artim(LINGER)

    def _aa_2(self, event: Event, arg: object) -> None:
        """Stop ARTIM; close the connection (its ARTIM ran out, or the peer aborted)."""
        self._stop_artim()
        if event is EVT18 and self.ul_state is STA2 and not self._abort:
            log.info("connection from %s sent no A-ASSOCIATE-RQ within %g s", self.address[0],
                     self.settings.acse_timeout)
        self._shutdown()

    def _aa_3(self, event: Event, arg: object) -> None:
        """A-ABORT from the peer: indication, close."""
        log.debug("association from %s: A-ABORT from the peer", self.calling_ae)
        self._end("aborted by the peer")
        self._shutdown()

    def _aa_4(self, event: Event, arg: object) -> None:
        """A-P-ABORT indication: the connection closed or failed."""
        log.info("association from %s (%s): %s", self.calling_ae or "?", self.address[0], arg)
        self._end("connection closed")

    def _aa_6(self, event: Event, arg: object) -> None:
        """Ignore the PDU (Sta13)."""

    def _aa_7(self, event: Event, arg: object) -> None:
        """Send A-ABORT (Sta13), unless ours is already out and our side shut."""
        if not self._half_closed:
            self._send_abort(P.ABORT_PROVIDER, self._reason(arg))

    def _aa_8(self, event: Event, arg: object) -> None:
        """Send A-ABORT (service provider, with the reason), A-P-ABORT indication, ARTIM."""
        log.warning("association from %s (%s): protocol error, aborted: %s",
                    self.calling_ae or "?", self.address[0], self._refusal(event, arg))
        self._end("aborted (protocol error)")
        self._send_abort(P.ABORT_PROVIDER, self._reason(arg))
        self._start_artim(LINGER)

    def _not_taken(self, event: Event, arg: object) -> None:
        """An action of the requestor or of a release collision: this acceptor never issues
        an A-ASSOCIATE or A-RELEASE request, so it never gets here."""
        raise UndefinedTransition(f"{event} in {self.ul_state}: a requestor's action")

    def _undefined(self, event: Event, arg: object) -> None:
        """A blank cell of Table 9-10: the event cannot occur in this state."""
        raise UndefinedTransition(f"{event} ({event.description}) in {self.ul_state}: "
                                  "blank in PS3.8 Table 9-10")

    @staticmethod
    def _reason(arg: object) -> int:
        """A-ABORT reason (PS3.8 Table 9-26): the decoding error's, else unexpected PDU."""
        return arg.reason if isinstance(arg, P.ProtocolError) else P.REASON_UNEXPECTED_PDU

    def _refusal(self, event: Event, arg: object) -> str:
        if isinstance(arg, P.ProtocolError):
            return str(arg)
        return f"{event.description} unexpected in {self.ul_state}"

    def _accept_primitive(self, rq: A_ASSOCIATE, result: list,
                          roles: list) -> A_ASSOCIATE:
        s = self.settings
        primitive = A_ASSOCIATE()
        primitive.application_context_name = APPLICATION_CONTEXT
        primitive.calling_ae_title = rq.calling_ae_title
        primitive.called_ae_title = rq.called_ae_title
        primitive.result = 0x00
        primitive.result_source = 0x01
        primitive.presentation_context_definition_results_list = result
        max_length = MaximumLengthNotification()
        max_length.maximum_length_received = s.max_pdu
        class_uid = ImplementationClassUIDNotification()
        class_uid.implementation_class_uid = s.implementation_uid
        version = ImplementationVersionNameNotification()
        version.implementation_version_name = s.implementation_version
        primitive.user_information = [max_length, class_uid, version, *roles]
        return primitive

    # -- the service user's requests -------------------------------------------------------------
    def _handle(self, message: Message) -> None:
        command = message.command
        field_ = command.field
        if field_ & RESPONSE:
            log.info("association from %s: unsolicited %s ignored", self.calling_ae, command.name)
            return
        if field_ == C_CANCEL:
            return
        context = self.contexts[message.context_id]  # checked when the PDU was read
        self.last_activity = time.monotonic()
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s from %s: %s", command.name, self.calling_ae, dict(command))
        response = self._respond(message, context)
        self.user.on_responded(self, command, response)
        if self._outbox and self.ul_state is STA6:
            self._send_events()  # the SCU waits for this response: a safe moment (see module)
        try:
            if self.ul_state in _ANSWERING:  # the peer may have aborted meanwhile
                self._fire(EVT9, self._response_pdus(command, context, response))
        finally:
            if response.after is not None:
                try:
                    response.after()
                except Exception:
                    log.exception("%s from %s: work after the response failed", command.name,
                                  self.calling_ae)
        self.last_activity = time.monotonic()

    def _respond(self, message: Message, context: PresentationContext) -> Response:
        command = message.command
        if command.field == C_ECHO:
            return Response(0x0000)
        if command.field not in N_SERVICES:
            return Response(Status.UNRECOGNIZED_OPERATION,
                            {"ErrorComment": f"{command.name} is not supported here"})
        data_set = None
        if message.data_set is not None:
            ts = context.transfer_syntax[0]
            try:
                data_set = decode_data_set(message.data_set, ts == ImplicitVRLittleEndian,
                                           ts != ExplicitVRBigEndian, message.data_length)
            except Exception as exc:
                log.warning("%s from %s: data set not decodable: %s", command.name,
                            self.calling_ae, exc)
                return Response(Status.PROCESSING_FAILURE,
                                {"ErrorComment": "data set could not be decoded"})
            finally:
                self._assembler.recycle(message)
        try:
            return self.user.on_request(Request(command, data_set, context, self))
        except Exception:
            log.exception("%s from %s failed", command.name, self.calling_ae)
            return Response(Status.PROCESSING_FAILURE, {"ErrorComment": "internal error, see the log"})

    def _response_pdus(self, rq: Command, context: PresentationContext,
                       response: Response) -> bytes:
        field_ = rq.field
        fields: dict[str, object] = {
            "CommandField": field_ | RESPONSE,
            "MessageIDBeingRespondedTo": rq.get("MessageID", 0),
            "Status": response.status,
        }
        if field_ in (N_CREATE, C_ECHO) or field_ not in N_SERVICES:
            fields["AffectedSOPClassUID"] = rq.get("AffectedSOPClassUID") or \
                rq.get("RequestedSOPClassUID")
            fields["AffectedSOPInstanceUID"] = rq.get("AffectedSOPInstanceUID")
        else:
            fields["AffectedSOPClassUID"] = rq.get("RequestedSOPClassUID")
            fields["AffectedSOPInstanceUID"] = rq.get("RequestedSOPInstanceUID")
        if field_ == N_ACTION:
            fields["ActionTypeID"] = rq.get("ActionTypeID")
        fields.update(response.fields)
        data = None
        if response.data_set is not None:
            ts = context.transfer_syntax[0]
            data = encode_data_set(response.data_set, ts == ImplicitVRLittleEndian,
                                   ts != ExplicitVRBigEndian)
        fields["CommandDataSetType"] = DATA_SET_PRESENT if data is not None else NO_DATA_SET
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s to %s: status 0x%04X", rq.name.replace("-RQ", "-RSP"),
                      self.calling_ae, response.status)
        return self._message_pdus(int(context.context_id), encode_command(fields), data)

    def _message_pdus(self, context_id: int, command: bytes, data: bytes | None) -> bytes:
        # one write: the command and data set PDUs leave in as few segments as possible
        return b"".join(fragments(context_id, command, data, self.peer_max_pdu))

    # -- events --------------------------------------------------------------------------------
    def send_event(self, event: EventReport) -> EventOutcome:
        """Send ``event`` now and wait for the answer: only from a handler, on this thread."""
        if threading.current_thread() is not self.thread:
            raise RuntimeError("send_event() is for the association's own thread; use post_event")
        try:
            return self._exchange(event)
        except TransportFailed as exc:  # in the user's handler: the machine goes on after it
            self._fire(EVT17, str(exc))
            return EventOutcome(False, reason=str(exc))

    def _send_events(self) -> None:
        while self._outbox and self.ul_state is STA6 and not self._abort:
            event, done = self._outbox.popleft()
            outcome = EventOutcome(False, reason=ENDED)
            try:
                outcome = self._exchange(event)
            except TransportFailed as exc:
                outcome = EventOutcome(False, reason=str(exc))
                raise
            finally:
                if done is not None:
                    try:
                        done(event, outcome)
                    except Exception:
                        log.exception("event outcome handler failed")

    def _exchange(self, event: EventReport) -> EventOutcome:
        if self.ul_state is not STA6:
            return EventOutcome(False, reason=ENDED)
        context = self.accepted(event.context_syntax)
        if context is None:
            return EventOutcome(False, reason=f"no accepted context for {event.context_syntax}")
        self._message_id = self._message_id % 0xFFFF + 1
        message_id = self._message_id
        data = None
        if event.information is not None:
            ts = context.transfer_syntax[0]
            data = encode_data_set(event.information, ts == ImplicitVRLittleEndian,
                                   ts != ExplicitVRBigEndian)
        command = encode_command({
            "CommandField": N_EVENT_REPORT, "MessageID": message_id,
            "AffectedSOPClassUID": event.class_uid,
            "AffectedSOPInstanceUID": event.instance_uid, "EventTypeID": event.event_type,
            "CommandDataSetType": DATA_SET_PRESENT if data is not None else NO_DATA_SET})
        self._fire(EVT9, self._message_pdus(int(context.context_id), command, data))
        outcome = self._await_answer(message_id)
        if outcome.answered and self.settings.event_settle > 0:
            self._settle(self.settings.event_settle)
        return outcome

    def _await_answer(self, message_id: int) -> EventOutcome:
        """Read PDUs until the N-EVENT-REPORT-RSP to ``message_id``; requests arriving
        meanwhile are kept for later, in order (DT-2)."""
        deadline = time.monotonic() + self.settings.dimse_timeout
        self._awaiting, self._answer = message_id, None
        try:
            while self._answer is None:
                if self.ul_state is not STA6:
                    return EventOutcome(True, reason="the SCU asked to release the association"
                                        if self.ul_state is STA8 else ENDED)
                if self._abort:
                    self._fire(EVT15, self._abort)
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return EventOutcome(True, reason=f"no answer within "
                                                     f"{self.settings.dimse_timeout:g} s")
                if self._wait(remaining):
                    step = self._read_event()
                    if step is not None:
                        self._fire(*step)
            status = self._answer.command.get("Status")
            return EventOutcome(True, status, "" if status is not None
                                else "answer without a Status")
        finally:
            self._awaiting, self._answer = None, None

    def _settle(self, seconds: float) -> None:
        """``[dicom] event_settle_seconds``: send nothing for ``seconds`` after an answered
        event (an exception for SCUs that need it; a server that stops cuts it short)."""
        deadline = time.monotonic() + seconds
        waker = select.poll()
        waker.register(self._wake_r, select.POLLIN)
        while not self._abort and (remaining := deadline - time.monotonic()) > 0:
            if waker.poll(int(remaining * 1000) + 1):
                self._drain_wake()

    def _drop_events(self) -> None:
        while self._outbox:
            event, done = self._outbox.popleft()
            if done is not None:
                try:
                    done(event, EventOutcome(False, reason=ENDED))
                except Exception:
                    log.exception("event outcome handler failed")

    # -- plumbing ------------------------------------------------------------------------------
    def _handshake(self) -> bool:
        """TLS (PS3.15 B), before the Upper Layer sees the connection (Evt5)."""
        assert self.ssl_context is not None
        self.sock.settimeout(self.settings.acse_timeout)
        try:
            self.sock = self.ssl_context.wrap_socket(self.sock, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            log.warning("TLS handshake with %s failed: %s", self.address[0], exc)
            return False
        return True

    def _wait(self, timeout: float | None) -> bool:
        """Wait until the socket is readable (True) or the wake-up pair is, or ``timeout``
        seconds passed. poll, not select: no limit on descriptor numbers in a busy server."""
        if isinstance(self.sock, ssl.SSLSocket) and self.sock.pending():
            return True  # decrypted data poll cannot see
        events = self._poller.poll(None if timeout is None else max(0, int(timeout * 1000) + 1))
        readable = False
        wake = self._wake_r.fileno()
        for fd, _mask in events:
            if fd == wake:
                self._drain_wake()
            else:
                readable = True
        return readable

    def _send(self, data: bytes) -> None:
        self.sending_since = time.monotonic()
        try:
            self.sock.sendall(data)
        except socket.timeout:
            why = f"the peer took no PDU for {self.sock.gettimeout():g} s, connection closed"
            log.warning("association from %s (%s): %s", self.calling_ae or "?", self.address[0],
                        why)
            raise TransportFailed(why) from None
        except OSError as exc:
            raise TransportFailed(f"connection lost while sending: {exc}") from None
        finally:
            self.sending_since = None

    def _send_abort(self, source: int, reason: int) -> None:
        """An A-ABORT, then our side of the connection shut: the peer reads it, then the end
        of the stream, and closes (we read on until it does: ARTIM)."""
        self._send(P.abort_pdu(source, reason))
        self._half_closed = True
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        if isinstance(self.sock, ssl.SSLSocket):
            self._framed = False  # TLS records are not read any more, only dropped

    def _start_artim(self, seconds: float) -> None:
        self._artim = time.monotonic() + seconds
        self.sock.settimeout(seconds)

    def _stop_artim(self) -> None:
        self._artim = None

    def _end(self, how: str) -> None:
        """The association ends (for the log and the user's ``on_ended``, at Sta1)."""
        if not self._how:
            self._how = how

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except OSError:
            pass  # full (a wake-up is already pending) or closed

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except OSError:
            pass

    def _shutdown(self) -> None:
        with self._transport_lock:
            if not self._closed:
                try:
                    self.sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def _close(self) -> None:
        with self._transport_lock:
            self._closed = True
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            for s in (self.sock, self._wake_r, self._wake_w):
                try:
                    s.close()
                except OSError:
                    pass


A = Association
#: the acceptor's method for each action of PS3.8 Tables 9-6 to 9-9
ACTION_METHODS: dict[str, Callable[[Association, Event, object], State | None]] = {
    "AE-1": A._not_taken, "AE-2": A._not_taken, "AE-3": A._not_taken, "AE-4": A._not_taken,
    "AE-5": A._ae_5, "AE-6": A._ae_6, "AE-7": A._ae_7, "AE-8": A._ae_8,
    "DT-1": A._p_data, "DT-2": A._dt_2,
    "AR-1": A._not_taken, "AR-2": A._ar_2, "AR-3": A._not_taken, "AR-4": A._ar_4,
    "AR-5": A._stop_timer, "AR-6": A._not_taken, "AR-7": A._p_data, "AR-8": A._not_taken,
    "AR-9": A._not_taken, "AR-10": A._not_taken,
    "AA-1": A._aa_1, "AA-2": A._aa_2, "AA-3": A._aa_3, "AA-4": A._aa_4, "AA-5": A._stop_timer,
    "AA-6": A._aa_6, "AA-7": A._aa_7, "AA-8": A._aa_8,
}
del A


def _dispatch_entry(name: str | None) -> tuple[Callable, State | None]:
    if name is None:
        return Association._undefined, None
    states = next_state(ACTIONS[name], acceptor=True)
    return ACTION_METHODS[name], states[0] if len(states) == 1 else None


#: PS3.8 Table 9-10 bound to this acceptor: (state, event) → (method, next state); a next state
#: of None means the method chooses (AE-6: Sta3 or Sta13)
DISPATCH: dict[tuple[State, Event], tuple[Callable, State | None]] = {
    key: _dispatch_entry(name) for key, name in TRANSITIONS.items()}
