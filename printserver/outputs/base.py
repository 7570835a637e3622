"""What every output of finished films offers the worker, and the errors it raises.

An output receives a job's spool manifest and a pixel loader, renders the films the way its device
needs them (OD through a device profile for a PDF folder or a paper printer, P-values for a DICOM
film printer or a PACS copy, see ``../shared/DESIGN.md``) and delivers them.

Delivery may finish later than :meth:`Output.deliver` returns: a CUPS queue prints after it accepted
the job. Such an output returns the device's references (``RenderedJob.references``, e.g. CUPS job
ids); the worker keeps the job PRINTING and asks :meth:`Output.follow` until it is done.
An output whose device cannot take jobs now raises :class:`OutputUnavailable`: the job waits and is
retried, and the printer's status shows why (PS3.3 C.13.9.1 Printer Status Info).
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from printserver.errors import PrintserverError
from printserver.layout.job_render import PixelLoader, RenderedJob
from printserver.profiles.downstream import DownstreamAnswer
from printserver.vocabulary import PrinterStatus, PrinterStatusInfo


class OutputError(PrintserverError):
    """Finished films could not be delivered (folder not writable, disk full, kind not implemented).

    The message is fit for the job record: the worker marks the job FAILED with it.
    """


class OutputUnavailable(OutputError):
    """The output's device cannot take jobs now (queue stopped or missing, server down).

    The worker puts the job back to waiting with a retry time instead of failing it, and records
    the printer's status as ``status`` / ``status_info`` (Printer Status (2110,0010) and Printer
    Status Info (2110,0020), PS3.3 C.13.9.1 defined terms, e.g. PRINTER OFFLINE, PRINTER DOWN,
    CHECK PRINTER).
    """

    def __init__(self, message: str, status_info: str = PrinterStatusInfo.PRINTER_DOWN,
                 status: str = PrinterStatus.FAILURE) -> None:
        super().__init__(message)
        self.status = str(status)
        self.status_info = str(status_info)


@dataclass(frozen=True)
class DeviceStatus:
    """The state of an output's device as Printer Status / Printer Status Info (PS3.3 C.13.9.1).

    Attributes
    ----------
    status : str
        NORMAL, WARNING or FAILURE.
    status_info : str
        NORMAL, or a C.13.9.1 defined term for WARNING / FAILURE.
    message : str
        What the device said, readable (empty when NORMAL).
    """

    status: str = PrinterStatus.NORMAL.value
    status_info: str = PrinterStatusInfo.NORMAL.value
    message: str = ""

    def __post_init__(self) -> None:  # plain strings for the job store, also from the enums
        object.__setattr__(self, "status", str(self.status))
        object.__setattr__(self, "status_info", str(self.status_info))

    @classmethod
    def unavailable(cls, exc: OutputUnavailable) -> DeviceStatus:
        return cls(exc.status, exc.status_info, str(exc))


class DeliveryState(str, enum.Enum):
    """Where a delivery the device accepted stands (:meth:`Output.follow`)."""

    PENDING = "PENDING"      #: the device still has it (waiting, printing, held, stopped queue)
    DONE = "DONE"            #: printed
    FAILED = "FAILED"        #: the device gave up on it (aborted)
    CANCELLED = "CANCELLED"  #: cancelled at the device


@dataclass(frozen=True)
class DeliveryStatus:
    state: DeliveryState
    message: str = ""


class Output(abc.ABC):
    """A printer's output: where and how the films of its jobs go."""

    #: the ``output.kind`` of the printer configuration this class serves
    kind: str = ""

    @abc.abstractmethod
    def deliver(self, manifest: Mapping[str, Any], load: PixelLoader) -> RenderedJob:
        """Render every film of a job and deliver it; return the films with their final files.

        ``references`` of the result name what the device still has to print (empty: delivered).

        Raises
        ------
        LayoutError
            The job cannot be rendered as requested.
        OutputUnavailable
            The device cannot take jobs now; nothing was delivered, the job is retried later.
        OutputError
            The films could not be delivered.
        """

    def check(self) -> DeviceStatus:
        """The device's state now (an output with nothing to ask is always NORMAL)."""
        return DeviceStatus()

    def follow(self, references: Sequence[str]) -> DeliveryStatus:
        """Where the deliveries ``references`` (from :meth:`deliver`) stand.

        Raises
        ------
        OutputUnavailable
            The device cannot be asked now; the job stays PRINTING and is asked again later.
        """
        return DeliveryStatus(DeliveryState.DONE)

    def cancel(self, references: Sequence[str]) -> None:
        """Cancel deliveries the device has not finished (nothing to do by default)."""

    def ask_capabilities(self) -> DownstreamAnswer:
        """What the device says it accepts, for the printer's ``downstream`` profile
        (:mod:`printserver.profiles.downstream`).

        Raises
        ------
        OutputUnavailable
            The device cannot be asked now.
        OutputError
            This kind of output has no device that could say (only a DICOM film printer has).
        """
        raise OutputError(f"a {self.kind} output has no film printer to ask for its capabilities")
