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

These repairs lean on pynetdicom's internals, so :func:`check_pynetdicom` looks at the installed
pynetdicom for each of them before anything relies on it (``printserver serve``, ``printserver
print``, the ``dicom`` and ``pacs`` outputs): a release that changed one gives a clear error
naming its version and what changed, rather than a print that hangs.
"""

from __future__ import annotations

import threading

import pynetdicom
from pynetdicom import AE, evt
from pynetdicom.association import Association
from pynetdicom.pdu import A_ASSOCIATE_RJ

from printserver.errors import PrintserverError

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



class PynetdicomIncompatible(PrintserverError):
    """The installed pynetdicom lacks an internal the reactor gate relies on."""


#: Association methods that pause the reactor as the gate expects: ``_reactor_checkpoint.clear()``,
#: spin on ``_is_paused``, ``_reactor_checkpoint.set()`` (those printserver's SCU calls)
PAUSING_METHODS = ("release", "send_c_echo", "send_c_store", "send_n_action", "send_n_create",
                   "send_n_delete", "send_n_get", "send_n_set")
#: attributes of an A-ASSOCIATE-RJ that :meth:`RejectionWatch.describe` reads (PS3.8 Table 9-21)
REJECTION_FIELDS = ("result", "source", "reason_diagnostic", "reason_str")
#: an A-ASSOCIATE-RJ PDU (PS3.8 9.3.4): result 1 (permanent), source 1 (service-user), reason 7
#: (called AE title not recognized)
SAMPLE_REJECTION = bytes([0x03, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x01, 0x01, 0x07])


def _names(function: object) -> frozenset[str]:
    code = getattr(function, "__code__", None)
    return frozenset(code.co_names) if code is not None else frozenset()


def pynetdicom_problems(association_class: type = Association,
                        rejection_class: type = A_ASSOCIATE_RJ) -> list[str]:
    """What the reactor gate and the rejection watch need from pynetdicom and do not find.

    Checked on a fresh, unstarted association of ``association_class`` and on the classes
    themselves: the association is a thread; it has ``_reactor_checkpoint`` (an Event) and a plain
    ``_is_paused`` flag set in ``__init__``; its reactor loop waits at the checkpoint and sets the
    flag; the ``send_*`` methods printserver uses clear the checkpoint and spin on the flag; an
    A-ASSOCIATE-RJ has result, source and reason; ``evt.EVT_PDU_RECV`` exists.

    Parameters
    ----------
    association_class, rejection_class
        The classes to check: pynetdicom's own by default (a test passes altered ones).

    Returns
    -------
    list of str
        One line per missing or changed internal; empty when everything is as expected.
    """
    problems = []
    if not (isinstance(association_class, type)
            and issubclass(association_class, threading.Thread)):
        problems.append("Association is no longer a threading.Thread")
        return problems
    if any(isinstance(vars(c).get("_is_paused"), property) for c in association_class.__mro__
           if c is not GatedAssociation):
        problems.append("Association._is_paused became a property")
    try:
        assoc = association_class(AE(), "requestor")
    except Exception as exc:  # any failure to build one is what the message must say
        problems.append(f"Association(ae, 'requestor') failed: {type(exc).__name__}: {exc}")
        return problems
    checkpoint = assoc.__dict__.get("_reactor_checkpoint")
    if checkpoint is None:
        problems.append("Association() no longer sets _reactor_checkpoint")
    elif not all(callable(getattr(checkpoint, m, None)) for m in ("wait", "set", "clear",
                                                                  "is_set")):
        problems.append("Association._reactor_checkpoint is no longer an Event "
                        f"({type(checkpoint).__name__})")
    if not isinstance(assoc.__dict__.get("_is_paused"), bool):
        problems.append("Association() no longer sets the flag _is_paused")
    reactor = getattr(association_class, "_run_reactor", None)
    if reactor is None:
        problems.append("Association._run_reactor is missing")
    elif not {"_reactor_checkpoint", "wait", "_is_paused"} <= _names(reactor):
        problems.append("Association._run_reactor no longer waits at _reactor_checkpoint and "
                        "sets _is_paused")
    for name in PAUSING_METHODS:
        method = getattr(association_class, name, None)
        if method is None:
            problems.append(f"Association.{name} is missing")
        elif not {"_reactor_checkpoint", "clear", "_is_paused"} <= _names(method):
            problems.append(f"Association.{name} no longer pauses the reactor through "
                            "_reactor_checkpoint and _is_paused")
    try:  # rejected-permanent by the service-user, called AE title not recognized
        rejection = rejection_class()
        rejection.decode(SAMPLE_REJECTION)
        missing = [f for f in REJECTION_FIELDS if getattr(rejection, f, None) in (None, "")]
    except Exception as exc:  # any failure to decode one is what the message must say
        problems.append(f"A_ASSOCIATE_RJ cannot decode a rejection: {type(exc).__name__}: {exc}")
    else:
        if missing:
            problems.append(f"A_ASSOCIATE_RJ lacks {', '.join(missing)}")
    if not hasattr(evt, "EVT_PDU_RECV"):
        problems.append("evt.EVT_PDU_RECV is missing")
    return problems


def check_pynetdicom(association_class: type = Association,
                     rejection_class: type = A_ASSOCIATE_RJ) -> None:
    """Make sure the installed pynetdicom has what the reactor gate relies on.

    Raises
    ------
    PynetdicomIncompatible
        Naming pynetdicom's version and every internal that is missing or changed
        (:func:`pynetdicom_problems`).
    """
    problems = pynetdicom_problems(association_class, rejection_class)
    if problems:
        raise PynetdicomIncompatible(
            f"pynetdicom {pynetdicom.__version__} is not the one printserver's Print SCU was "
            f"written for (pyproject.toml pins >=3.0.2,<3.1): " + "; ".join(problems))
