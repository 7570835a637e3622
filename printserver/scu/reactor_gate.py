"""Close a race in pynetdicom's requestor: a fast response taken by its reactor as "unexpected".

pynetdicom 3.0 (checked against 3.0.4; ``pyproject.toml`` pins ``<3.1``): every ``send_*`` of an
:class:`~pynetdicom.association.Association` clears ``_reactor_checkpoint`` and spins until
``_is_paused`` is True, then sends and waits for the response on the DIMSE queue. The reactor
loop sets ``_is_paused = True``, calls ``_reactor_checkpoint.wait()`` and sets it False again
before it takes a message off the same queue. If the reactor has just returned from ``wait()``
when ``send_*`` clears the checkpoint, ``send_*`` sees ``_is_paused`` still True and goes ahead;
a peer that answers within the reactor's next few bytecodes (the GIL can hold them back for
milliseconds) has its response served by the reactor ("Received unexpected N-ACTION service
message"), and ``send_*`` waits out the DIMSE timeout. printserver's own SCP answers that fast.

:class:`ReactorGate` replaces the checkpoint: ``clear()`` from any other thread returns only once
the reactor is parked inside ``wait()``, so nothing can take the response but ``send_*``.

A third: a peer that rejects quickly can have its A-ASSOCIATE-RJ reported as an abort
(``associate()`` sees the DUL stop before the rejection is noted; 1-4 in 100 here).
:class:`RejectionWatch` notes the A-ASSOCIATE-RJ as the PDU arrives, so the caller can still say
why.

A second flaw: an N-EVENT-REPORT from the peer is answered in a thread of its own, which ends by
setting ``_is_paused = False``. Landing while the reactor is parked, that write makes the next
``send_*`` or ``release()`` spin forever. :class:`GatedAssociation` therefore answers
``_is_paused`` from the gate itself (parked, or the reactor gone) and ignores the writes.
"""

from __future__ import annotations

import threading

from pynetdicom import evt
from pynetdicom.association import Association
from pynetdicom.pdu import A_ASSOCIATE_RJ

#: seconds ``clear()`` waits for the reactor to park (a handler of the peer's request, e.g. an
#: N-EVENT-REPORT, may be running); after that pynetdicom's own behaviour applies
PARK_TIMEOUT = 10.0


class ReactorGate:
    """A ``threading.Event`` look-alike that knows when the reactor waits at it."""

    def __init__(self, assoc: Association, is_set: bool = True) -> None:
        self._assoc = assoc
        self._cond = threading.Condition()
        self._open = is_set
        self._parked = False

    def is_set(self) -> bool:
        return self._open

    @property
    def parked(self) -> bool:
        """The reactor waits inside :meth:`wait` with the gate closed."""
        return self._parked

    def set(self) -> None:
        with self._cond:
            self._open = True
            self._cond.notify_all()

    def clear(self) -> None:
        with self._cond:
            self._open = False
            if threading.current_thread() is self._assoc or not self._assoc.is_alive():
                return
            self._cond.wait_for(lambda: self._parked or not self._assoc.is_alive(),
                                PARK_TIMEOUT)

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


class GatedAssociation(Association):
    """An :class:`~pynetdicom.association.Association` whose ``_is_paused`` is the gate's word."""

    @property  # type: ignore[override]
    def _is_paused(self) -> bool:
        gate = self.__dict__.get("_reactor_checkpoint")
        if isinstance(gate, ReactorGate):
            # the reactor itself (a handler of its own) is never in its own way
            return gate.parked or not self.is_alive() or threading.current_thread() is self
        return bool(self.__dict__.get("_paused_flag", False))

    @_is_paused.setter
    def _is_paused(self, value: bool) -> None:
        self.__dict__["_paused_flag"] = value


def install_gate(assoc: Association) -> Association:
    """Give a requestor ``assoc`` a :class:`ReactorGate`; returns ``assoc``.

    Call it right after :meth:`pynetdicom.ae.ApplicationEntity.associate`, before the first
    ``send_*``.
    """
    current = assoc._reactor_checkpoint
    if not isinstance(current, ReactorGate):
        assoc._reactor_checkpoint = ReactorGate(assoc, current.is_set())  # type: ignore[assignment]
    if type(assoc) is Association:
        assoc.__class__ = GatedAssociation
    return assoc


class RejectionWatch:
    """An ``EVT_PDU_RECV`` handler that keeps the A-ASSOCIATE-RJ a peer sent, if any."""

    def __init__(self) -> None:
        self.rejection: A_ASSOCIATE_RJ | None = None

    def handler(self) -> tuple:
        """The (event, handler) pair for ``evt_handlers``."""
        return (evt.EVT_PDU_RECV, self._on_pdu)

    def _on_pdu(self, event: evt.Event) -> None:
        if isinstance(event.pdu, A_ASSOCIATE_RJ):
            self.rejection = event.pdu

    def describe(self) -> str:
        """Result, source and reason of the rejection (PS3.8 Table 9-21), or "" if none."""
        rj = self.rejection
        if rj is None:
            return ""
        return (f"result 0x{rj.result:02X}, source 0x{rj.source:02X}, reason "
                f"0x{rj.reason_diagnostic:02X}: {rj.reason_str}")


def associate(ae, host: str, port: int, ae_title: str, evt_handlers: list | None = None,
              **kwargs) -> tuple[Association, RejectionWatch]:
    """``ae.associate(...)`` with both repairs: the association has its :class:`ReactorGate`,
    and the :class:`RejectionWatch` tells a rejection even when pynetdicom reports an abort."""
    watch = RejectionWatch()
    assoc = ae.associate(host, port, ae_title=ae_title,
                         evt_handlers=[*(evt_handlers or []), watch.handler()], **kwargs)
    return install_gate(assoc), watch

