"""Associating with a DICOM peer (printserver/scu/peer.py) over loopback: a rejection, an
unreachable peer and a refused context are told apart; and the check that the installed
pynetdicom still has what the reactor gate relies on, run against altered stand-ins."""

from __future__ import annotations

import time

import pytest
from pydicom.uid import ExplicitVRLittleEndian
from pynetdicom import AE, build_context
from pynetdicom.association import Association
from pynetdicom.pdu import A_ASSOCIATE_RJ
from pynetdicom.sop_class import BasicGrayscalePrintManagementMeta, Verification

from printserver.outputs.dicom_peer import peer_unavailable
from printserver.scu.peer import (ContextsRefused, Peer, PeerRejected, PeerUnreachable,
                                  connect)
from printserver.scu.reactor_gate import (PynetdicomIncompatible, ReactorGate,
                                          check_pynetdicom, pynetdicom_problems)
from scp_fixtures import InProcessServer, free_port

META_CONTEXT = [build_context(BasicGrayscalePrintManagementMeta, ExplicitVRLittleEndian)]
VERIFICATION_CONTEXT = [build_context(Verification, ExplicitVRLittleEndian)]


@pytest.fixture(scope="module")
def scp(tmp_path_factory):
    server = InProcessServer(tmp_path_factory.mktemp("peer") / "scp")
    yield server
    server.stop()


def test_an_established_association_is_gated_and_has_what_was_required(scp):
    peer = Peer("127.0.0.1", scp.port, "PRINTSCP", "PEERTEST", timeout=10)
    assoc = connect(peer, META_CONTEXT + VERIFICATION_CONTEXT,
                    required={str(BasicGrayscalePrintManagementMeta): "meta"})
    try:
        assert assoc.is_established
        assert isinstance(assoc._reactor_checkpoint, ReactorGate)
        assert assoc.send_c_echo().Status == 0
    finally:
        assoc.release()


def test_a_rejection_carries_result_source_and_reason(scp):
    peer = Peer("127.0.0.1", scp.port, "NOSUCHPRINTER", "PEERTEST", timeout=10, kind="PACS")
    with pytest.raises(PeerRejected) as err:
        connect(peer, VERIFICATION_CONTEXT)
    # rejected-permanent by the service-user: called AE title not recognized (PS3.8 Table 9-21)
    assert (err.value.result, err.value.source, err.value.reason) == (1, 1, 7)
    assert str(err.value).startswith(f"PACS NOSUCHPRINTER at 127.0.0.1:{scp.port} rejected")
    unavailable = peer_unavailable(err.value)
    assert (unavailable.status, unavailable.status_info) == ("FAILURE", "PRINTER OFFLINE")
    assert "is unavailable: association rejected (result 0x01" in str(unavailable)


def test_an_unreachable_peer_is_not_a_rejection():
    peer = Peer("127.0.0.1", free_port(), "NOBODY", "PEERTEST", timeout=5, kind="film printer")
    with pytest.raises(PeerUnreachable) as err:
        connect(peer, VERIFICATION_CONTEXT)
    assert "cannot associate with film printer NOBODY" in str(err.value)
    unavailable = peer_unavailable(err.value)
    assert (unavailable.status, unavailable.status_info) == ("FAILURE", "PRINTER DOWN")


def test_a_refused_context_releases_and_names_the_sop_class():
    ae = AE("ECHOONLY")
    ae.add_supported_context(Verification, ExplicitVRLittleEndian)
    port = free_port()
    server = ae.start_server(("127.0.0.1", port), block=False)
    try:
        peer = Peer("127.0.0.1", port, "ECHOONLY", "PEERTEST", timeout=10)
        with pytest.raises(ContextsRefused) as err:
            connect(peer, META_CONTEXT + VERIFICATION_CONTEXT,
                    required={str(BasicGrayscalePrintManagementMeta): "Basic Grayscale Meta"})
        assert err.value.missing == ("Basic Grayscale Meta",)
        assert str(err.value) == (f"ECHOONLY at 127.0.0.1:{port} does not support "
                                  "Basic Grayscale Meta")
        deadline = time.monotonic() + 10  # released, not left open
        while server.active_associations and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.active_associations == []
        assert peer_unavailable(err.value).status_info == "PRINTER OFFLINE"
    finally:
        server.shutdown()


# -- the installed pynetdicom and altered stand-ins ---------------------------------------------

def test_the_installed_pynetdicom_has_what_the_gate_relies_on():
    assert pynetdicom_problems() == []
    check_pynetdicom()


class _NoCheckpoint(Association):
    """An association whose constructor no longer sets _reactor_checkpoint."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self._reactor_checkpoint


class _ReactorWithoutPause(Association):
    """An association whose reactor no longer waits at the checkpoint."""

    def _run_reactor(self) -> None:
        while not self._kill:
            time.sleep(0.001)


class _SendWithoutPause(Association):
    """An association whose N-ACTION no longer pauses the reactor."""

    def send_n_action(self, *args, **kwargs):
        return self.dimse.send_msg(*args)


class _PausedProperty(Association):
    """An association whose _is_paused is a property of its own."""

    @property
    def _is_paused(self) -> bool:
        return True

    @_is_paused.setter
    def _is_paused(self, value: bool) -> None:
        pass


class _RejectionWithoutReason(A_ASSOCIATE_RJ):
    reason_str = None


@pytest.mark.parametrize("association, rejection, missing", [
    (_NoCheckpoint, A_ASSOCIATE_RJ, "no longer sets _reactor_checkpoint"),
    (_ReactorWithoutPause, A_ASSOCIATE_RJ, "_run_reactor no longer waits at _reactor_checkpoint"),
    (_SendWithoutPause, A_ASSOCIATE_RJ, "send_n_action no longer pauses the reactor"),
    (_PausedProperty, A_ASSOCIATE_RJ, "_is_paused became a property"),
    (Association, _RejectionWithoutReason, "A_ASSOCIATE_RJ lacks reason_str"),
])
def test_a_changed_internal_is_named_with_the_pynetdicom_version(association, rejection, missing):
    import pynetdicom

    with pytest.raises(PynetdicomIncompatible) as err:
        check_pynetdicom(association, rejection)
    assert f"pynetdicom {pynetdicom.__version__}" in str(err.value)
    assert missing in str(err.value)
