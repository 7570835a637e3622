"""The DICOM peer of the ``dicom`` and ``pacs`` outputs, and what failing to reach it means.

:func:`output_peer` is the peer an output's configuration names (``output.host``, ``port``,
``called_aet``, ``calling_aet``, ``timeout``). The outputs associate with it through
:func:`printserver.scu.peer.connect`; when that fails the job waits and is retried
(:class:`~printserver.outputs.base.OutputUnavailable`), and the printer reports why (Printer
Status FAILURE, Printer Status Info PS3.3 C.13.9.1):

* the peer answered but will not take the job (A-ASSOCIATE-RJ, or a needed SOP class refused):
  PRINTER OFFLINE;
* the peer cannot be reached, or aborted: PRINTER DOWN.
"""

from __future__ import annotations

from printserver.config import PrinterConfig
from printserver.outputs.base import OutputError, OutputUnavailable
from printserver.scu.peer import AssociationError, Peer, PeerUnreachable
from printserver.scu.reactor_gate import check_pynetdicom
from printserver.vocabulary import PrinterStatusInfo


def output_peer(printer: PrinterConfig, what: str) -> Peer:
    """The peer of ``printer``'s DICOM output, called ``what`` in messages ("PACS").

    Raises
    ------
    OutputError
        ``output.host``, ``output.port`` or ``output.called_aet`` is not set.
    PynetdicomIncompatible
        The installed pynetdicom lacks what the SCU relies on (checked here, when the output is
        opened).
    """
    output = printer.output
    if not output.host or not output.port or not output.called_aet:
        kind = output.kind.strip().lower()
        raise OutputError(f"printer {printer.ae_title}: the {kind} output needs output.host, "
                          "output.port and output.called_aet")
    check_pynetdicom()
    return Peer(output.host, output.port, output.called_aet, output.calling_aet, output.timeout,
                what)


def status_info(exc: AssociationError) -> PrinterStatusInfo:
    """The Printer Status Info of an output whose peer gave ``exc``."""
    if isinstance(exc, PeerUnreachable):
        return PrinterStatusInfo.PRINTER_DOWN
    return PrinterStatusInfo.PRINTER_OFFLINE


def peer_unavailable(exc: AssociationError) -> OutputUnavailable:
    """``exc`` as the output's "unavailable" error: ``<peer> is unavailable: <what happened>``."""
    return OutputUnavailable(f"{exc.peer.where} is unavailable: {exc.detail}", status_info(exc))
