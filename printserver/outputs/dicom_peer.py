"""What a DICOM peer that cannot be associated with means for a printer's status.

The ``dicom`` and ``pacs`` outputs associate through :func:`printserver.scu.peer.connect`; when
that fails the job waits and is retried (:class:`~printserver.outputs.base.OutputUnavailable`),
and the printer reports why (Printer Status FAILURE, Printer Status Info PS3.3 C.13.9.1):

* the peer answered but will not take the job (A-ASSOCIATE-RJ, or a needed SOP class refused):
  PRINTER OFFLINE;
* the peer cannot be reached, or aborted: PRINTER DOWN.
"""

from __future__ import annotations

from printserver.outputs.base import OutputUnavailable
from printserver.scu.peer import AssociationError, PeerUnreachable
from printserver.vocabulary import PrinterStatusInfo


def status_info(exc: AssociationError) -> PrinterStatusInfo:
    """The Printer Status Info of an output whose peer gave ``exc``."""
    if isinstance(exc, PeerUnreachable):
        return PrinterStatusInfo.PRINTER_DOWN
    return PrinterStatusInfo.PRINTER_OFFLINE


def peer_unavailable(exc: AssociationError) -> OutputUnavailable:
    """``exc`` as the output's "unavailable" error: ``<peer> is unavailable: <what happened>``."""
    return OutputUnavailable(f"{exc.peer.where} is unavailable: {exc.detail}", status_info(exc))
