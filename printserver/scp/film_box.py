"""Basic Film Box SOP class (PS3.4 H.4.2): N-CREATE, N-SET, N-ACTION, N-DELETE.

N-CREATE takes the attributes of PS3.4 Table H.4-6, creates one image box per cell of the Image
Display Format (STANDARD, ROW, COL and the printer's SLIDE / SUPERSLIDE / CUSTOM\\i layouts) and,
when the Basic Annotation Box class was negotiated, the annotation boxes of the Annotation Display
Format ID; the response lists them in position order. N-SET takes Table H.4-7.

Printer-defined attributes (PS3.3 C.13.3 leaves them to the printer, or lists Defined Terms a
printer may extend): Film Size ID, Requested Resolution ID, Annotation Display Format ID,
Magnification Type, Smoothing Type, Border and Empty Image Density, Configuration Information. A
value the printer does not have is, unless ``strict_attributes``, replaced by the printer's
default with warning 0116 (:mod:`printserver.scp.attributes`); an Annotation Display Format ID
the printer does not define is kept and gets ``unknown_annotation_boxes`` boxes, laid out as one
line of text across the top of the film (:mod:`printserver.layout.film_layout`).

C616 policy: Film Session N-ACTION is supported, so a new film box never fails because an earlier
one is unprinted; all film boxes of the session stay and any of them can be addressed by UID.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from pydicom.dataset import Dataset

from printserver.config import PrinterConfig
from printserver.scp.association import PrintAssociation
from printserver.scp.attributes import (AttributeRule, RuleContext, code, configuration_text,
                                        density, density_term, encode, printer_default,
                                        reference_item, uid_reference, validate)
from printserver.scp.film_session import SESSION_PRESENTATION, discard_images
from printserver.scp.model import (ANNOTATION_BOX, FILM_BOX, FILM_SESSION, AnnotationBox, FilmBox,
                                   ImageBox)
from printserver.scp.presentation_lut import ILLUMINATION, PLUT_REFERENCE, REFLECTED_AMBIENT_LIGHT
from printserver.scp.print_job import print_films
from printserver.scp.status import DimseError, Reply
from printserver.vocabulary import FilmOrientation, ImageDisplayFormat, Status, Trim


def _display_format(value: Any, ctx: RuleContext) -> str:
    text_value = str(value).strip()
    fmt = ImageDisplayFormat.resolve(
        text_value, {k.upper(): v for k, v in ctx.printer.named_formats.items()},
        max_boxes=ctx.limits.max_image_boxes_per_film)
    allowed = [f.upper() for f in ctx.printer.display_formats]
    if allowed and text_value.upper() not in allowed:
        raise ValueError(f"'{text_value}' not in this printer's formats {', '.join(allowed)}")
    return fmt.text


def _annotation_format(value: Any, ctx: RuleContext) -> str:
    s = str(value).strip().upper()
    formats = {k.upper() for k in ctx.printer.annotation_formats}
    if s not in formats:
        raise ValueError(f"{s!r} not in {', '.join(sorted(formats)) or 'none'}")
    return s


def _kept(value: Any, ctx: RuleContext) -> str:
    """An Annotation Display Format ID the printer does not define, kept as sent (lenient)."""
    return str(value).strip().upper()


def annotation_box_count(printer: PrinterConfig, format_id: str) -> int:
    """Annotation boxes of an Annotation Display Format ID: the printer's count for the ID, or
    ``unknown_annotation_boxes`` for an ID it does not define (accepted leniently)."""
    counts = {k.upper(): n for k, n in printer.annotation_formats.items()}
    return int(counts.get(format_id.strip().upper(), printer.unknown_annotation_boxes))


def _printer_rule(keyword: str, parse: Any, default: Any, **kw: Any) -> AttributeRule:
    """A printer-defined film box attribute whose default is also its fallback."""
    return AttributeRule(keyword, parse=parse, default=default,
                         fallback=printer_default(default), **kw)


def _session_exists(uid: str, ctx: RuleContext) -> bool:
    fs = ctx.state.film_session
    return fs is not None and fs.uid == uid


MAGNIFICATION = _printer_rule("MagnificationType", code(lambda c: c.printer.magnification_types),
                              lambda c: c.printer.default_magnification_type)
SMOOTHING = _printer_rule("SmoothingType", code(lambda c: c.printer.smoothing_types),
                          lambda c: c.printer.smoothing_types[0] if c.printer.smoothing_types
                          else None,
                          supported=lambda c: bool(c.printer.smoothing_types))
CONFIGURATION = _printer_rule("ConfigurationInformation",
                              configuration_text(lambda c: c.printer.configuration_choices),
                              lambda c: c.printer.default_configuration_information or None)
MIN_DENSITY = AttributeRule("MinDensity", parse=density("Min"), default=lambda c: c.printer.min_density)
MAX_DENSITY = AttributeRule("MaxDensity", parse=density("Max"), default=lambda c: c.printer.max_density)

_SETTABLE = (
    MAGNIFICATION,
    MAX_DENSITY,
    CONFIGURATION,
    PLUT_REFERENCE,
    SMOOTHING,
    _printer_rule("BorderDensity", density_term, lambda c: c.printer.default_border_density),
    _printer_rule("EmptyImageDensity", density_term,
                  lambda c: c.printer.default_empty_image_density),
    MIN_DENSITY,
    AttributeRule("Trim", parse=code(lambda c: [t.value for t in Trim]), default=lambda c: "NO",
                  supported=lambda c: c.printer.supports_trim),
    ILLUMINATION,
    REFLECTED_AMBIENT_LIGHT,
)

#: PS3.4 Table H.4-6
CREATE_RULES = (
    AttributeRule("ImageDisplayFormat", required=True, parse=_display_format),
    AttributeRule("ReferencedFilmSessionSequence", required=True,
                  parse=uid_reference(FILM_SESSION, _session_exists),
                  encode=reference_item(FILM_SESSION)),
    AttributeRule("FilmOrientation", parse=code(lambda c: [o.value for o in FilmOrientation]),
                  default=lambda c: c.printer.default_orientation),
    _printer_rule("FilmSizeID", code(lambda c: c.printer.film_sizes),
                  lambda c: c.printer.default_film_size),
    AttributeRule("AnnotationDisplayFormatID", parse=_annotation_format, fallback=_kept),
    _printer_rule("RequestedResolutionID", code(lambda c: list(c.printer.resolution_dpi)),
                  lambda c: c.printer.default_resolution),
    *_SETTABLE,
)
#: PS3.4 Table H.4-7
SET_RULES = tuple(dataclasses.replace(r, default=None) for r in _SETTABLE)


def _inherit_session(values: dict[str, Any], state: PrintAssociation, ds: Dataset | None) -> None:
    """Pre-CP-173: presentation attributes set on the session apply to film boxes without them."""
    session = state.film_session
    assert session is not None
    sent = ds if ds is not None else Dataset()
    for keyword in SESSION_PRESENTATION:
        if keyword in session.attributes and keyword not in sent:
            values[keyword] = session.attributes[keyword]


def create(state: PrintAssociation, uid: str | None, ds: Dataset | None) -> Reply:
    """N-CREATE a film box (PS3.4 H.4.2.2.1)."""
    session = state.film_session
    if session is None:
        raise DimseError(Status.INVALID_OBJECT_INSTANCE, "no Film Session on this association")
    if len(session.film_boxes) >= state.limits.max_film_boxes_per_session:
        raise DimseError(Status.RESOURCE_LIMITATION,
                         f"at most {state.limits.max_film_boxes_per_session} film boxes per session")
    uid = state.claim_uid(uid, FILM_BOX)
    ctx = state.rule_context()
    values = validate(ds, CREATE_RULES, ctx, apply_defaults=True)
    _inherit_session(values, state, ds)
    fmt = ImageDisplayFormat.resolve(
        values["ImageDisplayFormat"], {k.upper(): v for k, v in state.printer.named_formats.items()},
        max_boxes=state.limits.max_image_boxes_per_film)
    film_box = FilmBox(uid, values, fmt)
    film_box.image_boxes = [ImageBox(state.new_uid(), state.image_box_class, i + 1)
                            for i in range(fmt.box_count)]
    annotations = state.has_context(ANNOTATION_BOX)
    if annotations and "AnnotationDisplayFormatID" in values:
        count = annotation_box_count(state.printer, values["AnnotationDisplayFormatID"])
        film_box.annotation_boxes = [AnnotationBox(state.new_uid(), i + 1) for i in range(count)]
    session.film_boxes.append(film_box)
    state.instances[uid] = FILM_BOX
    for box in film_box.image_boxes:
        state.instances[box.uid] = box.sop_class_uid
    for ann in film_box.annotation_boxes:
        state.instances[ann.uid] = ANNOTATION_BOX
    reply = encode(values, CREATE_RULES)
    reply.ReferencedImageBoxSequence = [reference_item(b.sop_class_uid)(b.uid)[0]
                                        for b in film_box.image_boxes]
    if annotations:
        reply.ReferencedBasicAnnotationBoxSequence = [
            reference_item(ANNOTATION_BOX)(a.uid)[0] for a in film_box.annotation_boxes]
    return Reply.with_warnings(ctx.warnings, reply, uid)


def find(state: PrintAssociation, uid: str | None) -> FilmBox:
    """The film box with this UID (0112 / 0119 otherwise)."""
    state.lookup(uid, FILM_BOX)
    assert state.film_session is not None
    return next(fb for fb in state.film_session.film_boxes if fb.uid == uid)


def update(state: PrintAssociation, uid: str | None, ds: Dataset | None) -> Reply:
    """N-SET a film box (PS3.4 H.4.2.2.2, Table H.4-7); atomic."""
    film_box = find(state, uid)
    ctx = state.rule_context()
    values = validate(ds, SET_RULES, ctx, apply_defaults=False)
    film_box.attributes.update(values)
    return Reply.with_warnings(ctx.warnings, encode(values, SET_RULES))


def action(state: PrintAssociation, uid: str | None, action_type: int | None) -> Reply:
    """N-ACTION Print of one film box (PS3.4 H.4.2.2.4); an empty page → B603, nothing printed."""
    film_box = find(state, uid)
    if action_type != 1:
        raise DimseError(Status.NO_SUCH_ACTION, f"Action Type ID {action_type} (only 1 = Print)")
    if not film_box.has_image:
        return Reply(Status.EMPTY_PAGE_FILM_BOX, comment="no image box has an image")
    return print_films(state, [film_box], "FILM_BOX")


def delete(state: PrintAssociation, uid: str | None) -> Reply:
    """N-DELETE a film box with its image and annotation boxes (PS3.4 H.4.2.2.3)."""
    film_box = find(state, uid)
    assert state.film_session is not None
    state.film_session.film_boxes.remove(film_box)
    discard_images(state, film_box)
    state.forget([film_box.uid] + [b.uid for b in film_box.image_boxes]
                 + [a.uid for a in film_box.annotation_boxes])
    return Reply()
