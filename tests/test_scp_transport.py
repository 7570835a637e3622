"""The Print SCP's Upper Layer over real sockets on 127.0.0.1 (PS3.8 7.1, 9.2, 9.3).

The transitions of the PS3.8 state machine the acceptor can take, each seen on the wire (the
table itself is checked cell by cell in ``test_scp_state_table.py``). A malformed or oversized
PDU is answered with an A-ABORT naming the reason and costs nothing but that association: the
next SCU is served as usual. A peer that stops reading holds neither its association past the
transfer timeout nor a server that stops. Failure statuses carry the tags at fault in the
command set (Offending Element / Attribute Identifier List, PS3.7 C.4), for N-CREATE too.
"""

from __future__ import annotations

import dataclasses
import logging
import socket
import struct
import threading
import time

import pytest
from pydicom.dataset import Dataset

from printserver.config import load_config
from printserver.jobs.migrate import upgrade
from printserver.scp.server import PrintServer
from printserver.scp.transport import association as acceptor
from printserver.scp.transport.command import decode_command, encode_command
from printserver.scp.transport.message import MessageAssembler, fragments
from printserver.scp.transport.pdu import ProtocolError, pdv_items
from scp_fixtures import (FILM_BOX, PRINTER_CONFIGURATION, PRINTER_CONFIGURATION_INSTANCE,
                          VERIFICATION, InProcessServer, PrintSCU, raw_associate_rq)
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
    return connect_to(srv.server)


def connect_to(server: PrintServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=10)


def established(srv: InProcessServer) -> socket.socket:
    return established_with(srv.server)


def established_with(server: PrintServer) -> socket.socket:
    sock = connect_to(server)
    sock.sendall(associate_rq())
    pdu_type, _ = read_pdu(sock)
    assert pdu_type == 0x02  # A-ASSOCIATE-AC
    return sock


A_RELEASE_RQ = bytes([5, 0, 0, 0, 0, 4, 0, 0, 0, 0])
A_RELEASE_RP = bytes([6, 0, 0, 0, 0, 4, 0, 0, 0, 0])
A_ABORT = bytes([7, 0, 0, 0, 0, 4, 0, 0, 0, 0])


def assert_aborted(sock: socket.socket, reason: int, source: int = 0x02) -> None:
    pdu_type, body = read_pdu(sock)
    assert pdu_type == 0x07, f"expected A-ABORT, got PDU type {pdu_type}"
    assert (body[2], body[3]) == (source, reason)  # 2: service provider, 0: service user
    assert sock.recv(1) == b""  # and the SCP's side closed


def assert_closed(sock: socket.socket) -> None:
    """The SCP closed the connection without sending anything (AA-2)."""
    assert sock.recv(1) == b""


def assert_still_serving(srv: InProcessServer) -> None:
    assert_still_serving_on(srv.server)


def assert_still_serving_on(server: PrintServer) -> None:
    with PrintSCU(server.port) as scu:
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


def started(tmp_path, config_toml: str = "", **settings) -> PrintServer:
    """A PrintServer on 127.0.0.1 with some association settings replaced."""
    (tmp_path / "printserver.toml").write_text(config_toml)
    config = load_config(tmp_path / "printserver.toml", data_dir=tmp_path / "var", dicom_port=0)
    config = dataclasses.replace(config, dicom=dataclasses.replace(config.dicom, host="127.0.0.1"))
    upgrade(config)
    server = PrintServer(config)
    server.settings = dataclasses.replace(server.settings, **settings)
    server.start()
    return server


