"""Presentation LUT SOP class (PS3.4 H.4.9, PS3.3 C.11.4): N-CREATE and N-DELETE.

A PLUT is created by shape (IDENTITY, LIN OD, or the softcopy INVERSE) or by table (LUT Descriptor
with 256..65536 entries, first mapped value 0, 10–16 bits, and LUT Data). It is referenced from a
film box, an image box, or (pre-CP-173 SCUs) the film session; while referenced it is not deleted.
The rules here for referencing a PLUT and for Illumination / Reflected Ambient Light are shared by
the film session and film box tables. A printer with ``supports_presentation_lut = false`` (e.g.
from a profile) has none of this: N-CREATE → 0118, the attributes are unsupported (0107 / 0105).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydicom.dataset import Dataset

from printserver.gsdf.plut import PresentationLUT
from printserver.scp.association import PrintAssociation
from printserver.scp.attributes import (AttributeRule, RuleContext, encode, integer, reference_item,
                                        uid_reference, validate)
from printserver.scp.model import PRESENTATION_LUT, PresentationLUTRecord
from printserver.scp.status import DimseError, Reply
from printserver.vocabulary import Status


def _plut_exists(uid: str, ctx: RuleContext) -> bool:
    return uid in ctx.state.presentation_luts


def _supported(ctx: RuleContext) -> bool:
    return ctx.printer.supports_presentation_lut


#: Referenced Presentation LUT Sequence (2050,0500): one item naming an existing PLUT
PLUT_REFERENCE = AttributeRule("ReferencedPresentationLUTSequence",
                               parse=uid_reference(PRESENTATION_LUT, _plut_exists),
                               encode=reference_item(PRESENTATION_LUT), supported=_supported)
#: Illumination (2010,015E) and Reflected Ambient Light (2010,0160), cd/m², PS3.3 C.13.3
ILLUMINATION = AttributeRule("Illumination", parse=integer(0, 65535),
                             default=lambda c: c.printer.illumination, supported=_supported)
REFLECTED_AMBIENT_LIGHT = AttributeRule("ReflectedAmbientLight", parse=integer(0, 65535),
                                        default=lambda c: c.printer.reflected_ambient_light,
                                        supported=_supported)


def _words(value: Any, count: int | None, big_endian: bool) -> list[int]:
    """US / OW values that pydicom may hand over as ints, lists or raw bytes (ambiguous VRs)."""
    if isinstance(value, (bytes, bytearray)):
        return np.frombuffer(value, ">u2" if big_endian else "<u2").astype(int).tolist()
    if isinstance(value, int):
        return [value]
    return [int(v) for v in value]


def _lut_sequence(value: Any, ctx: RuleContext) -> dict[str, Any]:
    """Presentation LUT Sequence (2050,0010): one item with LUT Descriptor and LUT Data."""
    if len(value) != 1:
        raise ValueError(f"needs exactly 1 item, got {len(value)}")
    item = value[0]
    if "LUTDescriptor" not in item or "LUTData" not in item:
        raise DimseError(Status.MISSING_ATTRIBUTE, "LUT Descriptor and LUT Data are required",
                         [0x00283002 if "LUTDescriptor" not in item else 0x00283006])
    descriptor = _words(item["LUTDescriptor"].value, 3, ctx.big_endian)
    if len(descriptor) != 3:
        raise ValueError("LUT Descriptor needs 3 values")
    entries = descriptor[0] or 65536
    if entries < 256 or descriptor[1] != 0 or not 10 <= descriptor[2] <= 16:
        raise ValueError("LUT Descriptor must be entries>=256\\0\\10..16 bits")
    data = _words(item["LUTData"].value, entries, ctx.big_endian)
    explanation = str(item.get("LUTExplanation", "") or "")
    # the calibration core's rules (PS3.3 C.11.4.1); ParameterError is a ValueError → 0106
    PresentationLUT.from_table(descriptor, data, explanation)
    return {"descriptor": tuple(descriptor), "data": data, "explanation": explanation}


CREATE_RULES = (
    AttributeRule("PresentationLUTShape",
                  parse=lambda v, c: PresentationLUT.from_shape(v).shape.value),
    AttributeRule("PresentationLUTSequence", parse=_lut_sequence, echo=False),
)


def create(state: PrintAssociation, uid: str | None, ds: Dataset | None,
           big_endian: bool = False) -> Reply:
    """N-CREATE a Presentation LUT (PS3.4 H.4.9.2.1)."""
    if not state.has_context(PRESENTATION_LUT):
        raise DimseError(Status.NO_SUCH_SOP_CLASS, "Presentation LUT context not negotiated")
    if not state.printer.supports_presentation_lut:
        raise DimseError(Status.NO_SUCH_SOP_CLASS,
                         f"printer {state.printer.ae_title} has no Presentation LUT")
    uid = state.claim_uid(uid, PRESENTATION_LUT)
    ctx = state.rule_context(big_endian)
    values = validate(ds, CREATE_RULES, ctx, apply_defaults=False)
    shape, table = values.get("PresentationLUTShape"), values.get("PresentationLUTSequence")
    if (shape is None) == (table is None):
        raise DimseError(Status.MISSING_ATTRIBUTE if shape is None else Status.INVALID_ATTRIBUTE_VALUE,
                         "exactly one of Presentation LUT Shape or Sequence is required",
                         [0x20500020, 0x20500010])
    if shape is not None:
        record = PresentationLUTRecord(uid, shape=shape)
    else:
        record = PresentationLUTRecord(uid, descriptor=table["descriptor"], data=table["data"],
                                       explanation=table["explanation"])
    state.presentation_luts[uid] = record
    state.instances[uid] = PRESENTATION_LUT
    reply = encode(values, CREATE_RULES)
    if table is not None:
        reply.PresentationLUTSequence = ds.PresentationLUTSequence
    return Reply.with_warnings(ctx.warnings, reply, uid)


def delete(state: PrintAssociation, uid: str | None) -> Reply:
    """N-DELETE a Presentation LUT; refused with 0110 while it is referenced (PS3.4 H.4.9.2.2)."""
    state.lookup(uid, PRESENTATION_LUT)
    assert uid is not None
    if uid in state.referenced_luts():
        raise DimseError(Status.PROCESSING_FAILURE, "Presentation LUT is still referenced")
    del state.presentation_luts[uid]
    state.forget([uid])
    return Reply()


def to_lut(record: PresentationLUTRecord) -> PresentationLUT:
    """The calibration core's :class:`PresentationLUT` for a stored record."""
    if record.shape is not None:
        return PresentationLUT.from_shape(record.shape)
    return PresentationLUT.from_table(record.descriptor, record.data or [], record.explanation)


def check_depth(record: PresentationLUTRecord | None, bits_stored: int) -> None:
    """A table PLUT must have 2**Bits Stored entries (PS3.4 H.4.9.1.1.1, C.11.4) → else 0106."""
    if record is not None and not to_lut(record).matches(bits_stored):
        raise DimseError(Status.INVALID_ATTRIBUTE_VALUE,
                         f"Presentation LUT has {record.entries} entries, image is {bits_stored}-bit",
                         [0x20500500])
