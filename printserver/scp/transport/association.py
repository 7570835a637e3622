"""One association, acceptor side: negotiation, the DIMSE message loop, release, abort, events.

PS3.8 7.1 (A-ASSOCIATE), 7.2 (A-RELEASE), 7.3-7.4 (A-ABORT, A-P-ABORT) and 9.3 (PDUs); PS3.7
9.1 (status, message IDs) and 10.1.1 (N-EVENT-REPORT, which here the SCP invokes).

Everything happens on the association's own thread, which blocks in ``poll``/``recv_into`` and
wakes only for the peer's PDUs, for an event another thread posted (:meth:`post_event`) or for a
timeout; nothing polls. A request is decoded, handed to the :class:`ServiceUser` and answered
before the next PDU is read, so the per-association print state needs no lock.

N-EVENT-REPORTs (PS3.4 H.4.5.1, H.4.6.1) go out on this same thread, never racing a request of
the SCU: from inside a handler at once (the SCU waits for that request's response), otherwise
just before the next response (ditto) or once the association has been quiet for :data:`QUIET`
seconds. While waiting for the SCU's answer, requests it sends meanwhile are kept, in order, and
served afterwards. An unanswered event is dropped after the DIMSE timeout; the association is
never aborted for it.
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
#: seconds (the SCU is then not between two requests of a sequence)
QUIET = 0.5
#: seconds between the SCU's answer to an event and our next message: a pynetdicom SCU answers
#: in a thread of its own, which must finish before its next request starts (pynetdicom 3.0.4)
SETTLE = 0.1
#: after our last PDU (A-ASSOCIATE-RJ, A-RELEASE-RP, A-ABORT): seconds, and bytes, we read on
#: waiting for the peer to close the connection (a short ARTIM, PS3.8 9.1.5)
LINGER, MAX_LINGER_BYTES = 5.0, 4 << 20
#: why an event was not sent when its association ended first
ENDED = "association ended"
#: the DIMSE services the :class:`ServiceUser` answers (PS3.7 10)
N_SERVICES = frozenset({N_GET, N_SET, N_ACTION, N_CREATE, N_DELETE})


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

    def on_established(self, assoc: Association) -> None: ...

    def on_request(self, request: Request) -> Response: ...

    def on_ended(self, assoc: Association, how: str) -> None: ...


@dataclass(frozen=True)
class AssociationSettings:
    """Parameters every association of a listener shares."""

    contexts: list[PresentationContext]
    max_pdu: int
    acse_timeout: float
    network_timeout: float
    dimse_timeout: float
    max_data_set: int
    implementation_uid: str
    implementation_version: str


class Aborted(Exception):
    """The association ended by A-ABORT, either side, or by the connection closing."""


class Association:
    """One association with a Print SCU, served by :meth:`run` on its own thread.

    Attributes
    ----------
    calling_ae, called_ae : str
    address : tuple
        The peer's (host, port).
    contexts : dict
        Accepted presentation contexts by ID.
    state : object
        The service user's per-association state (set in ``on_established``).
    """

    def __init__(self, sock: socket.socket, address: tuple[str, int], user: ServiceUser,
                 settings: AssociationSettings, ssl_context: ssl.SSLContext | None = None,
                 admit: Callable[[Association], bool] | None = None) -> None:
        self.sock = sock
        self.address = address
        self.user = user
        self.settings = settings
        self.ssl_context = ssl_context
        self.admit = admit
        self.calling_ae = ""
        self.called_ae = ""
        self.contexts: dict[int, PresentationContext] = {}
        self.peer_max_pdu = 0
        self.state: object | None = None
        self.is_established = False
        self.last_activity = time.monotonic()
        self.thread: threading.Thread | None = None
        self._reader = P.PDUReader()
        self._assembler = MessageAssembler(settings.max_data_set)
        self._backlog: collections.deque[Message] = collections.deque()
        self._release_requested = False
        self._outbox: collections.deque[tuple[EventReport, Callable | None]] = collections.deque()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_w.setblocking(False)
        self._wake_r.setblocking(False)
        #: counted against the listener's association limit
        self.counted = False
        self._send_lock = threading.Lock()
        self._message_id = 0
        self._closing = False

    # -- public, any thread ----------------------------------------------------------------------
    def is_alive(self) -> bool:
        return self.thread is not None and self.thread.is_alive() and not self._closing

    def post_event(self, event: EventReport,
                   done: Callable[[EventReport, EventOutcome], None] | None = None) -> None:
        """Queue ``event`` for this association; ``done`` is called with its outcome (on the
        association's thread). Events still queued when the association ends are dropped."""
        self._outbox.append((event, done))
        self._wake()

    def abort(self) -> None:
        """A-ABORT the association from any thread (server shutdown)."""
        if self._closing:
            return
        self._closing = True
        try:
            self._send(P.abort_pdu(P.ABORT_PROVIDER, P.REASON_NOT_SPECIFIED))
        except OSError:
            pass
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._wake()

    def accepted(self, abstract_syntax: str) -> PresentationContext | None:
        """The accepted context for ``abstract_syntax``, if any."""
        return next((cx for cx in self.contexts.values()
                     if str(cx.abstract_syntax) == abstract_syntax), None)

    # -- the association's thread ------------------------------------------------------------
    def run(self) -> None:
        """Serve the association to its end; never raises."""
        how = "aborted"
        try:
            if self.ssl_context is not None:
                self._handshake()
            if not self._negotiate():
                return
            how = self._serve()
        except P.ProtocolError as exc:
            log.warning("association from %s (%s): protocol error, aborted: %s",
                        self.calling_ae or "?", self.address[0], exc)
            self._abort_quietly(exc.reason)
        except socket.timeout:
            log.warning("association from %s (%s): no PDU for %g s, aborted",
                        self.calling_ae or "?", self.address[0], self.settings.network_timeout)
            self._abort_quietly(P.REASON_NOT_SPECIFIED)
            how = "aborted (network timeout)"
        except (Aborted, P.ConnectionClosed, OSError) as exc:
            if not self._closing:
                log.debug("association from %s: %s", self.calling_ae or "?", exc)
        except Exception:  # a bug must not take the listener down with it
            log.exception("association from %s (%s) failed", self.calling_ae or "?",
                          self.address[0])
            self._abort_quietly(P.REASON_NOT_SPECIFIED)
        finally:
            self._closing = True
            if self.is_established:
                self.is_established = False
                try:
                    self.user.on_ended(self, how)
                except Exception:
                    log.exception("association end handler failed")
                self._drop_events()
            self._close()

    def _handshake(self) -> None:
        assert self.ssl_context is not None
        self.sock.settimeout(self.settings.acse_timeout)
        try:
            tls = self.ssl_context.wrap_socket(self.sock, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            log.warning("TLS handshake with %s failed: %s", self.address[0], exc)
            raise Aborted("TLS handshake failed") from None
        self.sock = tls

    def _negotiate(self) -> bool:
        """A-ASSOCIATE (PS3.8 7.1): True once accepted."""
        s = self.settings
        self.sock.settimeout(s.acse_timeout)  # the ARTIM timer
        try:
            pdu = P.read_pdu(self.sock, MAX_CONTROL_PDU)
        except socket.timeout:
            log.info("connection from %s sent no A-ASSOCIATE-RQ within %g s", self.address[0],
                     s.acse_timeout)
            return False
        if pdu.type != P.ASSOCIATE_RQ:
            raise P.ProtocolError(f"PDU type {pdu.type} before A-ASSOCIATE-RQ",
                                  P.REASON_UNEXPECTED_PDU)
        rq = P.decode_associate_rq(pdu)
        self.calling_ae = rq.calling_ae_title.strip()
        self.called_ae = rq.called_ae_title.strip()
        rejection = self._check(pdu, rq)
        if rejection is not None:
            log.warning("association from %s (%s) to %s rejected: %s", self.calling_ae,
                        self.address[0], self.called_ae, rejection.why)
            self._send(P.associate_rj(rejection.result, rejection.source, rejection.reason))
            self._await_peer_close()
            return False
        roles = {item.sop_class_uid: (item.scu_role, item.scp_role)
                 for item in rq.user_information
                 if isinstance(item, SCP_SCU_RoleSelectionNegotiation)}
        result, ac_roles = negotiate_as_acceptor(rq.presentation_context_definition_list,
                                                 s.contexts, roles)
        self.contexts = {int(cx.context_id): cx for cx in result if cx.result == 0x00}
        self.peer_max_pdu = int(rq.maximum_length_received or 0)
        self._send(P.associate_ac(self._accept_primitive(rq, result, ac_roles)))
        self.is_established = True
        self.last_activity = time.monotonic()
        self.sock.settimeout(s.network_timeout or None)
        self.user.on_established(self)
        return True

    def _check(self, pdu: P.PDU, rq: A_ASSOCIATE) -> Rejection | None:
        if len(pdu.data) < 2 or not pdu.data[1] & 0x01:
            return Rejection(1, 2, 2, "protocol version not supported")
        if str(rq.application_context_name) != APPLICATION_CONTEXT:
            return Rejection(1, 1, 2, f"application context {rq.application_context_name}")
        rejection = self.user.on_requested(rq, self.address)
        if rejection is not None:
            return rejection
        if self.admit is not None and not self.admit(self):
            return Rejection(2, 3, 2, "too many associations (max_associations)")
        return None

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

    def _serve(self) -> str:
        """The message loop; returns how the association ended."""
        while True:
            if self._backlog:
                self._handle(self._backlog.popleft())
                continue
            if self._release_requested:
                self._send(P.RELEASE_RP_BYTES)
                self._await_peer_close()
                return "released"
            pdu = self._next_pdu()
            if pdu is not None:
                self._take(pdu)

    def _max_read(self) -> int:
        max_pdu = self.settings.max_pdu
        # PS3.8 D.1: Maximum Length Received bounds the PDV list of a P-DATA-TF; 0 = no limit,
        # but still no PDU larger than the largest data set the association may send
        if max_pdu:
            return max(max_pdu + 6, MAX_CONTROL_PDU)
        return min(0xFFFFFFFF, self.settings.max_data_set + MAX_CONTROL_PDU)

    def _readable(self, timeout: float | None, wake: bool = True) -> tuple[bool, bool]:
        """Wait until the socket (or, with ``wake``, the wake-up pair) is readable: (socket,
        wake-up). poll, not select: no limit on descriptor numbers in a busy server."""
        if isinstance(self.sock, ssl.SSLSocket) and self.sock.pending():
            return True, False  # decrypted data poll cannot see
        poller = select.poll()
        poller.register(self.sock, select.POLLIN)
        if wake:
            poller.register(self._wake_r, select.POLLIN)
        events = poller.poll(None if timeout is None else max(0, int(timeout * 1000) + 1))
        fds = {fd for fd, _mask in events}
        return self.sock.fileno() in fds, self._wake_r.fileno() in fds

    def _take(self, pdu: P.PDU) -> None:
        """Act on one PDU received while established."""
        if pdu.type == P.P_DATA_TF:
            for context_id, control, fragment in P.pdv_items(pdu.data):
                message = self._assembler.add(context_id, control, fragment)
                if message is not None:
                    self._backlog.append(message)
        elif pdu.type == P.RELEASE_RQ:
            if not self._assembler.idle:
                raise P.ProtocolError("A-RELEASE-RQ in the middle of a message",
                                      P.REASON_UNEXPECTED_PDU)
            self._release_requested = True
        elif pdu.type == P.ABORT:
            raise Aborted("A-ABORT from the peer")
        else:
            raise P.ProtocolError(f"unexpected PDU type {pdu.type} on an established association",
                                  P.REASON_UNEXPECTED_PDU)

    def _next_pdu(self) -> P.PDU | None:
        """Wait for the next PDU; on the way send events that are due. None when an event's
        exchange took messages or a release off the wire (the caller looks at the backlog)."""
        s = self.settings
        while True:
            if self._closing:
                raise Aborted("association closed locally")
            now = time.monotonic()
            timeout = None
            if self._outbox and self._assembler.idle:
                wait = self.last_activity + QUIET - now
                if wait <= 0:
                    self._send_events()
                    if self._backlog or self._release_requested:
                        return None
                    continue
                timeout = wait
            if s.network_timeout:
                idle = self.last_activity + s.network_timeout - now
                if idle <= 0:
                    raise socket.timeout()
                timeout = idle if timeout is None else min(timeout, idle)
            readable, woken = self._readable(timeout)
            if woken:
                self._drain_wake()
            if readable:
                pdu = self._reader.read(self.sock, self._max_read())
                self.last_activity = time.monotonic()
                return pdu

    # -- requests ------------------------------------------------------------------------------
    def _handle(self, message: Message) -> None:
        command = message.command
        context = self.contexts.get(message.context_id)
        if context is None:
            raise P.ProtocolError(f"message on presentation context {message.context_id}, "
                                  "which was not accepted", P.REASON_UNEXPECTED_PARAMETER)
        field_ = command.field
        if field_ & RESPONSE:
            log.info("association from %s: unsolicited %s ignored", self.calling_ae, command.name)
            return
        if field_ == C_CANCEL:
            return
        self.last_activity = time.monotonic()
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s from %s: %s", command.name, self.calling_ae, dict(command))
        response = self._respond(message, context)
        if self._outbox:
            self._send_events()  # the SCU waits for this response: a safe moment (see module)
        try:
            self._send_response(command, context, response)
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

    def _send_response(self, rq: Command, context: PresentationContext,
                       response: Response) -> None:
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
        self._send_message(int(context.context_id), encode_command(fields), data)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s to %s: status 0x%04X", rq.name.replace("-RQ", "-RSP"),
                      self.calling_ae, response.status)

    def _send_message(self, context_id: int, command: bytes, data: bytes | None) -> None:
        # one write: the command and data set PDUs leave in as few segments as possible
        self._send(b"".join(fragments(context_id, command, data, self.peer_max_pdu)))

    # -- events --------------------------------------------------------------------------------
    def send_event(self, event: EventReport) -> EventOutcome:
        """Send ``event`` now and wait for the answer: only from a handler, on this thread."""
        if threading.current_thread() is not self.thread:
            raise RuntimeError("send_event() is for the association's own thread; use post_event")
        return self._exchange(event)

    def _send_events(self) -> None:
        while self._outbox and not self._closing and not self._release_requested:
            event, done = self._outbox.popleft()
            outcome = self._exchange(event)
            if done is not None:
                try:
                    done(event, outcome)
                except Exception:
                    log.exception("event outcome handler failed")

    def _exchange(self, event: EventReport) -> EventOutcome:
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
        self._send_message(int(context.context_id), command, data)
        outcome = self._await_answer(message_id)
        if outcome.answered:
            time.sleep(SETTLE)
        return outcome

    def _await_answer(self, message_id: int) -> EventOutcome:
        """Read until the N-EVENT-REPORT-RSP to ``message_id``; requests arriving meanwhile are
        kept for later, in order."""
        deadline = time.monotonic() + self.settings.dimse_timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return EventOutcome(True, reason=f"no answer within "
                                                 f"{self.settings.dimse_timeout:g} s")
            if not self._readable(remaining, wake=False)[0]:
                continue
            pdu = self._reader.read(self.sock, self._max_read())
            if pdu.type != P.P_DATA_TF:
                self._take(pdu)  # a release is remembered; an abort raises
                return EventOutcome(True, reason="the SCU asked to release the association")
            for context_id, control, fragment in P.pdv_items(pdu.data):
                message = self._assembler.add(context_id, control, fragment)
                if message is None:
                    continue
                command = message.command
                if command.field == N_EVENT_REPORT | RESPONSE and \
                        command.get("MessageIDBeingRespondedTo") == message_id:
                    status = command.get("Status")
                    return EventOutcome(True, status, "" if status is not None
                                        else "answer without a Status")
                self._backlog.append(message)

    def _drop_events(self) -> None:
        while self._outbox:
            event, done = self._outbox.popleft()
            if done is not None:
                try:
                    done(event, EventOutcome(False, reason=ENDED))
                except Exception:
                    log.exception("event outcome handler failed")

    # -- plumbing ------------------------------------------------------------------------------
    def _send(self, data: bytes) -> None:
        with self._send_lock:
            self.sock.sendall(data)

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

    def _abort_quietly(self, reason: int) -> None:
        """Send A-ABORT, then let the peer read it: stop sending and discard what it still
        sends until it closes (PS3.8 9.1.5, ARTIM), so that closing with unread data does not
        reset the connection before the A-ABORT arrives."""
        try:
            self._send(P.abort_pdu(P.ABORT_PROVIDER, reason))
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            return
        self._await_peer_close()

    def _await_peer_close(self) -> None:
        """After A-ASSOCIATE-RJ, A-RELEASE-RP or A-ABORT the requestor closes the connection
        (PS3.8 9.2, states Sta13 and AE-8 / AR-4: the acceptor waits, ARTIM bounding the wait).
        Closing first could reset the connection before the peer has read that last PDU; a
        pynetdicom requestor then reports an abort instead of the rejection."""
        try:
            self.sock.settimeout(LINGER)
            left = MAX_LINGER_BYTES
            while left > 0 and (chunk := self.sock.recv(min(left, 65536))):
                left -= len(chunk)
        except OSError:
            pass

    def _close(self) -> None:
        for s in (self.sock, self._wake_r, self._wake_w):
            try:
                if s is self.sock:
                    s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass
