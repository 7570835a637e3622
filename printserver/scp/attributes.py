"""Table-driven attribute validation for every print SOP class (PS3.4 H.2.4, usage rules).

Each SOP class operation declares a table of :class:`AttributeRule` (one per attribute of its
PS3.4 table). :func:`validate` applies a table to a request data set, with one mechanism for all
classes:

* an M/M attribute that is absent → 0120 Missing Attribute; present but empty → 0121;
* a value the SCP does not support → 0106 Invalid Attribute Value (from the rule's parser);
* a U/M attribute that is absent → the SCP default (``default``), echoed in the response;
* a **printer-defined** attribute (a rule with a ``fallback``: PS3.3 leaves its values to the
  printer's Conformance Statement, e.g. Smoothing Type, or lists Defined Terms a printer may
  extend, e.g. Medium Type) with a value this printer does not have → with
  ``strict_attributes`` 0106 as above; otherwise the value ``fallback`` gives (the printer's
  default) is used in its place, the response carries warning 0116 Attribute Value Out of Range
  (PS3.4 H.2.4: "either 0106 or 0116, applying the default") and a log line names the attribute
  and the value;
* an attribute not in the table, or whose ``supported`` condition is false → 0105 No Such
  Attribute when the server is strict, else the attribute is ignored and the response carries
  warning 0107 Attribute List Error;
* parsers may add warnings (e.g. B605 when Min/Max Density is clamped to the printer range).

The validated values are a mapping keyword → JSON-ready value; :func:`encode` turns them back into
a response data set.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Sequence as AbcSequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from pydicom import config
from pydicom.datadict import tag_for_keyword
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.tag import Tag

from printserver.scp.status import DimseError, Warnings
from printserver.vocabulary import Status, VocabularyError, parse_density

if TYPE_CHECKING:  # pragma: no cover
    from printserver.config import LimitsConfig, PrinterConfig

log = logging.getLogger(__name__)

#: elements that are never "unknown": group lengths are skipped, SOP Class/Instance UID tolerated
_TOLERATED = {Tag(0x00080016), Tag(0x00080018), Tag(0x00080005)}


@dataclass
class RuleContext:
    """What a parser may consult: the printer, the limits, the association state, the warnings."""

    printer: PrinterConfig
    limits: LimitsConfig
    strict: bool
    state: Any = None
    warnings: Warnings = field(default_factory=Warnings)
    big_endian: bool = False


Parser = Callable[[Any, RuleContext], Any]
#: ``fallback(refused value, ctx) -> value used`` (None: the attribute is left unset)
Fallback = Callable[[Any, RuleContext], Any]


@dataclass(frozen=True)
class AttributeRule:
    """How one attribute of one operation is checked.

    Parameters
    ----------
    keyword : str
        pydicom keyword of the attribute.
    required : bool
        M/M usage (absent → 0120).
    parse : callable
        ``parse(value, ctx) -> stored value``; raises :class:`VocabularyError` or ``ValueError``
        (→ 0106) or :class:`DimseError` with its own code.
    default : callable, optional
        ``default(ctx)``: the SCP's value when the SCU sent none (U/M usage). Only on N-CREATE.
    supported : callable, optional
        ``supported(ctx)``: when false the attribute counts as unsupported (0105 / 0107).
    encode : callable, optional
        stored value → element value for the response; None: the stored value itself.
    echo : bool
        Whether the attribute is echoed in the response.
    fallback : callable, optional
        Marks a printer-defined attribute: ``fallback(value, ctx)`` is what a lenient SCP uses
        in place of a value the parser refused (warning 0116); None: the attribute is not
        printer-defined and a refused value is 0106. :func:`printer_default` makes the usual
        one.
    """

    keyword: str
    required: bool = False
    parse: Parser = lambda v, ctx: _text(v)
    default: Callable[[RuleContext], Any] | None = None
    supported: Callable[[RuleContext], bool] | None = None
    encode: Callable[[Any], Any] | None = None
    echo: bool = True
    fallback: Fallback | None = None

    @property
    def printer_defined(self) -> bool:
        return self.fallback is not None

    @cached_property
    def tag(self) -> Tag:
        return Tag(tag_for_keyword(self.keyword))


def _is_empty(value: Any) -> bool:
    return value is None or (not isinstance(value, DicomSequence) and value in ("", b"", [], ()))


def validate(ds: Dataset | None, rules: Sequence[AttributeRule], ctx: RuleContext, *,
             apply_defaults: bool) -> dict[str, Any]:
    """Check ``ds`` against ``rules`` and return the validated values (keyword → value).

    Parameters
    ----------
    ds : Dataset or None
        The N-CREATE Attribute List or N-SET Modification List (None = no data set).
    rules : sequence of AttributeRule
    ctx : RuleContext
        Warnings are added to ``ctx.warnings``.
    apply_defaults : bool
        True for N-CREATE: absent U/M attributes get the SCP default.

    Raises
    ------
    DimseError
        0105, 0106, 0120, 0121 or the code a parser chose.
    """
    by_tag = {r.tag: r for r in rules if r.supported is None or r.supported(ctx)}
    present = {elem.tag: elem for elem in ds} if ds is not None else {}
    unknown = [tag for tag in present
               if tag.element != 0 and tag not in by_tag and tag not in _TOLERATED]
    if unknown:
        names = ", ".join(_tag_name(t) for t in unknown)
        if ctx.strict:
            raise DimseError(Status.NO_SUCH_ATTRIBUTE, f"not supported: {names}", unknown)
        ctx.warnings.add(Status.ATTRIBUTE_LIST_ERROR, f"ignored: {names}", unknown)
    values: dict[str, Any] = {}
    for rule in rules:
        if rule.tag not in by_tag:
            continue
        elem = present.get(rule.tag)
        raw = None if elem is None else elem.value
        if elem is None or (_is_empty(raw) and elem.VR != "SQ"):
            if rule.required:
                if elem is None:
                    raise DimseError(Status.MISSING_ATTRIBUTE, f"{rule.keyword} missing", [rule.tag])
                raise DimseError(Status.MISSING_ATTRIBUTE_VALUE, f"{rule.keyword} empty", [rule.tag])
            if apply_defaults and rule.default is not None:
                default = rule.default(ctx)
                if default is not None:
                    values[rule.keyword] = default
            continue
        try:
            values[rule.keyword] = rule.parse(raw, ctx)
        except DimseError as exc:
            if not exc.offending:
                raise DimseError(exc.status, exc.comment, [rule.tag]) from None
            raise
        except (VocabularyError, ValueError, TypeError) as exc:
            if rule.fallback is None or ctx.strict:
                raise DimseError(Status.INVALID_ATTRIBUTE_VALUE, f"{rule.keyword}: {exc}"[:64],
                                 [rule.tag]) from None
            _fall_back(rule, raw, ctx, values)
    return values


def _fall_back(rule: AttributeRule, raw: Any, ctx: RuleContext, values: dict[str, Any]) -> None:
    """A printer-defined value this printer does not have, lenient: its fallback in its place,
    warning 0116, a log line naming the attribute and the value."""
    assert rule.fallback is not None
    used = rule.fallback(raw, ctx)
    if used is None:
        values.pop(rule.keyword, None)
    else:
        values[rule.keyword] = used
    sent = _shown(raw)
    instead = "the default" if used is None else repr(used)
    who = getattr(ctx.state, "calling_ae", "") or "the SCU"
    log.warning("printer %s: %s %s from %s is not one of this printer's values; %s used "
                "instead (warning 0116)", ctx.printer.ae_title, rule.keyword, sent, who, instead)
    ctx.warnings.add(Status.ATTRIBUTE_VALUE_OUT_OF_RANGE,
                     f"{rule.keyword} {sent} not supported, {instead} used", [rule.tag])


def _shown(raw: Any) -> str:
    """A received value for a message: its text quoted, at most 40 characters."""
    many = isinstance(raw, AbcSequence) and not isinstance(raw, (str, bytes))
    text = "\\".join(str(v) for v in raw) if many else str(raw)
    text = text.strip()
    return repr(text if len(text) <= 40 else text[:37] + "...")


def printer_default(default: Callable[[RuleContext], Any]) -> Fallback:
    """The fallback of a printer-defined attribute: the printer's default ``default(ctx)``
    (None: left unset, e.g. at image box level, where the film box's value then applies)."""
    return lambda value, ctx: default(ctx)


def encode(values: Mapping[str, Any], rules: Iterable[AttributeRule]) -> Dataset:
    """The response data set for validated ``values`` (only rules with ``echo``)."""
    ds = Dataset()
    for rule in rules:
        if rule.echo and rule.keyword in values and values[rule.keyword] is not None:
            value = values[rule.keyword]
            setattr(ds, rule.keyword, rule.encode(value) if rule.encode else value)
    return ds


def _tag_name(tag: int) -> str:
    from pydicom.datadict import keyword_for_tag

    t = Tag(tag)
    return keyword_for_tag(t) or f"({t.group:04X},{t.element:04X})"


# ---------------------------------------------------------------------------------------------
# Parsers shared by the tables


def _text(value: Any) -> str:
    return str(value).strip()


def text(max_length: int = 64) -> Parser:
    """Free text (LO, SH, ST …) up to ``max_length`` characters."""
    def parse(value: Any, ctx: RuleContext) -> str:
        s = str(value).rstrip()
        if len(s) > max_length:
            raise ValueError(f"longer than {max_length} characters")
        return s
    return parse


def configuration_text(allowed: Callable[[RuleContext], Iterable[str]]) -> Parser:
    """Configuration Information (2010,0150), ST: printer-specific text compared as text (never
    upper-cased; trailing spaces are not significant in ST, PS3.5 6.2), at most 1024 characters.
    Any value when ``allowed(ctx)`` is empty, else one of those."""
    def parse(value: Any, ctx: RuleContext) -> str:
        s = str(value).rstrip(" ")
        if len(s) > 1024:
            raise ValueError("longer than 1024 characters")
        choices = [c.rstrip(" ") for c in allowed(ctx)]
        if choices and s not in choices:
            raise ValueError(f"{s[:24]!r} is not one of this printer's {len(choices)} values")
        return s
    return parse


def code(allowed: Callable[[RuleContext], Iterable[str]]) -> Parser:
    """A code string (CS) that must be one of ``allowed(ctx)``."""
    def parse(value: Any, ctx: RuleContext) -> str:
        s = str(value).strip().upper()
        choices = list(allowed(ctx))
        if s not in choices:
            raise VocabularyError("value", value, ", ".join(choices) or "none")
        return s
    return parse


def integer(low: int, high: int) -> Parser:
    """An integer (IS, US) in ``low..high``."""
    def parse(value: Any, ctx: RuleContext) -> int:
        if isinstance(value, str) and not re.fullmatch(r"\s*[+-]?\d+\s*", value):
            raise ValueError(f"{value!r} is not an integer")
        n = int(value)
        if not low <= n <= high:
            raise ValueError(f"{n} not in {low}..{high}")
        return n
    return parse


def density(kind: str) -> Parser:
    """Min or Max Density (US, hundredths of OD), clamped to the printer range with warning B605."""
    def parse(value: Any, ctx: RuleContext) -> int:
        n = int(value)
        lo, hi = ctx.printer.min_density, ctx.printer.max_density
        clamped = min(max(n, lo), hi)
        if clamped != n:
            ctx.warnings.add(Status.DENSITY_OUT_OF_RANGE,
                             f"{kind} Density {n} outside printer range {lo}..{hi}, {clamped} used")
        return clamped
    return parse


def density_term(value: Any, ctx: RuleContext) -> str:
    """Border / Empty Image Density: BLACK, WHITE or hundredths of OD (PS3.3 C.13.3)."""
    parsed = parse_density(value, "density")
    return str(parsed)


def uid_reference(class_uid: str, exists: Callable[[str, RuleContext], bool]) -> Parser:
    """A referencing sequence with exactly one item naming an existing instance of ``class_uid``.

    Returns the referenced SOP Instance UID. A wrong item count, class or unknown instance → 0106.
    """
    def parse(value: Any, ctx: RuleContext) -> str:
        if len(value) != 1:
            raise ValueError(f"needs exactly 1 item, got {len(value)}")
        item = value[0]
        cls = str(item.get("ReferencedSOPClassUID", ""))
        uid = str(item.get("ReferencedSOPInstanceUID", ""))
        if cls != class_uid:
            raise ValueError(f"Referenced SOP Class UID {cls!r} is not {class_uid}")
        if not exists(uid, ctx):
            raise ValueError(f"no such instance {uid!r}")
        return uid
    return parse


def reference_item(class_uid: str) -> Callable[[str], list[Dataset]]:
    """Encoder: an instance UID back into a one-item referencing sequence."""
    def enc(uid: str) -> list[Dataset]:
        # UIDs the SCP holds are valid already: skip pydicom's per-value checks (a film box
        # answers with one item per image box)
        return [Dataset({_REFERENCED_CLASS: DataElement(_REFERENCED_CLASS, "UI", class_uid,
                                                        validation_mode=config.IGNORE),
                         _REFERENCED_INSTANCE: DataElement(_REFERENCED_INSTANCE, "UI", uid,
                                                           validation_mode=config.IGNORE)})]
    return enc


#: Referenced SOP Class UID (0008,1150), Referenced SOP Instance UID (0008,1155)
_REFERENCED_CLASS, _REFERENCED_INSTANCE = Tag(0x00081150), Tag(0x00081155)


def json_sequence(value: Any, ctx: RuleContext) -> list[dict]:
    """A sequence kept as DICOM JSON (PS3.18 F.2) items, e.g. Proposed Study Sequence."""
    return [item.to_json_dict() for item in value]
