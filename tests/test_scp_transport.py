"""The Print SCP's Upper Layer under bad input, over real sockets on 127.0.0.1 (PS3.8 9.3, 7.1).

A malformed or oversized PDU is answered with an A-ABORT naming the reason and costs nothing but
that association: the next SCU is served as usual. Failure statuses carry the tags at fault in
the command set (Offending Element / Attribute Identifier List, PS3.7 C.4), for N-CREATE too.
"""

from __future__ import annotations

import socket
import struct
import time

import pytest
from pydicom.dataset import Dataset

from printserver.scp.transport.command import decode_command, encode_command
from printserver.scp.transport.message import MessageAssembler, fragments
from printserver.scp.transport.pdu import ProtocolError, pdv_items
from scp_fixtures import FILM_BOX, VERIFICATION, InProcessServer, raw_associate_rq
from scp_fixtures import read_raw_pdu as read_pdu

ECHO_RQ = encode_command({"CommandField": 0x0030, "MessageID": 7,
                          "AffectedSOPClassUID": VERIFICATION, "CommandDataSetType": 0x0101})


@pytest.fixture
def srv(tmp_path):
    server = InProcessServer(tmp_path / "scp", "[dicom.limits]\nmax_pdu_size = 16384\n")
    yield server
    server.stop()


def associate_rq(called: str = "PRINTSCP", version: int = 1) -> bytes:
    return raw_associate_rq(called, version=version)


