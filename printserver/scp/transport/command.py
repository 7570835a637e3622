"""DIMSE command sets (PS3.7 9.3, 10.3 and Annex E), always Implicit VR Little Endian.

A command set is a handful of group 0000 elements. :func:`decode_command` reads them into a
:class:`Command` (keyword → Python value) by the VRs of PS3.7 Table E.1-1, and
:func:`encode_command` writes one back with its Command Group Length. Elements this table does not
know are kept as raw bytes (and not sent back).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

from printserver.scp.transport.pdu import ProtocolError

#: tag → (keyword, VR) of the command elements (PS3.7 Table E.1-1; retired ones left out)
ELEMENTS: dict[int, tuple[str, str]] = {
    0x00000000: ("CommandGroupLength", "UL"),
    0x00000002: ("AffectedSOPClassUID", "UI"),
    0x00000003: ("RequestedSOPClassUID", "UI"),
    0x00000100: ("CommandField", "US"),
    0x00000110: ("MessageID", "US"),
    0x00000120: ("MessageIDBeingRespondedTo", "US"),
    0x00000600: ("MoveDestination", "AE"),
    0x00000700: ("Priority", "US"),
    0x00000800: ("CommandDataSetType", "US"),
    0x00000900: ("Status", "US"),
    0x00000901: ("OffendingElement", "AT"),
    0x00000902: ("ErrorComment", "LO"),
    0x00000903: ("ErrorID", "US"),
    0x00001000: ("AffectedSOPInstanceUID", "UI"),
    0x00001001: ("RequestedSOPInstanceUID", "UI"),
    0x00001002: ("EventTypeID", "US"),
    0x00001005: ("AttributeIdentifierList", "AT"),
    0x00001008: ("ActionTypeID", "US"),
    0x00001020: ("NumberOfRemainingSuboperations", "US"),
    0x00001021: ("NumberOfCompletedSuboperations", "US"),
    0x00001022: ("NumberOfFailedSuboperations", "US"),
    0x00001023: ("NumberOfWarningSuboperations", "US"),
    0x00001030: ("MoveOriginatorApplicationEntityTitle", "AE"),
    0x00001031: ("MoveOriginatorMessageID", "US"),
}
TAGS: dict[str, tuple[int, str]] = {kw: (tag, vr) for tag, (kw, vr) in ELEMENTS.items()}

#: Command Data Set Type (0000,0800) when no data set follows (PS3.7 E.1)
NO_DATA_SET = 0x0101
#: Command Field values (PS3.7 Annex E): requests; a response is the request | 0x8000
C_ECHO, C_CANCEL = 0x0030, 0x0FFF
N_EVENT_REPORT, N_GET, N_SET, N_ACTION, N_CREATE, N_DELETE = (0x0100, 0x0110, 0x0120, 0x0130,
                                                             0x0140, 0x0150)
RESPONSE = 0x8000
NAMES = {C_ECHO: "C-ECHO", N_EVENT_REPORT: "N-EVENT-REPORT", N_GET: "N-GET", N_SET: "N-SET",
         N_ACTION: "N-ACTION", N_CREATE: "N-CREATE", N_DELETE: "N-DELETE", C_CANCEL: "C-CANCEL"}

_ELEMENT = struct.Struct("<HHL")
_US = struct.Struct("<H")
_UL = struct.Struct("<L")


class Command(dict):
    """A decoded command set: keyword → value (int, str, or list of int tags for AT)."""

    @property
    def field(self) -> int:
        return int(self.get("CommandField", 0))

    @property
    def has_data_set(self) -> bool:
        return self.get("CommandDataSetType", NO_DATA_SET) != NO_DATA_SET

    @property
    def name(self) -> str:
        field = self.field
        base = NAMES.get(field & ~RESPONSE, f"0x{field:04X}")
        return base + ("-RSP" if field & RESPONSE else "-RQ")


def _text(raw: bytes) -> str:
    return raw.decode("ascii", "replace").rstrip("\x00 ").lstrip(" ")


def decode_command(data: bytes | bytearray | memoryview) -> Command:
    """Decode an Implicit VR Little Endian command set; ProtocolError if it is malformed."""
    command = Command()
    view = memoryview(data)
    pos, end = 0, len(view)
    while pos < end:
        if end - pos < 8:
            raise ProtocolError("truncated command set element")
        group, element, length = _ELEMENT.unpack_from(view, pos)
        pos += 8
        if group != 0x0000:
            raise ProtocolError(f"command set element ({group:04X},{element:04X}) is not group 0000")
        if length > end - pos:
            raise ProtocolError(f"command element (0000,{element:04X}) overruns the command set")
        raw = view[pos:pos + length]
        pos += length
        keyword, vr = ELEMENTS.get(element, (f"0000{element:04X}", "UN"))
        if vr == "US":
            if length != 2:
                raise ProtocolError(f"{keyword} has length {length}, not 2")
            command[keyword] = _US.unpack(raw)[0]
        elif vr == "UL":
            if length != 4:
                raise ProtocolError(f"{keyword} has length {length}, not 4")
            command[keyword] = _UL.unpack(raw)[0]
        elif vr == "AT":
            if length % 4:
                raise ProtocolError(f"{keyword} has length {length}, not a multiple of 4")
            command[keyword] = [(g << 16) | e for g, e in struct.iter_unpack("<HH", raw)]
        elif vr == "UN":
            command[keyword] = bytes(raw)
        else:
            command[keyword] = _text(bytes(raw))
    if "CommandField" not in command:
        raise ProtocolError("command set without Command Field (0000,0100)")
    return command


def _value(vr: str, value: object) -> bytes:
    if vr == "US":
        return _US.pack(int(value))  # type: ignore[call-overload]
    if vr == "UL":
        return _UL.pack(int(value))  # type: ignore[call-overload]
    if vr == "AT":
        tags = [value] if isinstance(value, int) else list(value)  # type: ignore[call-overload]
        return b"".join(struct.pack("<HH", (int(t) >> 16) & 0xFFFF, int(t) & 0xFFFF) for t in tags)
    raw = str(value).encode("ascii", "replace")
    if len(raw) % 2:
        raw += b"\x00" if vr == "UI" else b" "
    return raw


def encode_command(fields: Iterable[tuple[str, object]] | dict[str, object]) -> bytes:
    """Encode a command set from (keyword, value) pairs; None values are left out.

    Elements are written in tag order, preceded by Command Group Length (0000,0000).
    """
    items = fields.items() if isinstance(fields, dict) else fields
    elements = []
    for keyword, value in items:
        if value is None or keyword == "CommandGroupLength":
            continue
        tag, vr = TAGS[keyword]
        elements.append((tag, _value(vr, value)))
    elements.sort()
    body = b"".join(_ELEMENT.pack(0, tag & 0xFFFF, len(raw)) + raw for tag, raw in elements)
    return _ELEMENT.pack(0, 0, 4) + _UL.pack(len(body)) + body
