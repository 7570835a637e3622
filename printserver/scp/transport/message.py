"""DIMSE messages: assembled from PDV fragments, and fragmented into P-DATA-TF PDUs.

PS3.8 Annex E.2: a message is a command set, then (when its Command Data Set Type says so) a
data set, each sent as one or more fragments whose message control header marks command / data
set and last fragment. PS3.7 8.1: one presentation context per message. :class:`MessageAssembler`
gathers the fragments of one association into one data set buffer, reused from message to message
(no fresh pages to fault in and zero for every image), and returns each message when its last
fragment arrives; pydicom reads the data set straight from that buffer.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filereader import read_dataset
from pydicom.filewriter import write_dataset
from pydicom.multival import MultiValue

from printserver.scp.transport.command import Command, decode_command
from printserver.scp.transport.pdu import REASON_UNEXPECTED_PARAMETER, ProtocolError, p_data_tf

#: message control header bits (PS3.8 E.2)
COMMAND_BIT, LAST_BIT = 0x01, 0x02
#: a data set buffer up to this size is kept for the association's next message
KEEP_BUFFER = 16 << 20


@dataclass
class Message:
    """One received DIMSE message: presentation context, command set and the data set's bytes,
    ``data_set[:data_length]`` (the buffer may be longer; it is the assembler's again once the
    message has been decoded, see :meth:`MessageAssembler.recycle`)."""

    context_id: int
    command: Command
    data_set: bytearray | None = None
    data_length: int = 0


class MessageAssembler:
    """Fragments in, messages out (PS3.8 Annex E).

    Parameters
    ----------
    max_data_set : int
        Largest data set accepted, in bytes; beyond it the association is aborted (a bound on
        memory, set from the association's spool budget).
    """

    def __init__(self, max_data_set: int) -> None:
        self.max_data_set = max_data_set
        self._context: int | None = None
        self._command = bytearray()
        self._command_set: Command | None = None
        self._data: bytearray | None = None
        self._data_length = 0
        #: a data set buffer given back by recycle(), for the next message
        self._spare: bytearray | None = None

    @property
    def idle(self) -> bool:
        """No message is half received."""
        return self._context is None

    def add(self, context_id: int, control: int, fragment: memoryview) -> Message | None:
        """Add one fragment; the message it completes, if any."""
        if self._context is None:
            self._context = context_id
        elif context_id != self._context:
            raise ProtocolError(f"fragment for context {context_id} inside a message on context "
                                f"{self._context} (PS3.7 8.1)", REASON_UNEXPECTED_PARAMETER)
        last = bool(control & LAST_BIT)
        if control & COMMAND_BIT:
            if self._command_set is not None:
                raise ProtocolError("command fragment after the command set was complete",
                                    REASON_UNEXPECTED_PARAMETER)
            self._command += fragment
            if len(self._command) > 65536:
                raise ProtocolError("command set larger than 64 KiB")
            if not last:
                return None
            self._command_set = decode_command(self._command)
            if self._command_set.has_data_set:
                return None
            return self._complete()
        if self._command_set is None:
            raise ProtocolError("data set fragment before the command set",
                                REASON_UNEXPECTED_PARAMETER)
        if not self._command_set.has_data_set:
            raise ProtocolError("data set fragment for a command without data set",
                                REASON_UNEXPECTED_PARAMETER)
        start, end = self._data_length, self._data_length + len(fragment)
        if end > self.max_data_set:
            raise ProtocolError(f"data set larger than {self.max_data_set} bytes")
        if self._data is None:
            self._data, self._spare = (self._spare or bytearray()), None
        if end <= len(self._data):
            self._data[start:end] = fragment  # in place, within what the buffer already has
        else:
            del self._data[start:]
            self._data += fragment
        self._data_length = end
        return self._complete() if last else None

    def _complete(self) -> Message:
        assert self._context is not None and self._command_set is not None
        message = Message(self._context, self._command_set, self._data, self._data_length)
        self._context, self._command_set = None, None
        self._command, self._data, self._data_length = bytearray(), None, 0
        return message

    def recycle(self, message: Message) -> None:
        """``message`` has been decoded: its data set buffer may carry the next one (buffers
        beyond :data:`KEEP_BUFFER` bytes are left to the garbage collector)."""
        buffer, message.data_set = message.data_set, None
        if buffer is not None and self._spare is None and len(buffer) <= KEEP_BUFFER:
            self._spare = buffer


class _BufferReader:
    """A read-only file over ``data[:length]`` for pydicom: each read copies only what it
    returns (the pixel data once), nothing is copied up front."""

    def __init__(self, data: bytes | bytearray, length: int) -> None:
        self._data, self._length, self._pos = data, length, 0

    def read(self, size: int | None = -1) -> bytes:
        end = self._length if size is None or size < 0 else min(self._pos + size, self._length)
        with memoryview(self._data) as view:
            chunk = view[self._pos:end].tobytes()
        self._pos = end
        return chunk

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self._length}[whence]
        self._pos = max(0, min(base + offset, self._length))
        return self._pos


def decode_data_set(data: bytes | bytearray, implicit_vr: bool, little_endian: bool,
                    length: int | None = None) -> Dataset:
    """A pydicom Dataset of a received data set, ``data[:length]`` (values converted lazily, on
    access; they are copies: ``data`` may be reused afterwards)."""
    fp = _BufferReader(data, len(data) if length is None else length)
    ds = read_dataset(fp, implicit_vr, little_endian)
    ds.set_original_encoding(implicit_vr, little_endian, None)
    return ds


#: VRs whose values are text (PS3.5 6.2), written as ASCII and padded to even length
_TEXT_VRS = frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST",
                       "TM", "UC", "UI", "UR", "UT"})
#: binary numbers: VR → struct format character
_NUMBER_VRS = {"US": "H", "SS": "h", "UL": "L", "SL": "l", "FL": "f", "FD": "d", "SV": "q",
               "UV": "Q"}
_BYTES_VRS = frozenset({"OB", "OW", "OD", "OF", "OL", "OV", "UN"})
#: Explicit VR elements with a 4-byte length (PS3.5 Table 7.1-1)
_LONG_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT",
                       "UV"})
_ITEM = struct.Struct("<HHL")
_EXPLICIT_SHORT = struct.Struct("<HH2sH")
_EXPLICIT_LONG = struct.Struct("<HH2s2xL")


class _NotSimple(Exception):
    """A data set the fast encoder leaves to pydicom (non-ASCII text, an ambiguous VR...)."""


def _values(value: object) -> list:
    if value is None:
        return []
    if isinstance(value, (list, tuple, MultiValue)):
        return list(value)
    return [value]


def _value_bytes(vr: str, value: object, explicit: bool) -> bytes:
    if vr == "SQ":
        items = []
        for item in value or ():
            body = _encode_le(item, explicit)
            items.append(_ITEM.pack(0xFFFE, 0xE000, len(body)) + body)
        return b"".join(items)
    if vr in _TEXT_VRS:
        text = "\\".join(str(v) for v in _values(value))
        try:
            raw = text.encode("ascii")
        except UnicodeEncodeError:
            raise _NotSimple(vr) from None
        return raw + (b"\0" if vr == "UI" else b" ") if len(raw) % 2 else raw
    if vr in _NUMBER_VRS:
        values = _values(value)
        return struct.pack(f"<{len(values)}{_NUMBER_VRS[vr]}", *values)
    if vr == "AT":
        return b"".join(struct.pack("<HH", int(t) >> 16, int(t) & 0xFFFF) for t in _values(value))
    if vr in _BYTES_VRS and isinstance(value, (bytes, bytearray, type(None))):
        raw = bytes(value or b"")
        return raw + b"\0" if len(raw) % 2 else raw
    raise _NotSimple(vr)


def _encode_le(ds: Dataset, explicit: bool) -> bytes:
    """Little endian encoding of a data set made of plain values (PS3.5 7.1), or _NotSimple."""
    out = []
    for elem in ds:
        vr = elem.VR
        raw = _value_bytes(vr, elem.value, explicit)
        group, element = elem.tag >> 16, elem.tag & 0xFFFF
        if not explicit:
            out.append(_ITEM.pack(group, element, len(raw)))
        elif vr in _LONG_VRS:
            out.append(_EXPLICIT_LONG.pack(group, element, vr.encode(), len(raw)))
        elif len(raw) <= 0xFFFF:
            out.append(_EXPLICIT_SHORT.pack(group, element, vr.encode(), len(raw)))
        else:
            raise _NotSimple(f"{vr} value of {len(raw)} bytes")
        out.append(raw)
    return b"".join(out)


def encode_data_set(ds: Dataset, implicit_vr: bool, little_endian: bool) -> bytes:
    """The bytes of ``ds`` in a transfer syntax's encoding.

    The data sets the SCP answers with are small and made of plain values; a direct encoder
    writes them several times faster than pydicom's general writer, which still writes anything
    else (big endian, non-ASCII text, ambiguous VRs). Both give the same bytes (tested).
    """
    if little_endian:
        try:
            return _encode_le(ds, not implicit_vr)
        except _NotSimple:
            pass
    fp = DicomBytesIO()
    fp.is_implicit_VR = implicit_vr
    fp.is_little_endian = little_endian
    write_dataset(fp, ds)
    return fp.getvalue()


def fragments(context_id: int, command: bytes, data_set: bytes | None,
              max_pdu: int) -> list[bytes]:
    """P-DATA-TF PDUs carrying one message, each within the peer's Maximum Length Received
    (``max_pdu``; 0 means no limit, PS3.8 D.1)."""
    step = max_pdu - 6 if max_pdu and max_pdu > 6 else 1 << 30
    pdus = []
    for part, control in ((command, COMMAND_BIT), (data_set, 0)):
        if part is None:
            continue
        view = memoryview(part)
        for start in range(0, max(len(part), 1), step):
            chunk = view[start:start + step]
            last = LAST_BIT if start + step >= len(part) else 0
            pdus.append(p_data_tf(context_id, control | last, chunk))
    return pdus