def connect(srv: InProcessServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    return sock


def established(srv: InProcessServer) -> socket.socket:
    sock = connect(srv)
    sock.sendall(associate_rq())
    pdu_type, _ = read_pdu(sock)
    assert pdu_type == 0x02  # A-ASSOCIATE-AC
    return sock


def assert_aborted(sock: socket.socket, reason: int) -> None:
    pdu_type, body = read_pdu(sock)
    assert pdu_type == 0x07, f"expected A-ABORT, got PDU type {pdu_type}"
    assert body[2] == 0x02 and body[3] == reason  # source: service provider
    assert sock.recv(1) == b""  # and the connection closed


def assert_still_serving(srv: InProcessServer) -> None:
    with srv.scu() as scu:
        status = scu.assoc.send_c_echo()
        assert status.Status == 0


def echo(sock: socket.socket) -> dict:
    for pdu in fragments(1, ECHO_RQ, None, 16384):
        sock.sendall(pdu)
    pdu_type, body = read_pdu(sock)
    assert pdu_type == 0x04
    (_cx, control, fragment), = pdv_items(bytearray(body))
    assert control == 0x03
    return decode_command(fragment)


def test_echo_over_a_raw_association(srv):
    sock = established(srv)
    rsp = echo(sock)
    assert rsp["CommandField"] == 0x8030 and rsp["MessageIDBeingRespondedTo"] == 7
    assert rsp["Status"] == 0 and rsp["AffectedSOPClassUID"] == VERIFICATION
    sock.sendall(bytes([5, 0, 0, 0, 0, 4, 0, 0, 0, 0]))  # A-RELEASE-RQ
    assert read_pdu(sock)[0] == 0x06  # A-RELEASE-RP
    sock.close()


def test_unknown_pdu_type_is_aborted(srv):
    sock = connect(srv)
    sock.sendall(bytes([0x09, 0, 0, 0, 0, 2, 1, 2]))
    assert_aborted(sock, 0x01)  # unrecognized PDU
    assert_still_serving(srv)


def test_p_data_before_association_is_aborted(srv):
    sock = connect(srv)
    sock.sendall(fragments(1, ECHO_RQ, None, 0)[0])
    assert_aborted(sock, 0x02)  # unexpected PDU
    assert_still_serving(srv)


def test_garbage_association_request_is_aborted(srv):
    sock = connect(srv)
    sock.sendall(bytes([0x01, 0, 0, 0, 0, 8]) + b"\xff" * 8)
    assert_aborted(sock, 0x06)  # invalid PDU parameter value
    assert_still_serving(srv)


def test_unsupported_protocol_version_is_rejected(srv):
    sock = connect(srv)
    sock.sendall(associate_rq(version=2))
    pdu_type, body = read_pdu(sock)
    assert pdu_type == 0x03  # A-ASSOCIATE-RJ
    assert tuple(body[1:4]) == (1, 2, 2)  # rejected-permanent, ACSE, protocol version
    assert_still_serving(srv)


def test_pdu_over_the_maximum_length_is_refused_unread(srv):
    sock = established(srv)
    # announce 1 GiB: refused from the header, nothing allocated, nothing waited for
    sock.sendall(struct.pack(">BxL", 0x04, 1 << 30) + b"\0" * 64)
    assert_aborted(sock, 0x06)
    assert_still_serving(srv)


def test_unlimited_pdu_size_is_still_bounded_by_the_spool_budget(tmp_path):
    """max_pdu_size = 0 (no limit, PS3.8 D.1) does not let a header make the SCP allocate or
    wait for more than an association may ever hold."""
    server = InProcessServer(tmp_path / "scp", "[dicom.limits]\nmax_pdu_size = 0\n"
                                               "max_spool_bytes_per_association = 1000000\n")
    try:
        sock = established(server)
        sock.sendall(struct.pack(">BxL", 0x04, 64 << 20) + b"\0" * 64)
        assert_aborted(sock, 0x06)
        assert_still_serving(server)
    finally:
        server.stop()


def test_connections_beyond_the_limit_are_closed_at_once(tmp_path):
    server = InProcessServer(tmp_path / "scp", "[dicom.limits]\nmax_associations = 1\n")
    silent = []
    try:
        for _ in range(64):  # connected, never associating: each holds a slot until ARTIM
            silent.append(connect(server))
        time.sleep(0.5)
        extra = connect(server)
        extra.settimeout(5)
        assert extra.recv(1) == b""  # closed by the SCP, not left waiting
        extra.close()
    finally:
        for sock in silent:
            sock.close()
        server.stop()


def test_message_on_an_unaccepted_context_is_aborted(srv):
    sock = established(srv)
    for pdu in fragments(9, ECHO_RQ, None, 16384):
        sock.sendall(pdu)
    assert_aborted(sock, 0x05)  # unexpected PDU parameter
    assert_still_serving(srv)


def test_malformed_command_set_is_aborted(srv):
    sock = established(srv)
    sock.sendall(fragments(1, b"\x00\x00\x00\x01\xff\xff\xff\x7f", None, 16384)[0])
    assert_aborted(sock, 0x06)
    assert_still_serving(srv)


def test_truncated_pdv_item_is_aborted(srv):
    sock = established(srv)
    sock.sendall(struct.pack(">BxL", 0x04, 8) + struct.pack(">LBB", 400, 1, 3) + b"\0\0")
    assert_aborted(sock, 0x06)
    assert_still_serving(srv)


def test_peer_closing_mid_pdu_ends_the_association_only(srv):
    sock = established(srv)
    sock.sendall(struct.pack(">BxL", 0x04, 1000) + b"\0" * 10)
    sock.close()
    assert_still_serving(srv)


def test_n_create_failure_names_the_offending_element(srv):
    """pynetdicom's SCP could not send Offending Element in an N-CREATE-RSP; this one does."""
    with srv.scu() as scu:
        session = scu.film_session()
        r = scu.film_box(session, fmt="STANDARD\\99,99")
        assert r.status == 0x0106
        assert r.command.OffendingElement == 0x20100010  # Image Display Format
        assert "ImageDisplayFormat" in r.command.ErrorComment
        missing = scu.create(FILM_BOX, _film_orientation_only())
        assert missing.status == 0x0120
        tags = missing.command.AttributeIdentifierList
        assert 0x20100010 in (list(tags) if missing.command["AttributeIdentifierList"].VM > 1
                              else [tags])


# -- the codecs on their own -------------------------------------------------------------------

def test_command_round_trip_and_group_length():
    data = encode_command({"CommandField": 0x8120, "MessageIDBeingRespondedTo": 3,
                           "AffectedSOPClassUID": "1.2.840.10008.5.1.1.4", "Status": 0x0106,
                           "OffendingElement": [0x20100010, 0x20100030],
                           "ErrorComment": "bad", "CommandDataSetType": 0x0101})
    command = decode_command(data)
    assert command["CommandGroupLength"] == len(data) - 12
    assert command["OffendingElement"] == [0x20100010, 0x20100030]
    assert command["AffectedSOPClassUID"] == "1.2.840.10008.5.1.1.4"
    assert command["ErrorComment"] == "bad" and command.name == "N-SET-RSP"
    # elements are written in ascending tag order (PS3.5 7.1)
    tags = []
    pos = 0
    while pos < len(data):
        group, element, length = struct.unpack_from("<HHL", data, pos)
        tags.append(element)
        pos += 8 + length
    assert tags == sorted(tags)


def test_fragments_respect_the_peer_maximum_and_reassemble():
    command = encode_command({"CommandField": 0x0120, "MessageID": 1, "CommandDataSetType": 1,
                              "RequestedSOPClassUID": "1.2", "RequestedSOPInstanceUID": "1.3"})
    data_set = bytes(range(256)) * 100
    pdus = fragments(3, command, data_set, 1000)
    assert len(pdus) == 1 + -(-len(data_set) // 994)
    assert all(len(p) - 6 <= 1000 for p in pdus)
    assembler = MessageAssembler(max_data_set=1 << 20)
    messages = []
    for pdu in pdus:
        for cx, control, fragment in pdv_items(bytearray(pdu[6:])):
            message = assembler.add(cx, control, fragment)
            if message is not None:
                messages.append(message)
    assert len(messages) == 1 and assembler.idle
    assert messages[0].context_id == 3 and bytes(messages[0].data_set) == data_set
    assert messages[0].command["RequestedSOPInstanceUID"] == "1.3"


def test_data_set_after_a_command_without_one_is_refused():
    assembler = MessageAssembler(max_data_set=1 << 20)
    (pdu,) = fragments(1, ECHO_RQ, None, 0)
    for cx, control, fragment in pdv_items(bytearray(pdu[6:])):
        assert assembler.add(cx, control, fragment) is not None
    assembler2 = MessageAssembler(max_data_set=1 << 20)
    for pdu in fragments(1, ECHO_RQ, b"\0\0", 0):
        items = list(pdv_items(bytearray(pdu[6:])))
        for cx, control, fragment in items:
            if control & 0x01:
                assert assembler2.add(cx, control, fragment) is not None
            else:
                with pytest.raises(ProtocolError):
                    assembler2.add(cx, control, fragment)


def test_assembler_bounds_the_data_set():
    command = encode_command({"CommandField": 0x0120, "MessageID": 1, "CommandDataSetType": 1,
                              "RequestedSOPClassUID": "1.2", "RequestedSOPInstanceUID": "1.3"})
    assembler = MessageAssembler(max_data_set=100)
    for pdu in fragments(1, command, None, 0):
        for cx, control, fragment in pdv_items(bytearray(pdu[6:])):
            assert assembler.add(cx, control, fragment) is None  # waits for the data set
    with pytest.raises(ProtocolError):
        assembler.add(1, 0x02, memoryview(b"\0" * 101))


def _film_orientation_only() -> Dataset:
    ds = Dataset()
    ds.FilmOrientation = "PORTRAIT"
    return ds


def _pydicom_bytes(ds: Dataset, implicit: bool) -> bytes:
    from pydicom.filebase import DicomBytesIO
    from pydicom.filewriter import write_dataset

    fp = DicomBytesIO()
    fp.is_implicit_VR, fp.is_little_endian = implicit, True
    write_dataset(fp, ds)
    return fp.getvalue()


def _sample_responses() -> list[Dataset]:
    """Response data sets as the SOP class modules build them, plus awkward values."""
    from pathlib import Path

    import numpy as np

    from printserver.config import load_config
    from printserver.scp import film_box, film_session, image_box, printer
    from printserver.scp.association import PrintAssociation
    from scp_fixtures import image_box_ds

    cfg = load_config(None, data_dir=Path("/nonexistent"))
    state = PrintAssociation("SCU", "PRINTSCP", cfg.printers[0], cfg.dicom.limits, False,
                             frozenset({"1.2.840.10008.5.1.1.9"}), None)
    session = film_session.create(state, None, _film_orientation_only())
    ref = Dataset()
    ref.ReferencedSOPClassUID = "1.2.840.10008.5.1.1.1"
    ref.ReferencedSOPInstanceUID = session.instance_uid
    request = Dataset()
    request.ImageDisplayFormat = "STANDARD\\2,2"
    request.ReferencedFilmSessionSequence = [ref]
    request.MinDensity, request.MaxDensity, request.Illumination = 10, 300, 2000
    box = film_box.create(state, None, request)
    uid = box.dataset.ReferencedImageBoxSequence[0].ReferencedSOPInstanceUID
    pixels = np.arange(64 * 32, dtype=np.uint16).reshape(64, 32) % 4096
    image = image_box.update(state, uid, image_box_ds(1, pixels, Polarity="REVERSE"))
    got = printer.get_printer(state.printer, "1.2.840.10008.5.1.1.17", [], False,
                              ("NORMAL", "NORMAL"))
    odd = Dataset()
    odd.PatientName = "Doe^Jane"
    odd.ImagerPixelSpacing = [0.1, 0.25]
    odd.LUTDescriptor = [4096, 0, 12]
    odd["LUTDescriptor"].VR = "US"
    odd.FrameIncrementPointer = [0x00181063]
    odd.add_new(0x00091010, "OB", b"\x01\x02\x03")
    odd.FilmSessionLabel = ""
    return [session.dataset, box.dataset, image.dataset, got.dataset, odd]


@pytest.mark.parametrize("implicit", [True, False])
def test_fast_data_set_encoder_matches_pydicom(implicit):
    from printserver.scp.transport.message import encode_data_set

    for ds in _sample_responses():
        if ds is None:
            continue
        assert encode_data_set(ds, implicit, True) == _pydicom_bytes(ds, implicit)


def test_fast_encoder_leaves_non_ascii_to_pydicom():
    from printserver.scp.transport.message import decode_data_set, encode_data_set

    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.FilmSessionLabel = "Röntgen"
    data = encode_data_set(ds, False, True)
    assert data == _pydicom_bytes(ds, False)
    assert decode_data_set(data, False, True).FilmSessionLabel == "Röntgen"
