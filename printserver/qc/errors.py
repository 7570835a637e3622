"""The errors of the QC records; the web maps them to statuses (see :mod:`printserver.qc`)."""

from __future__ import annotations

from printserver.errors import ParameterError, PrintserverError


class UnknownRecordError(PrintserverError, LookupError):
    """No display, session, calibration or measurement with this id (the web answers 404)."""


class DuplicateDisplayError(ParameterError):
    """Another display already has this name (``parameter`` is ``name``; the web answers 409)."""

    def __init__(self, name: str) -> None:
        super().__init__("name", f"a display named {name!r} is already registered")


class RecordInUseError(PrintserverError):
    """The record cannot be removed: others refer to it (a display with QC sessions: retire it)."""


class CalibrationNotApplicable(ParameterError):
    """The printer's output does not take a calibration from printserver (a DICOM film printer or a
    PACS receives P-values and calibrates itself)."""
