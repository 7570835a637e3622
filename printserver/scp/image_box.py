"""Basic Grayscale Image Box SOP class (PS3.4 H.4.3.1): N-SET.

The image box receives Image Box Position and the Basic Grayscale Image Sequence (one item with the
pixel module: MONOCHROME1/2, 8 bits in 8 or 12 bits in 16, unsigned; zero items erase the box),
plus Polarity, Magnification / Smoothing Type, Min / Max Density (B605 clamping), Configuration
Information, Requested Image Size, Requested Decimate/Crop Behavior and a Referenced Presentation
LUT. Pixels are kept exactly as received (native little endian; big endian data is swapped).
Magnification Type, Smoothing Type and Configuration Information are printer-defined: a value the
printer does not have is, unless ``strict_attributes``, dropped with warning 0116, so that the
film box's value applies (:mod:`printserver.scp.attributes`).

Image larger than its box at the requested resolution (PS3.4 H.4.3.1.2.1.2): CROP → B609,
DECIMATE → B60A (C603 with Magnification Type NONE), FAIL → C603, nothing requested → B604
(demagnified at rendering). Limits: rows or columns beyond the configured maximum, or pixel bytes
beyond the association's budget → C605.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydicom.dataset import Dataset

from printserver.layout.film_layout import image_area_sizes
from printserver.layout.spec import FilmSpec
from printserver.scp.association import PrintAssociation
from printserver.scp.attributes import (AttributeRule, RuleContext, code, configuration_text,
                                        density, encode, integer, printer_default, validate)
from printserver.scp.model import FilmBox, ImageBox, ImageRecord
from printserver.scp.presentation_lut import PLUT_REFERENCE, check_depth
from printserver.scp.status import DimseError, Reply
from printserver.vocabulary import (DecimateCropBehavior, PhotometricInterpretation,
                                    Polarity, Status)

_PIXEL_MODULE = {"SamplesPerPixel", "PhotometricInterpretation", "Rows", "Columns",
                 "PixelAspectRatio", "BitsAllocated", "BitsStored", "HighBit",
                 "PixelRepresentation", "PixelData"}
_TAG = {"SamplesPerPixel": 0x00280002, "PhotometricInterpretation": 0x00280004, "Rows": 0x00280010,
        "Columns": 0x00280011, "PixelAspectRatio": 0x00280034, "BitsAllocated": 0x00280100,
        "BitsStored": 0x00280101, "HighBit": 0x00280102, "PixelRepresentation": 0x00280103,
        "PixelData": 0x7FE00010}


def _bad(keyword: str, comment: str) -> DimseError:
    return DimseError(Status.INVALID_ATTRIBUTE_VALUE, f"{keyword}: {comment}", [_TAG[keyword]])


def _image_sequence(value: Any, ctx: RuleContext) -> ImageRecord | None:
    """Basic Grayscale Image Sequence (2020,0110): 0 items = erase, else 1 checked item."""
    if len(value) == 0:
        return None
    if len(value) != 1:
        raise ValueError(f"needs 0 or 1 item, got {len(value)}")
    elements = list(value[0])  # each element converted once, then read from this dict
    item = {e.keyword: e.value for e in elements}
    extra = [e.tag for e in elements if e.tag.element != 0 and e.keyword not in _PIXEL_MODULE]
    if extra:
        if ctx.strict:
            raise DimseError(Status.NO_SUCH_ATTRIBUTE, "unsupported attribute in image item", extra)
        ctx.warnings.add(Status.ATTRIBUTE_LIST_ERROR, "ignored attributes in image item", extra)
    for keyword in ("SamplesPerPixel", "PhotometricInterpretation", "Rows", "Columns",
                    "BitsAllocated", "BitsStored", "HighBit", "PixelRepresentation", "PixelData"):
        if item.get(keyword) in (None, b"", ""):
            raise DimseError(Status.MISSING_ATTRIBUTE, f"{keyword} missing in image item",
                             [_TAG[keyword]])
    if item["SamplesPerPixel"] != 1:
        raise _bad("SamplesPerPixel", "must be 1")
    pi = str(item["PhotometricInterpretation"]).strip().upper()
    if pi not in {p.value for p in PhotometricInterpretation}:
        raise _bad("PhotometricInterpretation", "MONOCHROME1 or MONOCHROME2")
    rows, columns = int(item["Rows"]), int(item["Columns"])
    if rows < 1 or columns < 1:
        raise _bad("Rows", "Rows and Columns must be > 0")
    bs, ba, hb = int(item["BitsStored"]), int(item["BitsAllocated"]), int(item["HighBit"])
    allowed = {8: 8, 12: 16} if ctx.printer.supports_12_bit else {8: 8}
    if bs not in allowed:
        raise _bad("BitsStored", f"must be one of {sorted(allowed)}")
    if ba != allowed[bs]:
        raise _bad("BitsAllocated", f"must be {allowed[bs]} with Bits Stored {bs}")
    if hb != bs - 1:
        raise _bad("HighBit", f"must be {bs - 1}")
    if item["PixelRepresentation"] != 0:
        raise _bad("PixelRepresentation", "must be 0 (unsigned)")
    aspect = None
    if item.get("PixelAspectRatio") is not None:
        aspect = [int(v) for v in item["PixelAspectRatio"]]
        if len(aspect) != 2 or min(aspect) < 1:
            raise _bad("PixelAspectRatio", "needs two positive integers")
    if rows > ctx.limits.max_image_rows or columns > ctx.limits.max_image_columns:
        raise DimseError(Status.INSUFFICIENT_MEMORY,
                         f"image {columns}x{rows} exceeds {ctx.limits.max_image_columns}x"
                         f"{ctx.limits.max_image_rows}", [_TAG["Rows"]])
    need = rows * columns * ba // 8
    data = item["PixelData"]
    if len(data) < need:
        raise _bad("PixelData", f"{len(data)} bytes, {need} needed")
    data = data[:need] if len(data) > need else data
    data = bytes(data)
    if ba == 16 and ctx.big_endian:
        data = np.frombuffer(data, ">u2").astype("<u2").tobytes()
    return ImageRecord(rows, columns, ba, bs, hb, 0, pi, 1, aspect, data)


def _requested_image_size(value: Any, ctx: RuleContext) -> float:
    size = float(value)
    if size <= 0:
        raise ValueError("must be > 0 mm")
    return size


#: a printer-defined image box value the printer does not have is left unset: the film box's
#: value applies
_FILM_BOX_VALUE = printer_default(lambda c: None)

#: PS3.4 Table H.4-10
RULES = (
    AttributeRule("ImageBoxPosition", required=True, parse=integer(1, 65535)),
    AttributeRule("BasicGrayscaleImageSequence", required=True, parse=_image_sequence, echo=False),
    AttributeRule("Polarity", parse=code(lambda c: [p.value for p in Polarity])),
    AttributeRule("MagnificationType", parse=code(lambda c: c.printer.magnification_types),
                  fallback=_FILM_BOX_VALUE),
    AttributeRule("SmoothingType", parse=code(lambda c: c.printer.smoothing_types),
                  supported=lambda c: bool(c.printer.smoothing_types), fallback=_FILM_BOX_VALUE),
    AttributeRule("MinDensity", parse=density("Min")),
    AttributeRule("MaxDensity", parse=density("Max")),
    AttributeRule("ConfigurationInformation",
                  parse=configuration_text(lambda c: c.printer.configuration_choices),
                  fallback=_FILM_BOX_VALUE),
    AttributeRule("RequestedImageSize", parse=_requested_image_size),
    AttributeRule("RequestedDecimateCropBehavior",
                  parse=code(lambda c: [d.value for d in DecimateCropBehavior])),
    PLUT_REFERENCE,
)


def box_size(film_box: FilmBox, state: PrintAssociation, index: int) -> tuple[int, int]:
    """(columns, rows) of printer pixels the image at 1-based ``index`` may fill (PS3.3 C.13.5.1).

    This is the renderer's own geometry (:func:`printserver.layout.film_layout.image_area_sizes`:
    resolution, margins, gaps between boxes, annotation lines, Trim), so that an image accepted
    here with Requested Decimate/Crop Behavior FAIL never fails when the film is rendered, and an
    image sized to the box prints without being demagnified.
    """
    a = film_box.attributes
    spec = FilmSpec(image_display_format=film_box.display_format.text,
                    film_size_id=a["FilmSizeID"], film_orientation=a["FilmOrientation"],
                    trim=a.get("Trim") or "NO", requested_resolution_id=a["RequestedResolutionID"],
                    annotation_display_format_id=a.get("AnnotationDisplayFormatID"))
    # the same for every image box of the film until a film box N-SET changes e.g. Trim
    if film_box.box_sizes is None or film_box.box_sizes[0] != spec:
        film_box.box_sizes = (spec, image_area_sizes(spec, state.printer))
    sizes = film_box.box_sizes[1]
    if not 1 <= index <= len(sizes):
        raise ValueError(f"position {index} outside {film_box.display_format.text}")
    return sizes[index - 1]


def _check_fit(image: ImageRecord, box: ImageBox, film_box: FilmBox, state: PrintAssociation,
               values: dict[str, Any], ctx: RuleContext) -> None:
    width, height = box_size(film_box, state, values["ImageBoxPosition"])
    if image.columns <= width and image.rows <= height:
        return
    behaviour = values.get("RequestedDecimateCropBehavior",
                           box.attributes.get("RequestedDecimateCropBehavior"))
    magnification = values.get("MagnificationType", box.attributes.get(
        "MagnificationType", film_box.attributes.get("MagnificationType")))
    what = f"image {image.columns}x{image.rows} larger than box {width}x{height}"
    if behaviour == "FAIL" or (behaviour == "DECIMATE" and magnification == "NONE"):
        raise DimseError(Status.IMAGE_TOO_LARGE, what)
    if behaviour == "CROP":
        ctx.warnings.add(Status.IMAGE_CROPPED, what + ", cropped")
    elif behaviour == "DECIMATE":
        ctx.warnings.add(Status.IMAGE_DECIMATED, what + ", decimated")
    else:
        ctx.warnings.add(Status.IMAGE_DEMAGNIFIED, what + ", demagnified")


def _find(state: PrintAssociation, uid: str | None) -> tuple[FilmBox, ImageBox]:
    state.lookup(uid, state.image_box_class)
    assert state.film_session is not None
    for fb in state.film_session.film_boxes:
        for box in fb.image_boxes:
            if box.uid == uid:
                return fb, box
    raise DimseError(Status.NO_SUCH_SOP_INSTANCE, f"no such image box {uid}")


def effective_plut(state: PrintAssociation, film_box: FilmBox, attributes: dict[str, Any]):
    """The Presentation LUT that applies to an image box: its own, else the film box's."""
    uid = attributes.get("ReferencedPresentationLUTSequence") or film_box.attributes.get(
        "ReferencedPresentationLUTSequence")
    return state.presentation_luts.get(uid) if uid else None


