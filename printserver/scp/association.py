"""Per-association print state (PS3.4 H.2, H.5): the film session hierarchy and presentation LUTs.

All DIMSE handlers of one association run in that association's thread (pynetdicom), so this
object needs no lock. It is created when the association is accepted and dropped at release or
abort; jobs already queued keep their own copy (see :mod:`printserver.scp.print_job`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from printserver.config import LimitsConfig, PrinterConfig
from printserver.jobs import ids
from printserver.jobs.spool import Stager
from printserver.jobs.writer import JobWriter
from printserver.scp.association_log import AssociationTrace
from printserver.scp.attributes import RuleContext
from printserver.scp.model import (FILM_BOX, FILM_SESSION, GRAYSCALE_IMAGE_BOX, GRAYSCALE_META,
                                   FilmSession, PresentationLUTRecord)
from printserver.scp.status import DimseError
from printserver.vocabulary import Status


@dataclass
class PrintAssociation:
    """State of one association with a Print SCU.

    Attributes
    ----------
    calling_ae, called_ae : str
    printer : PrinterConfig
        The printer the called AE title selected.
    limits : LimitsConfig
    strict : bool
        Unknown attributes fail with 0105 (True) or are ignored with 0107 (False).
    negotiated : frozenset of str
        Abstract syntaxes of the accepted presentation contexts.
    jobs : JobWriter
        Where N-ACTION freezes print jobs.
    staging : Stager
        Stages this association's image pixels (Image Box N-SET) until N-ACTION.
    queued_jobs : list of str
        Ids of the print jobs this association queued (N-ACTION), in order.
    trace : AssociationTrace or None
        What the association did, for the association records (None: not recorded).
    """

    calling_ae: str
    called_ae: str
    printer: PrinterConfig
    limits: LimitsConfig
    strict: bool
    negotiated: frozenset[str]
    jobs: JobWriter | None = None
    staging: Stager | None = None
    film_session: FilmSession | None = None
    presentation_luts: dict[str, PresentationLUTRecord] = field(default_factory=dict)
    #: SOP Instance UID → SOP Class UID of every live instance (0112 / 0119 checks)
    instances: dict[str, str] = field(default_factory=dict)
    queued_jobs: list[str] = field(default_factory=list)
    trace: AssociationTrace | None = None

    # -- negotiation -------------------------------------------------------------------------
    def has_context(self, abstract_syntax: str) -> bool:
        return abstract_syntax in self.negotiated

    @property
    def image_box_class(self) -> str:
        """Image box class created at Film Box N-CREATE: grayscale (the only meta supported)."""
        return GRAYSCALE_IMAGE_BOX

    @property
    def print_management(self) -> bool:
        """Whether film session / film box requests are allowed (meta or individual contexts)."""
        return bool({GRAYSCALE_META, FILM_SESSION, FILM_BOX} & self.negotiated)

    # -- instances ---------------------------------------------------------------------------
    @staticmethod
    def new_uid() -> str:
        """A new UID for an instance or a Print Job (:func:`printserver.jobs.ids.new_uid`)."""
        return ids.new_uid()

    def claim_uid(self, uid: str | None, class_uid: str) -> str:
        """The instance UID for an N-CREATE: the SCU's (refused if in use, 0111) or a new one."""
        if uid:
            if uid in self.instances:
                raise DimseError(Status.DUPLICATE_SOP_INSTANCE, f"instance {uid} already exists")
            return uid
        return self.new_uid()

    def lookup(self, uid: str | None, class_uid: str) -> None:
        """Check that ``uid`` is a live instance of ``class_uid`` (0112 unknown, 0119 other class)."""
        known = self.instances.get(uid or "")
        if known is None:
            raise DimseError(Status.NO_SUCH_SOP_INSTANCE, f"no such instance {uid}")
        if known != class_uid:
            raise DimseError(Status.CLASS_INSTANCE_CONFLICT,
                             f"instance {uid} is of class {known}, not {class_uid}")

    def forget(self, uids: list[str]) -> None:
        for uid in uids:
            self.instances.pop(uid, None)

    def rule_context(self, big_endian: bool = False) -> RuleContext:
        return RuleContext(printer=self.printer, limits=self.limits, strict=self.strict,
                           state=self, big_endian=big_endian)

    # -- resources ---------------------------------------------------------------------------
    def held_bytes(self) -> int:
        """Pixel bytes held by this association (all image boxes of the session)."""
        if self.film_session is None:
            return 0
        return sum(b.image.nbytes for fb in self.film_session.film_boxes
                   for b in fb.image_boxes if b.image is not None)

    def referenced_luts(self) -> set[str]:
        """Presentation LUT UIDs referenced by the session, its film boxes or image boxes."""
        refs: set[str] = set()
        fs = self.film_session
        if fs is None:
            return refs
        attrs = [fs.attributes] + [fb.attributes for fb in fs.film_boxes] + [
            ib.attributes for fb in fs.film_boxes for ib in fb.image_boxes]
        for a in attrs:
            uid = a.get("ReferencedPresentationLUTSequence")
            if uid:
                refs.add(uid)
        return refs
