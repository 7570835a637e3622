"""Associating with a DICOM peer as a requestor: written once for every SCU printserver runs.

The Print SCU (:mod:`printserver.scu.session`), the ``dicom`` output (a film printer) and the
``pacs`` output (C-STORE, C-ECHO) all open their associations through :func:`connect`: one
application entity with one timeout for connecting, association negotiation (ACSE), each DIMSE
response and an idle network; the association repaired by :mod:`printserver.scu.reactor_gate`;
and the outcome told apart (PS3.8 7.1):

* :class:`PeerRejected`: the peer answered A-ASSOCIATE-RJ, with its result, source and reason
  (PS3.8 Table 9-21), also when pynetdicom reports the quick rejection as an abort;
* :class:`PeerUnreachable`: no TCP connection, or the peer aborted (or stopped answering) during
  the negotiation;
* :class:`ContextsRefused`: associated, but a presentation context the caller needs was refused
  (the association is released first).

Each is an :class:`AssociationError` whose message names the peer; ``detail`` says what
happened without it, for callers that name the peer their own way.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from pynetdicom import AE
from pynetdicom.association import Association
from pynetdicom.presentation import PresentationContext

from printserver.errors import PrintserverError
from printserver.scu.reactor_gate import RejectionWatch, associate


@dataclass(frozen=True)
class Peer:
    """A DICOM peer to associate with.

    Attributes
    ----------
    host : str
    port : int
    called_aet : str
        The peer's AE title.
    calling_aet : str
        Ours.
    timeout : float
        Seconds for connecting, the association negotiation, each response and an idle network.
    kind : str
        What the peer is, for messages ("film printer", "PACS"; empty: nothing said).
    tls : ssl.SSLContext or None
        A client TLS context: the association runs over TLS (PS3.15 B); None: plain TCP.
    """

    host: str
    port: int
    called_aet: str
    calling_aet: str
    timeout: float = 30.0
    kind: str = ""
    tls: ssl.SSLContext | None = None

    @property
    def where(self) -> str:
        """The peer in messages: ``[kind ]AET at host:port``."""
        return f"{self.kind} {self.called_aet} at {self.host}:{self.port}".lstrip()


class AssociationError(PrintserverError):
    """The peer could not be reached, rejected the association, or refused a needed context.

    Attributes
    ----------
    peer : Peer
    detail : str
        What happened, without naming the peer.
    """

    def __init__(self, peer: Peer, message: str, detail: str) -> None:
        self.peer = peer
        self.detail = detail
        super().__init__(message)


class PeerRejected(AssociationError):
    """The peer answered A-ASSOCIATE-RJ (PS3.8 9.3.4).

    Attributes
    ----------
    result, source, reason : int or None
        Result, Source and Reason/Diag. of the A-ASSOCIATE-RJ (PS3.8 Table 9-21); None when
        pynetdicom saw the rejection but the PDU itself was not seen.
    """

    def __init__(self, peer: Peer, watch: RejectionWatch) -> None:
        rj = watch.rejection
        self.result = rj.result if rj is not None else None
        self.source = rj.source if rj is not None else None
        self.reason = rj.reason_diagnostic if rj is not None else None
        why = watch.describe() or "rejected"
        super().__init__(peer, f"{peer.where} rejected the association ({why})",
                         f"association rejected ({why})")


class PeerUnreachable(AssociationError):
    """No connection, or the peer aborted or stopped answering during the negotiation."""

    def __init__(self, peer: Peer) -> None:
        super().__init__(peer, f"cannot associate with {peer.where}: no connection or the peer "
                               "aborted the negotiation",
                         "no connection or the association was aborted")


class ContextsRefused(AssociationError):
    """Associated, but the peer refused presentation contexts the caller needs.

    Attributes
    ----------
    missing : tuple of str
        The names of the refused SOP classes.
    """

    def __init__(self, peer: Peer, missing: Sequence[str]) -> None:
        self.missing = tuple(missing)
        names = ", ".join(self.missing)
        super().__init__(peer, f"{peer.where} does not support {names}",
                         f"it does not accept {names}")


def application_entity(peer: Peer) -> AE:
    """Our application entity for ``peer``: its calling AE title and every timeout."""
    ae = AE(ae_title=peer.calling_aet)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = peer.timeout
    ae.connection_timeout = peer.timeout
    return ae


def connect(peer: Peer, contexts: Sequence[PresentationContext],
            evt_handlers: Iterable[tuple] = (),
            required: Mapping[str, str] | None = None) -> Association:
    """An established association with ``peer``, ready for ``send_*``.

    Parameters
    ----------
    peer
    contexts
        The presentation contexts to propose.
    evt_handlers
        pynetdicom ``(event, handler)`` pairs bound to the association.
    required
        Abstract syntax UID → name of each SOP class the caller cannot do without.

    Raises
    ------
    PeerRejected
    PeerUnreachable
    ContextsRefused
        A required context was refused (the association was released).
    """
    tls = {"tls_args": (peer.tls, None)} if peer.tls is not None else {}
    assoc, watch = associate(application_entity(peer), peer.host, peer.port, peer.called_aet,
                             list(evt_handlers), contexts=list(contexts), **tls)
    if assoc.is_rejected or watch.rejection is not None:
        raise PeerRejected(peer, watch)
    if not assoc.is_established:
        raise PeerUnreachable(peer)
    accepted = {str(cx.abstract_syntax) for cx in assoc.accepted_contexts}
    missing = [name for uid, name in (required or {}).items() if str(uid) not in accepted]
    if missing:
        assoc.release()
        raise ContextsRefused(peer, missing)
    return assoc
