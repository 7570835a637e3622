"""DIMSE statuses as Python values: the typed error a failed operation raises and the status fields.

PS3.7 Annex C and PS3.4 H.4 define the codes (:class:`printserver.vocabulary.Status`); PS3.7 C.4
the optional fields a response may carry: Error Comment (0000,0902), Offending Element (0000,0901)
and Attribute Identifier List (0000,1005).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from pydicom.dataset import Dataset
from pydicom.tag import Tag

from printserver.errors import PrintserverError
from printserver.vocabulary import Status


class DimseError(PrintserverError):
    """An operation failed with a PS3.4 / PS3.7 failure status.

    Parameters
    ----------
    status : Status
        The failure code.
    comment : str
        Error Comment (0000,0902), at most 64 characters are sent.
    offending : sequence of int
        Offending Element (0000,0901) tags, or for 0105/0120 the Attribute Identifier List.
    """

    def __init__(self, status: Status, comment: str, offending: Sequence[int] = ()) -> None:
        self.status = Status(status)
        self.comment = comment
        self.offending = tuple(Tag(t) for t in offending)
        super().__init__(f"{self.status.name} (0x{self.status.value:04X}): {comment}")


@dataclass
class Warnings:
    """Warning statuses collected while an operation succeeds (PS3.4 H.2.5: accepted, not exactly)."""

    items: list[tuple[Status, str, tuple[int, ...]]] = field(default_factory=list)

    def add(self, status: Status, comment: str, offending: Sequence[int] = ()) -> None:
        self.items.append((Status(status), comment, tuple(Tag(t) for t in offending)))

    @property
    def status(self) -> Status:
        """The first warning, or Success."""
        return self.items[0][0] if self.items else Status.SUCCESS

    @property
    def comment(self) -> str:
        return "; ".join(c for _s, c, _o in self.items)

    @property
    def offending(self) -> tuple[int, ...]:
        seen: list[int] = []
        for _s, _c, tags in self.items:
            seen.extend(t for t in tags if t not in seen)
        return tuple(seen)


#: statuses whose tags go in Attribute Identifier List (0000,1005), PS3.7 C.4 / C.5: No Such
#: Attribute, Attribute List Error, Missing Attribute; other 01xx statuses name them in Offending
#: Element (0000,0901)
ATTRIBUTE_LIST_STATUSES = frozenset({0x0105, 0x0107, 0x0120})


def status_fields(status: Status | int, comment: str = "",
                  offending: Sequence[int] = ()) -> dict[str, object]:
    """The optional status elements of a response command set (PS3.7 C.4): Error Comment and
    the tags at fault, as Attribute Identifier List or Offending Element by the status."""
    fields: dict[str, object] = {}
    if comment:
        # Error Comment is LO (PS3.7 C.4): one value of at most 64 characters, so no backslash,
        # which would split it into several values (e.g. an Image Display Format STANDARD\3,3)
        fields["ErrorComment"] = comment.replace("\\", "/")[:64]
    if offending:
        tags = [int(Tag(t)) for t in offending]
        if int(status) in ATTRIBUTE_LIST_STATUSES:
            fields["AttributeIdentifierList"] = tags
        elif 0x0100 <= int(status) <= 0x01FF:
            fields["OffendingElement"] = tags
    return fields


@dataclass
class Reply:
    """What an operation answers: a status (Success or a warning), an optional data set and, for
    N-CREATE, the instance UID the SCP assigned or accepted."""

    status: Status = Status.SUCCESS
    dataset: Dataset | None = None
    comment: str = ""
    offending: tuple[int, ...] = ()
    instance_uid: str | None = None

    @classmethod
    def with_warnings(cls, warnings: Warnings, dataset: Dataset | None = None,
                      instance_uid: str | None = None) -> Reply:
        return cls(warnings.status, dataset, warnings.comment, warnings.offending, instance_uid)
