"""What a print association produced: every response status, every event, and the outcome.

A :class:`DimseResponse` keeps exactly what the printer answered: the status code from the
response command set with its Error Comment (0000,0902), Offending Element (0000,0901) and
Attribute Identifier List (0000,1005) (PS3.7 C.4, C.5). Its meaning is the
:class:`printserver.vocabulary.Status` name; its category follows PS3.7 C.1 (Success 0000; Warning
0001, 0107, 0116, Bxxx; Pending FF00/FF01; everything else Failure) and PS3.4 H.2.5 (Warning:
"accepted and will be processed, maybe not exactly as requested").
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from pydicom.uid import UID
from pynetdicom.sop_class import Printer, PrintJob

from printserver.vocabulary import PRINT_JOB_EVENT_NAMES, PRINTER_EVENT_NAMES, Status

SUCCESS, WARNING, FAILURE, PENDING, NO_RESPONSE = (
    "success", "warning", "failure", "pending", "no response")

#: Event Type ID → name, per SOP class: Print Job (PS3.4 H.4.5.1.1, Table H.4-14) and Printer
#: (PS3.4 H.4.6.1.1, Table H.4-16)
EVENT_NAMES = {str(PrintJob): PRINT_JOB_EVENT_NAMES, str(Printer): PRINTER_EVENT_NAMES}


def sop_class_name(uid: str) -> str:
    """The SOP class name without the trailing "SOP Class" ("Basic Film Box")."""
    name = UID(uid).name
    return name[:-len(" SOP Class")] if name.endswith(" SOP Class") else name


def status_meaning(code: int | None) -> str:
    """The :class:`Status` name of a code (``INVALID_ATTRIBUTE_VALUE``), ``UNKNOWN`` for a code
    this project does not name, ``NO_RESPONSE`` for None."""
    if code is None:
        return "NO_RESPONSE"
    try:
        return Status(code).name
    except ValueError:
        return "UNKNOWN"


def status_category(code: int | None) -> str:
    """success, warning, failure, pending or "no response" (PS3.7 C.1)."""
    if code is None:
        return NO_RESPONSE
    if code == 0x0000:
        return SUCCESS
    if code in (0x0001, 0x0107, 0x0116) or 0xB000 <= code <= 0xBFFF:
        return WARNING
    if code in (0xFF00, 0xFF01):
        return PENDING
    return FAILURE


@dataclass
class DimseResponse:
    """One request and the status the printer answered to it.

    Attributes
    ----------
    operation : str
        N-GET, N-CREATE, N-SET, N-ACTION or N-DELETE.
    sop_class_uid : str
        Affected / Requested SOP Class UID of the request.
    instance_uid : str or None
        The instance addressed, or the one the printer assigned (N-CREATE).
    status : int or None
        The response status; None when no response came.
    error_comment : str
        Error Comment (0000,0902) if the printer sent one.
    offending : list of str
        Offending Element / Attribute Identifier List tags as ``(gggg,eeee)``.
    context : str
        Where in the print this was ("film 1, position 3").
    """

    operation: str
    sop_class_uid: str
    instance_uid: str | None
    status: int | None
    error_comment: str = ""
    offending: list[str] = field(default_factory=list)
    context: str = ""

    @property
    def sop_class(self) -> str:
        return sop_class_name(self.sop_class_uid)

    @property
    def meaning(self) -> str:
        return status_meaning(self.status)

    @property
    def category(self) -> str:
        return status_category(self.status)

    @property
    def ok(self) -> bool:
        """Success or warning: the request was carried out (PS3.4 H.2.5)."""
        return self.category in (SUCCESS, WARNING)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["sop_class"] = self.sop_class
        d["status"] = None if self.status is None else f"0x{self.status:04X}"
        d["status_code"] = self.status
        d["meaning"] = self.meaning
        d["category"] = self.category
        return d


@dataclass
class EventReport:
    """An N-EVENT-REPORT the printer sent (Print Job or Printer), answered with Success."""

    sop_class_uid: str
    instance_uid: str
    event_type_id: int
    information: dict[str, str] = field(default_factory=dict)

    @property
    def event(self) -> str:
        return EVENT_NAMES.get(self.sop_class_uid, {}).get(self.event_type_id, "UNKNOWN")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["sop_class"] = sop_class_name(self.sop_class_uid)
        d["event"] = self.event
        return d


@dataclass
class PrintResult:
    """Everything one ``printserver print`` association did.

    ``problem`` is set when the association ended without a normal release (aborted, no
    response); ``exit_status`` is 0 when every response was a success or warning, else 1.
    """

    host: str
    port: int
    called_aet: str
    calling_aet: str
    responses: list[DimseResponse] = field(default_factory=list)
    events: list[EventReport] = field(default_factory=list)
    printer_status: str = ""
    printer_status_info: str = ""
    printer_name: str = ""
    films_printed: int = 0
    images_sent: int = 0
    print_job_uids: list[str] = field(default_factory=list)
    problem: str = ""

    @property
    def failures(self) -> list[DimseResponse]:
        return [r for r in self.responses if not r.ok]

    @property
    def warnings(self) -> list[DimseResponse]:
        return [r for r in self.responses if r.category == WARNING]

    @property
    def exit_status(self) -> int:
        return 1 if self.failures or self.problem else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "printer": {"host": self.host, "port": self.port, "called_aet": self.called_aet,
                        "calling_aet": self.calling_aet, "printer_name": self.printer_name,
                        "printer_status": self.printer_status,
                        "printer_status_info": self.printer_status_info},
            "films_printed": self.films_printed,
            "images_sent": self.images_sent,
            "print_job_uids": self.print_job_uids,
            "responses": [r.to_dict() for r in self.responses],
            "events": [e.to_dict() for e in self.events],
            "problem": self.problem,
            "exit_status": self.exit_status,
        }