def wait_for(predicate, timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_echo_over_a_raw_association(srv):
    """Sta2 -Evt6/AE-6-> Sta3 -Evt7/AE-7-> Sta6 -Evt10/DT-2, Evt9/DT-1-> Sta6 -Evt12/AR-2->
    Sta8 -Evt14/AR-4-> Sta13 -Evt17/AR-5-> Sta1."""
    sock = established(srv)
    rsp = echo(sock)
    assert rsp["CommandField"] == 0x8030 and rsp["MessageIDBeingRespondedTo"] == 7
    assert rsp["Status"] == 0 and rsp["AffectedSOPClassUID"] == VERIFICATION
    sock.sendall(A_RELEASE_RQ)
    assert read_pdu(sock)[0] == 0x06  # A-RELEASE-RP
    sock.close()
    wait_for(lambda: not srv.server.active_associations, what="the association to end")


def test_requests_before_a_release_are_answered_before_the_release(srv):
    """Sta8: requests received before the A-RELEASE-RQ are answered (Evt9/AR-7), then the
    A-RELEASE-RP goes (Evt14/AR-4)."""
    sock = established(srv)
    sock.sendall(b"".join(fragments(1, ECHO_RQ, None, 16384)) + A_RELEASE_RQ)
    pdu_type, body = read_pdu(sock)
    assert pdu_type == 0x04
    (_cx, _control, fragment), = pdv_items(bytearray(body))
    assert decode_command(fragment)["MessageIDBeingRespondedTo"] == 7
    assert read_pdu(sock)[0] == 0x06


@pytest.mark.parametrize("pdu", [A_RELEASE_RQ, A_RELEASE_RP, A_ABORT],
                         ids=["release-rq", "release-rp", "abort"])
def test_pdus_before_the_association_request(srv, pdu):
    """Sta2: A-RELEASE-RQ / -RP (Evt12, Evt13) → AA-1, A-ABORT with the reason unexpected
    PDU; an A-ABORT (Evt16) → AA-2, the connection closed."""
    sock = connect(srv)
    sock.sendall(pdu)
    if pdu[0] == 0x07:
        assert_closed(sock)
    else:
        assert_aborted(sock, 0x02)
    assert_still_serving(srv)


def test_peer_closing_before_the_association_request(srv):
    """Sta2 -Evt17/AA-5-> Sta1: nothing is held."""
    connect(srv).close()
    wait_for(lambda: not srv.server.active_associations, what="the connection to end")
    assert_still_serving(srv)


def test_no_association_request_within_artim(tmp_path):
    """Sta2 -Evt18/AA-2-> Sta1: the connection is closed when ARTIM runs out."""
    server = started(tmp_path, acse_timeout=0.3)
    try:
        sock = connect_to(server)
        assert_closed(sock)
    finally:
        server.stop()


@pytest.mark.parametrize("pdu_type", [0x01, 0x02, 0x03, 0x06], ids=[
    "associate-rq", "associate-ac", "associate-rj", "release-rp"])
def test_association_pdus_on_an_established_association(srv, pdu_type):
    """Sta6: A-ASSOCIATE-RQ / -AC / -RJ, A-RELEASE-RP (Evt6, 3, 4, 13) → AA-8, A-ABORT
    (service provider, unexpected PDU)."""
    sock = established(srv)
    if pdu_type == 0x01:
        sock.sendall(associate_rq())
    else:
        sock.sendall(bytes([pdu_type, 0, 0, 0, 0, 4]) + bytes(4))
    assert_aborted(sock, 0x02)
    assert_still_serving(srv)


def test_abort_from_the_peer(srv):
    """Sta6 -Evt16/AA-3-> Sta1: the SCP closes the connection, sends nothing."""
    sock = established(srv)
    sock.sendall(A_ABORT)
    assert_closed(sock)
    assert_still_serving(srv)


def test_release_in_the_middle_of_a_message_is_aborted(srv):
    """An A-RELEASE-RQ between two fragments of one message is an invalid PDU (Evt19/AA-8)."""
    sock = established(srv)
    command = encode_command({"CommandField": 0x0030, "MessageID": 7,
                              "AffectedSOPClassUID": VERIFICATION, "CommandDataSetType": 0x0101})
    first = fragments(1, command[:20], None, 16384)[0]
    sock.sendall(first[:11] + bytes([0x01]) + first[12:])  # command fragment, not the last
    sock.sendall(A_RELEASE_RQ)
    assert_aborted(sock, 0x02)


def test_idle_association_is_aborted_by_the_scp(tmp_path):
    """Sta6 -Evt15/AA-1-> Sta13 on the network timeout: A-ABORT, source service user."""
    server = started(tmp_path, "[dicom.limits]\nnetwork_timeout = 1\n")
    try:
        sock = established_with(server)
        assert_aborted(sock, 0x00, source=0x00)
    finally:
        server.stop()


def test_after_the_release_pdus_are_ignored_and_an_association_request_aborted(srv):
    """Sta13: a P-DATA-TF (Evt10) is ignored (AA-6), an A-ASSOCIATE-RQ (Evt6) answered with an
    A-ABORT (AA-7): the next PDU after the A-RELEASE-RP is that A-ABORT."""
    sock = established(srv)
    sock.sendall(A_RELEASE_RQ)
    assert read_pdu(sock)[0] == 0x06
    sock.sendall(b"".join(fragments(1, ECHO_RQ, None, 16384)) + associate_rq())
    assert_aborted(sock, 0x02)


def test_after_the_release_an_abort_closes(srv):
    """Sta13 -Evt16/AA-2-> Sta1."""
    sock = established(srv)
    sock.sendall(A_RELEASE_RQ)
    assert read_pdu(sock)[0] == 0x06
    sock.sendall(A_ABORT)
    assert_closed(sock)


def test_after_the_release_artim_closes_a_peer_that_stays(srv, monkeypatch):
    """Sta13 -Evt18/AA-2-> Sta1: a requestor that does not close is closed when ARTIM runs
    out."""
    monkeypatch.setattr(acceptor, "LINGER", 0.3)
    sock = established(srv)
    sock.sendall(A_RELEASE_RQ)
    assert read_pdu(sock)[0] == 0x06
    assert_closed(sock)


def test_stopping_aborts_an_idle_association(tmp_path):
    """Sta6 -Evt15/AA-1-> Sta13 when the server stops: A-ABORT, source service user."""
    server = started(tmp_path)
    sock = established_with(server)
    stopper = threading.Thread(target=server.stop)
    stopper.start()
    assert_aborted(sock, 0x00, source=0x00)
    sock.close()
    stopper.join(30)
    assert not stopper.is_alive()


def _requests_with_large_responses(count: int) -> bytes:
    """``count`` N-GETs of the Printer Configuration (each answered with ~7 KB)."""
    pdus = []
    for n in range(count):
        command = encode_command({"CommandField": 0x0110, "MessageID": n % 0xFFFF + 1,
                                  "RequestedSOPClassUID": PRINTER_CONFIGURATION,
                                  "RequestedSOPInstanceUID": PRINTER_CONFIGURATION_INSTANCE,
                                  "CommandDataSetType": 0x0101})
        pdus.extend(fragments(1, command, None, 16384))
    return b"".join(pdus)


def peer_that_stops_reading(server: PrintServer) -> tuple[socket.socket, acceptor.Association]:
    """An association whose requestor asks for far more than the sockets' buffers hold and never
    reads. Both buffers are fixed (SO_RCVBUF / SO_SNDBUF turn the kernel's autotuning off), so
    once the SCP's send buffer is full it stays full."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port))
    sock.sendall(raw_associate_rq(contexts=(PRINTER_CONFIGURATION,)))
    assert read_pdu(sock)[0] == 0x02
    (assoc,) = server.active_associations
    assoc.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
    # 200 responses of 7 KB: 1.4 MB against buffers of some 150 KB
    threading.Thread(target=_send_quietly, args=(sock, _requests_with_large_responses(200)),
                     daemon=True).start()
    return sock, assoc


def _send_quietly(sock: socket.socket, data: bytes) -> None:
    try:
        sock.sendall(data)
    except OSError:
        pass  # the SCP closed the connection


def test_a_peer_that_stops_reading_loses_its_connection_after_the_transfer_timeout(tmp_path,
                                                                                    caplog):
    server = started(tmp_path, transfer_timeout=2)
    try:
        with caplog.at_level(logging.WARNING, logger="printserver.scp.transport.association"):
            sock, _assoc = peer_that_stops_reading(server)
            wait_for(lambda: not server.active_associations, what="the association to end")
        assert "took no PDU for 2 s, connection closed" in caplog.text
        assert_still_serving_on(server)
        sock.close()
    finally:
        server.stop()


def test_stop_does_not_wait_for_a_peer_that_stopped_reading(tmp_path, caplog):
    """The SCP is blocked in a send (the default transfer timeout is 30 s): stop() returns
    after the stop grace, the connection shut under the send."""
    server = started(tmp_path)
    sock, assoc = peer_that_stops_reading(server)
    # a send that waits at all waits for good: the peer never reads, the buffer cannot grow
    wait_for(lambda: assoc.sending_since is not None
             and time.monotonic() - assoc.sending_since > 0.2, what="the SCP blocked in a send")
    stopper = threading.Thread(target=server.stop)
    with caplog.at_level(logging.WARNING, logger="printserver.scp.transport.listener"):
        stopper.start()
        stopper.join(15)  # STOP_GRACE + STOP_JOIN = 7 s
        assert not stopper.is_alive(), "stop() waits behind a peer that does not read"
    assert "its peer took no data for" in caplog.text
    assert not assoc.thread.is_alive()  # its send failed once the connection was shut
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
        sock.close()
        assert_still_serving(server)
    finally:
        server.stop()


def test_connections_beyond_the_limit_are_closed_at_once(tmp_path):
    server = InProcessServer(tmp_path / "scp", "[dicom.limits]\nmax_associations = 1\n")
    silent = []
    try:
        for _ in range(64):  # connected, never associating: each holds a slot until ARTIM
            silent.append(connect(server))
        wait_for(lambda: len(server.server.active_associations) == 64,
                 what="64 connections accepted")
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


# -- the event settle exception ----------------------------------------------------------------

def test_event_settle_is_off_by_default_and_a_configured_pause_when_set(tmp_path):
    from printserver.errors import ConfigError
    from test_scp_events import print_film

    assert load_config(None).dicom.event_settle_seconds == 0
    (tmp_path / "bad.toml").write_text("[dicom]\nevent_settle_seconds = -1\n")
    with pytest.raises(ConfigError, match="event_settle_seconds"):
        load_config(tmp_path / "bad.toml")
    server = InProcessServer(tmp_path / "scp", "[dicom]\nevent_settle_seconds = 0.3\n")
    try:
        assert server.server.settings.event_settle == 0.3
        with server.scu() as scu:
            print_film(scu)  # PENDING inside the N-ACTION, then its response
            answered = time.monotonic()
            (pending,) = scu.event_reports
            assert answered - pending.received >= 0.3  # the response waited that long
    finally:
        server.stop()
