"""The composition root of ``printserver serve`` (printserver/serve.py), in this process: its
parts start in order, answer, and stop in order; a port in use stops what had started."""

from __future__ import annotations

import dataclasses
import socket
import threading

import pytest
from pydicom.uid import ExplicitVRLittleEndian
from pynetdicom import build_context
from pynetdicom.sop_class import Verification

from printserver.config import load_config
from printserver.errors import PrintserverError
from printserver.scu.peer import Peer, PeerUnreachable, connect
from printserver.serve import ServeNode


def _config(tmp_path, port: int = 0):
    path = tmp_path / "printserver.toml"
    path.write_text("[workers]\ncount = 0\n[retention]\ndays = 0\n[web]\nport = 0\n")
    config = load_config(path, data_dir=tmp_path / "var", dicom_port=port)
    return dataclasses.replace(config, dicom=dataclasses.replace(config.dicom, host="127.0.0.1"))


def _echo(port: int) -> int:
    assoc = connect(Peer("127.0.0.1", port, "PRINTSCP", "SERVETEST", timeout=10),
                    [build_context(Verification, ExplicitVRLittleEndian)])
    try:
        return int(assoc.send_c_echo().Status)
    finally:
        assoc.release()


def test_parts_start_answer_and_stop_in_order(tmp_path):
    node = ServeNode(_config(tmp_path))
    try:
        node.start()
        assert node.server is not None and node.workers is not None
        assert node.housekeeper is not None
        port = node.server.port
        assert _echo(port) == 0
    finally:
        node.stop()
    assert (node.server, node.workers, node.housekeeper) == (None, None, None)
    with pytest.raises(PeerUnreachable):
        _echo(port)
    node.stop()  # stopping twice is harmless


def test_run_serves_until_told_to_stop(tmp_path):
    node = ServeNode(_config(tmp_path))
    stop = threading.Event()
    thread = threading.Thread(target=node.run, args=(stop,), daemon=True)
    thread.start()
    try:
        assert node.started.wait(30)
        assert _echo(node.server.port) == 0
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive() and node.server is None and not node.started.is_set()


def test_a_port_in_use_is_a_clean_error_and_nothing_is_left_running(tmp_path):
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        node = ServeNode(_config(tmp_path, blocker.getsockname()[1]))
        try:
            with pytest.raises(PrintserverError, match="cannot listen on 127.0.0.1:"):
                node.start()
            assert node.workers is None and node.housekeeper is None
        finally:
            node.stop()
    assert node.server is None
