"""Basic Annotation Box SOP class (PS3.4 H.4.4, PS3.3 C.13.7): N-SET.

Annotation boxes are created by the SCP at Film Box N-CREATE, as many as the printer's Annotation
Display Format ID defines. The SCU sets Annotation Position (1..n, unique in the film box) and Text
String; a zero-length Text String erases the text.
"""

from __future__ import annotations

from pydicom.dataset import Dataset

from printserver.scp.association import PrintAssociation
from printserver.scp.attributes import AttributeRule, encode, integer, text, validate
from printserver.scp.model import ANNOTATION_BOX
from printserver.scp.status import DimseError, Reply
from printserver.vocabulary import Status

#: PS3.4 Table H.4-13
RULES = (
    AttributeRule("AnnotationPosition", required=True, parse=integer(1, 65535)),
    AttributeRule("TextString", parse=text(64)),
)


def update(state: PrintAssociation, uid: str | None, ds: Dataset | None) -> Reply:
    """N-SET an annotation box (PS3.4 H.4.4.2.1)."""
    if not state.has_context(ANNOTATION_BOX):
        raise DimseError(Status.NO_SUCH_SOP_CLASS, "Basic Annotation Box context not negotiated")
    state.lookup(uid, ANNOTATION_BOX)
    assert state.film_session is not None
    film_box, box = next((fb, a) for fb in state.film_session.film_boxes
                         for a in fb.annotation_boxes if a.uid == uid)
    ctx = state.rule_context()
    values = validate(ds, RULES, ctx, apply_defaults=False)
    position = values["AnnotationPosition"]
    if position > len(film_box.annotation_boxes):
        raise DimseError(Status.INVALID_ATTRIBUTE_VALUE,
                         f"Annotation Position {position} > {len(film_box.annotation_boxes)}",
                         [0x20300010])
    if any(a.position == position and a is not box for a in film_box.annotation_boxes):
        raise DimseError(Status.INVALID_ATTRIBUTE_VALUE,
                         f"Annotation Position {position} is used by another box", [0x20300010])
    box.position = position
    if "TextString" in values or (ds is not None and "TextString" in ds):
        box.text = values.get("TextString", "")
    return Reply.with_warnings(ctx.warnings, encode(values, RULES))
