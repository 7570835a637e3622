"""PDU framing of the DICOM Upper Layer (PS3.8 9.3).

A PDU is a 6-byte header (type, reserved, 4-byte big-endian length) and its variable field.
:func:`read_pdu` reads one with ``recv_into`` straight into a buffer of the announced size;
:func:`pdv_items` splits a P-DATA-TF into its presentation data values (PS3.8 9.3.5.1) as
memoryviews, and :func:`p_data_tf` builds one. The association PDUs, rare and rich in sub-items,
are coded by pynetdicom's PDU classes (:func:`decode_associate_rq`, :func:`associate_ac`,
:func:`associate_rj`).
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from pynetdicom.pdu import A_ASSOCIATE_AC, A_ASSOCIATE_RJ, A_ASSOCIATE_RQ
from pynetdicom.pdu_primitives import A_ASSOCIATE

#: PDU types (PS3.8 Table 9-11 and following)
ASSOCIATE_RQ, ASSOCIATE_AC, ASSOCIATE_RJ, P_DATA_TF, RELEASE_RQ, RELEASE_RP, ABORT = range(1, 8)

#: A-ABORT source (PS3.8 Table 9-26): service-user, service-provider (ACSE-related)
ABORT_USER, ABORT_PROVIDER = 0x00, 0x02
#: A-ABORT reasons when the provider aborts (PS3.8 Table 9-26)
REASON_NOT_SPECIFIED, REASON_UNRECOGNIZED_PDU, REASON_UNEXPECTED_PDU = 0x00, 0x01, 0x02
REASON_UNRECOGNIZED_PARAMETER, REASON_UNEXPECTED_PARAMETER, REASON_INVALID_PARAMETER = 4, 5, 6

#: A-RELEASE-RP and A-RELEASE-RQ are fixed: type, reserved, length 4, four reserved bytes
RELEASE_RP_BYTES = bytes([RELEASE_RP, 0, 0, 0, 0, 4, 0, 0, 0, 0])
_HEADER = struct.Struct(">BxL")
_PDV = struct.Struct(">LBB")


class ConnectionClosed(Exception):
    """The peer closed the TCP connection (or it broke) in the middle of, or before, a PDU."""


class ProtocolError(Exception):
    """The peer sent something the Upper Layer protocol does not allow; the association is
    aborted with :attr:`reason` (PS3.8 Table 9-26)."""

    def __init__(self, message: str, reason: int = REASON_INVALID_PARAMETER) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass
class PDU:
    """One PDU as read: its type and variable field (exactly ``length`` bytes)."""

    type: int
    data: bytearray | memoryview


def recv_exactly(sock: socket.socket, view: memoryview) -> None:
    """Fill ``view`` from ``sock``; ConnectionClosed when the peer closes first."""
    got, size = 0, len(view)
    while got < size:
        n = sock.recv_into(view[got:], size - got)
        if n == 0:
            raise ConnectionClosed(f"connection closed after {got} of {size} bytes")
        got += n


def read_pdu(sock: socket.socket, max_length: int) -> PDU:
    """Read one PDU from ``sock``.

    Parameters
    ----------
    max_length : int
        Largest variable field accepted (our Maximum Length Received plus the PDV headers,
        or a sanity bound for the association PDUs). A longer PDU is refused with a
        :class:`ProtocolError` before any of its body is read.
    """
    pdu_type, length = read_header(sock, max_length)
    data = bytearray(length)
    if length:
        recv_exactly(sock, memoryview(data))
    return PDU(pdu_type, data)


def read_header(sock: socket.socket, max_length: int) -> tuple[int, int]:
    """PDU type and length; ProtocolError for an unknown type or a length over the limit."""
    header = bytearray(6)
    recv_exactly(sock, memoryview(header))
    pdu_type, length = _HEADER.unpack(header)
    if not ASSOCIATE_RQ <= pdu_type <= ABORT:
        raise ProtocolError(f"unknown PDU type 0x{pdu_type:02X}", REASON_UNRECOGNIZED_PDU)
    if length > max_length:
        raise ProtocolError(f"PDU of {length} bytes is over the limit of {max_length}",
                            REASON_INVALID_PARAMETER)
    return pdu_type, length


class PDUReader:
    """Reads PDUs into one buffer reused from PDU to PDU: a PDU's ``data`` is a view that is
    valid until the next :meth:`read` (the message assembler copies fragments out at once).
    PDUs beyond :data:`KEEP_BUFFER` bytes get a buffer of their own."""

    KEEP_BUFFER = 4 << 20

    def __init__(self) -> None:
        self._buffer = bytearray()

    def read(self, sock: socket.socket, max_length: int) -> PDU:
        pdu_type, length = read_header(sock, max_length)
        if length > self.KEEP_BUFFER:
            data = bytearray(length)
            recv_exactly(sock, memoryview(data))
            return PDU(pdu_type, data)
        if len(self._buffer) < length:
            self._buffer = bytearray(length)
        view = memoryview(self._buffer)[:length]
        if length:
            recv_exactly(sock, view)
        return PDU(pdu_type, view)


def discard(sock: socket.socket, size: int) -> None:
    """Read and drop ``size`` bytes (the body of a PDU that is ignored, PS3.8 AA-6)."""
    chunk = bytearray(min(size, 65536))
    view = memoryview(chunk)
    while size > 0:
        n = sock.recv_into(view, min(size, len(chunk)))
        if n == 0:
            raise ConnectionClosed(f"connection closed with {size} bytes of a PDU to come")
        size -= n


def pdv_items(data: bytearray | memoryview) -> Iterator[tuple[int, int, memoryview]]:
    """(presentation context ID, message control header, fragment) of each PDV of a P-DATA-TF.

    PS3.8 9.3.5.1 and Annex E.2: item length (4), context ID (1), control header (1), fragment.
    """
    view = memoryview(data)
    pos, end = 0, len(data)
    if end == 0:
        raise ProtocolError("P-DATA-TF without presentation data values")
    while pos < end:
        if end - pos < 6:
            raise ProtocolError("truncated presentation data value item")
        item_length, context_id, control = _PDV.unpack_from(data, pos)
        if item_length < 2 or pos + 4 + item_length > end:
            raise ProtocolError(f"presentation data value item length {item_length} is invalid")
        yield context_id, control, view[pos + 6:pos + 4 + item_length]
        pos += 4 + item_length


def p_data_tf(context_id: int, control: int, fragment: bytes | memoryview) -> bytes:
    """One P-DATA-TF PDU carrying one PDV (PS3.8 9.3.5)."""
    n = len(fragment)
    return b"".join((_HEADER.pack(P_DATA_TF, n + 6), _PDV.pack(n + 2, context_id, control),
                     fragment))


def abort_pdu(source: int = ABORT_PROVIDER, reason: int = REASON_NOT_SPECIFIED) -> bytes:
    """A-ABORT (PS3.8 9.3.8)."""
    return bytes([ABORT, 0, 0, 0, 0, 4, 0, 0, source, reason])


def decode_associate_rq(pdu: PDU) -> A_ASSOCIATE:
    """The A-ASSOCIATE request primitive of an A-ASSOCIATE-RQ PDU (pynetdicom's decoder)."""
    rq = A_ASSOCIATE_RQ()
    try:
        rq.decode(_HEADER.pack(ASSOCIATE_RQ, len(pdu.data)) + bytes(pdu.data))
        return rq.to_primitive()
    except Exception as exc:  # any malformed sub-item
        raise ProtocolError(f"malformed A-ASSOCIATE-RQ: {exc}",
                            REASON_INVALID_PARAMETER) from None


def associate_ac(primitive: A_ASSOCIATE) -> bytes:
    """Encode an A-ASSOCIATE-AC from the accept primitive."""
    ac = A_ASSOCIATE_AC()
    ac.from_primitive(primitive)
    return ac.encode()


def associate_rj(result: int, source: int, reason: int) -> bytes:
    """Encode an A-ASSOCIATE-RJ (PS3.8 Table 9-21)."""
    primitive = A_ASSOCIATE()
    primitive.result = result
    primitive.result_source = source
    primitive.diagnostic = reason
    rj = A_ASSOCIATE_RJ()
    rj.from_primitive(primitive)
    return rj.encode()
