"""Basic Film Session SOP class (PS3.4 H.4.1): N-CREATE, N-SET, N-ACTION, N-DELETE.

Attributes of PS3.4 Table H.4-2. Medium Type and Film Destination are printer-defined (PS3.3
C.13.1 lists Defined Terms a printer may extend): a value the printer does not have is replaced
by its default with warning 0116 unless ``strict_attributes`` (:mod:`printserver.scp.attributes`).
Memory Allocation is not supported (warning B600). Illumination,
Reflected Ambient Light and the Referenced Presentation LUT Sequence are accepted on the session
for pre-CP-173 SCUs and apply to every film box that does not set its own.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from pydicom.dataset import Dataset

from printserver.scp.association import PrintAssociation
from printserver.scp.attributes import (AttributeRule, RuleContext, code, encode, integer,
                                        json_sequence, printer_default, text, validate)
from printserver.scp.model import FILM_SESSION, FilmBox, FilmSession
from printserver.scp.presentation_lut import ILLUMINATION, PLUT_REFERENCE, REFLECTED_AMBIENT_LIGHT
from printserver.scp.print_job import print_films
from printserver.scp.status import DimseError, Reply
from printserver.vocabulary import PrintPriority, Status


def _memory_allocation(value: Any, ctx: RuleContext) -> int:
    ctx.warnings.add(Status.MEMORY_ALLOCATION_NOT_SUPPORTED, "Memory Allocation is not supported")
    return int(value)


def _film_destination(value: Any, ctx: RuleContext) -> str:
    s = str(value).strip().upper()
    if s not in ctx.printer.film_destinations:
        raise ValueError(f"{s!r} not in {', '.join(ctx.printer.film_destinations)}")
    if s.startswith("BIN_") and not re.fullmatch(r"BIN_[1-9]\d*", s):
        raise ValueError(f"{s!r} is not BIN_i")
    return s


def _default_medium(ctx: RuleContext) -> str:
    return ctx.printer.default_medium_type


def _default_destination(ctx: RuleContext) -> str:
    return ctx.printer.default_film_destination


#: PS3.4 Table H.4-2
RULES = (
    AttributeRule("SpecificCharacterSet", parse=lambda v, c: list(v) if not isinstance(v, str) else v),
    AttributeRule("NumberOfCopies", parse=integer(1, 99), default=lambda c: 1),
    AttributeRule("PrintPriority", parse=code(lambda c: [p.value for p in PrintPriority]),
                  default=lambda c: "MED"),
    AttributeRule("MediumType", parse=code(lambda c: c.printer.medium_types),
                  default=_default_medium, fallback=printer_default(_default_medium)),
    AttributeRule("FilmDestination", parse=_film_destination,
                  default=_default_destination, fallback=printer_default(_default_destination)),
    AttributeRule("FilmSessionLabel", parse=text(64)),
    AttributeRule("MemoryAllocation", parse=_memory_allocation),
    AttributeRule("OwnerID", parse=text(16)),
    AttributeRule("ProposedStudySequence", parse=json_sequence, echo=False),
    # pre-CP-173: presentation attributes on the session, pushed down to film boxes
    dataclasses.replace(ILLUMINATION, default=None),
    dataclasses.replace(REFLECTED_AMBIENT_LIGHT, default=None),
    PLUT_REFERENCE,
)


#: presentation attributes a pre-CP-173 SCU sets on the session for all its film boxes
SESSION_PRESENTATION = ("Illumination", "ReflectedAmbientLight", "ReferencedPresentationLUTSequence")


def create(state: PrintAssociation, uid: str | None, ds: Dataset | None) -> Reply:
    """N-CREATE the film session (PS3.4 H.4.1.2.1); a second one on the association → 0111."""
    if not state.print_management:
        raise DimseError(Status.NO_SUCH_SOP_CLASS, "no print management context negotiated")
    if state.film_session is not None:
        raise DimseError(Status.DUPLICATE_SOP_INSTANCE,
                         "only one Film Session per association (PS3.4 H.2.2)")
    uid = state.claim_uid(uid, FILM_SESSION)
    ctx = state.rule_context()
    values = validate(ds, RULES, ctx, apply_defaults=True)
    state.film_session = FilmSession(uid, values)
    state.instances[uid] = FILM_SESSION
    return Reply.with_warnings(ctx.warnings, encode(values, RULES), uid)


def update(state: PrintAssociation, uid: str | None, ds: Dataset | None) -> Reply:
    """N-SET the film session (PS3.4 H.4.1.2.2); atomic: a failure changes nothing."""
    state.lookup(uid, FILM_SESSION)
    session = state.film_session
    assert session is not None
    ctx = state.rule_context()
    values = validate(ds, RULES, ctx, apply_defaults=False)
    session.attributes.update(values)
    for keyword in SESSION_PRESENTATION:  # pre-CP-173: the session's values apply to its films
        if keyword in values:
            for film_box in session.film_boxes:
                film_box.attributes[keyword] = values[keyword]
    return Reply.with_warnings(ctx.warnings, encode(values, RULES))


def action(state: PrintAssociation, uid: str | None, action_type: int | None) -> Reply:
    """N-ACTION Print (PS3.4 H.4.1.2.4): all film boxes, collated copies, in one print job.

    C600 without film boxes; empty film boxes are skipped with warning B602 (nothing printed when
    all are empty).
    """
    state.lookup(uid, FILM_SESSION)
    if action_type != 1:
        raise DimseError(Status.NO_SUCH_ACTION, f"Action Type ID {action_type} (only 1 = Print)")
    session = state.film_session
    assert session is not None
    if not session.film_boxes:
        raise DimseError(Status.NO_FILM_BOX, "the film session has no film box")
    films = [fb for fb in session.film_boxes if fb.has_image]
    if len(films) < len(session.film_boxes):
        if not films:
            return Reply(Status.EMPTY_PAGE_SESSION, comment="no image box has an image")
        reply = print_films(state, films, "FILM_SESSION")
        return Reply(Status.EMPTY_PAGE_SESSION, reply.dataset,
                     f"{len(session.film_boxes) - len(films)} empty film box(es) not printed")
    return print_films(state, films, "FILM_SESSION")


def delete(state: PrintAssociation, uid: str | None) -> Reply:
    """N-DELETE the film session and its whole hierarchy (PS3.4 H.4.1.2.3)."""
    state.lookup(uid, FILM_SESSION)
    release(state)
    return Reply()


def discard_images(state: PrintAssociation, film_box: FilmBox) -> None:
    """Drop the staging files of a film box's images (queued jobs hold their own links)."""
    if state.staging is None:
        return
    state.staging.discard(*(box.image.staged for box in film_box.image_boxes
                            if box.image is not None and box.image.staged is not None))


def release(state: PrintAssociation) -> None:
    """Drop the film session hierarchy (N-DELETE, or the association ending: PS3.4 H.5)."""
    session = state.film_session
    if session is None:
        return
    uids = [session.uid]
    for fb in session.film_boxes:
        discard_images(state, fb)
        uids.append(fb.uid)
        uids.extend(b.uid for b in fb.image_boxes)
        uids.extend(b.uid for b in fb.annotation_boxes)
    state.forget(uids)
    state.film_session = None
