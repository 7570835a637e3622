"""Error types shared by every part of printserver.

A :class:`PrintserverError` carries a message fit for an operator: the CLI prints it on one line
(no traceback) and exits with status 2; the web layer shows it; the SCP maps the DICOM-specific
subclass :class:`printserver.scp.status.DimseError` to a PS3.4 status code.
"""

from __future__ import annotations


class PrintserverError(Exception):
    """Base class of every error printserver raises on purpose."""


class ParameterError(PrintserverError, ValueError):
    """An impossible parameter: the message names the parameter and the allowed range."""

    def __init__(self, parameter: str, message: str) -> None:
        self.parameter = parameter
        super().__init__(f"{parameter}: {message}")


class InputFileError(PrintserverError, ValueError):
    """A malformed input file: the message names the file, the line and the reason."""

    def __init__(self, path: str, line: int | None, reason: str) -> None:
        self.path = path
        self.line = line
        self.reason = reason
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {reason}")


class ConfigError(PrintserverError, ValueError):
    """An invalid configuration file or value."""
