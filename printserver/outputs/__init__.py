"""Outputs of finished films: a PDF folder, a CUPS queue, a DICOM film printer, a PACS.

:func:`open_output` picks the output of a printer by its ``output.kind``.
"""

from __future__ import annotations

from printserver.config import Config, PrinterConfig
from printserver.outputs.base import Output, OutputError, OutputUnavailable
from printserver.outputs.cups import CupsOutput
from printserver.outputs.dicom_printer import DicomPrinterOutput
from printserver.outputs.pacs import PacsOutput
from printserver.outputs.pdf_folder import PdfFolderOutput

#: output kinds the configuration accepts but that have no implementation yet
PLANNED_KINDS: tuple[str, ...] = ()


def open_output(printer: PrinterConfig, config: Config) -> Output:
    """The output of ``printer``.

    Raises
    ------
    OutputError
        The printer's output kind is not implemented yet or unknown.
    """
    kind = printer.output.kind.strip().lower()
    if kind == PdfFolderOutput.kind:
        return PdfFolderOutput(printer, config)
    if kind == PacsOutput.kind:
        return PacsOutput(printer, config)
    if kind == DicomPrinterOutput.kind:
        return DicomPrinterOutput(printer, config)
    if kind == CupsOutput.kind:
        return CupsOutput(printer, config)
    if kind in PLANNED_KINDS:
        raise OutputError(f"printer {printer.ae_title}: output kind {kind!r} is not implemented yet")
    raise OutputError(f"printer {printer.ae_title}: unknown output kind {printer.output.kind!r} "
                      "(known: pdf, cups, dicom, pacs)")


__all__ = ["CupsOutput", "DicomPrinterOutput", "Output", "OutputError", "OutputUnavailable",
           "PacsOutput", "PdfFolderOutput", "open_output"]