def update(state: PrintAssociation, uid: str | None, ds: Dataset | None,
           big_endian: bool = False) -> Reply:
    """N-SET a grayscale image box (PS3.4 H.4.3.1.2.1); atomic: a failure changes nothing."""
    if not state.print_management:
        raise DimseError(Status.NO_SUCH_SOP_CLASS, "no print management context negotiated")
    film_box, box = _find(state, uid)
    ctx = state.rule_context(big_endian)
    values = validate(ds, RULES, ctx, apply_defaults=False)
    position = values["ImageBoxPosition"]
    if position > film_box.display_format.box_count:
        raise DimseError(Status.INVALID_ATTRIBUTE_VALUE,
                         f"Image Box Position {position} outside {film_box.display_format.text}",
                         [0x20200010])
    if any(b.position == position and b is not box for b in film_box.image_boxes):
        raise DimseError(Status.INVALID_ATTRIBUTE_VALUE,
                         f"Image Box Position {position} is used by another image box", [0x20200010])
    image: ImageRecord | None = values.pop("BasicGrayscaleImageSequence")
    if image is not None:
        merged = {**box.attributes, **values}
        check_depth(effective_plut(state, film_box, merged), image.bits_stored)
        held = state.held_bytes() - (box.image.nbytes if box.image else 0)
        if held + image.nbytes > state.limits.max_spool_bytes_per_association:
            raise DimseError(Status.INSUFFICIENT_MEMORY,
                             f"association holds more than "
                             f"{state.limits.max_spool_bytes_per_association} pixel bytes")
        _check_fit(image, box, film_box, state, values, ctx)
    box.attributes.update(values)
    box.position = position
    if box.image is not None and box.image.staged is not None and state.staging is not None:
        state.staging.discard(box.image.staged)
    if image is not None and state.staging is not None:
        # written right after the response leaves (PrintHandlers.on_n_set), fsync'd on this
        # association's staging threads; N-ACTION waits until it is durable
        image.staged = state.staging.stage(image.pixel_data)
    box.image = image
    return Reply.with_warnings(ctx.warnings, encode(values, RULES))


__all__ = ["RULES", "box_size", "effective_plut", "update"]
