"""Helpers for the Print SCP tests: a small pynetdicom Print SCU and the server fixtures' classes.

The SCU records the command set of every response (pitfall P7: the SCP-assigned instance UID of
an N-CREATE is only in the response command set) and answers N-EVENT-REPORTs with Success.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE, build_context, evt

from printserver.config import load_config
from printserver.jobs.migrate import upgrade
from printserver.jobs.store import JobStore, open_job_store
from printserver.scu.reactor_gate import install_gate

REPO = Path(__file__).resolve().parent.parent

FILM_SESSION = "1.2.840.10008.5.1.1.1"
FILM_BOX = "1.2.840.10008.5.1.1.2"
IMAGE_BOX = "1.2.840.10008.5.1.1.4"
META = "1.2.840.10008.5.1.1.9"
PRINT_JOB = "1.2.840.10008.5.1.1.14"
ANNOTATION = "1.2.840.10008.5.1.1.15"
PRINTER = "1.2.840.10008.5.1.1.16"
PRINTER_INSTANCE = "1.2.840.10008.5.1.1.17"
PRINTER_CONFIGURATION = "1.2.840.10008.5.1.1.16.376"
PRINTER_CONFIGURATION_INSTANCE = "1.2.840.10008.5.1.1.17.376"
PLUT = "1.2.840.10008.5.1.1.23"
VERIFICATION = "1.2.840.10008.1.1"
ALL_TS = [ImplicitVRLittleEndian, ExplicitVRLittleEndian]
DEFAULT_CONTEXTS = (META, PLUT, PRINT_JOB, ANNOTATION, PRINTER_CONFIGURATION, VERIFICATION)


def process_state(pid: int) -> str:
    """The state letter of process ``pid`` in /proc (R running, S sleeping, Z zombie …), or ""
    when there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return ""
    return stat.rsplit(")", 1)[1].split()[0]


def process_gone(pid: int) -> bool:
    """True when process ``pid`` has ended (no such process, or a zombie nobody reaped yet)."""
    return process_state(pid) in ("", "Z", "X")


def wait_process_gone(pid: int, timeout: float = 15.0) -> None:
    """Wait until process ``pid`` has ended; AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not process_gone(pid):
        if time.monotonic() >= deadline:
            raise AssertionError(f"process {pid} still running after {timeout} s")
        time.sleep(0.02)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Response:
    """What the SCU received: status code, the response command set and data set."""

    status: int
    command: Dataset | None
    dataset: Dataset | None
    status_ds: Dataset | None

    @property
    def affected_uid(self) -> str | None:
        uid = getattr(self.command, "AffectedSOPInstanceUID", None)
        return str(uid) if uid else None


@dataclass
class EventReport:
    """An N-EVENT-REPORT-RQ the SCU received (answered with Success)."""

    class_uid: str
    instance_uid: str
    event_type: int
    information: Dataset
    received: float


class PrintSCU:
    """A pynetdicom Print SCU for tests.

    Parameters
    ----------
    port : int
    contexts : iterable of str
        Abstract syntaxes to propose.
    transfer_syntaxes : list of str
    called, calling : str
        AE titles.
    """

    def __init__(self, port: int, contexts=DEFAULT_CONTEXTS, transfer_syntaxes=None,
                 called: str = "PRINTSCP", calling: str = "TESTSCU", host: str = "127.0.0.1",
                 max_pdu: int = 16382, tls=None) -> None:
        self.ae = AE(ae_title=calling)
        self.ae.acse_timeout = 10
        self.ae.dimse_timeout = 30
        self.ae.network_timeout = 30
        self.ae.maximum_pdu_size = max_pdu
        ts = transfer_syntaxes or ALL_TS
        self.events: list[tuple[int, Dataset]] = []
        #: every N-EVENT-REPORT-RQ received, in arrival order
        self.event_reports: list[EventReport] = []
        self._last_command: Dataset | None = None
        contexts_list = [build_context(c, ts) for c in contexts]
        handlers = [(evt.EVT_DIMSE_RECV, self._on_recv), (evt.EVT_N_EVENT_REPORT, self._on_event)]
        kwargs = {"tls_args": (tls, host)} if tls is not None else {}
        self.assoc = install_gate(self.ae.associate(host, port, contexts=contexts_list,
                                                    ae_title=called, evt_handlers=handlers,
                                                    **kwargs))
        self.meta = META if META in contexts else None

    # -- pynetdicom plumbing ------------------------------------------------------------------
    def _on_recv(self, event: evt.Event) -> None:
        self._last_command = event.message.command_set

    def _on_event(self, event: evt.Event) -> tuple[int, None]:
        self.events.append((event.event_type, event.event_information))
        rq = event.request
        self.event_reports.append(EventReport(str(rq.AffectedSOPClassUID),
                                              str(rq.AffectedSOPInstanceUID), event.event_type,
                                              event.event_information, time.monotonic()))
        return 0x0000, None

    def _meta(self, class_uid: str) -> str | None:
        if class_uid in (FILM_SESSION, FILM_BOX, IMAGE_BOX, PRINTER) and self.meta:
            return self.meta
        return None

    def _response(self, status: Dataset | None, ds: Dataset | None = None) -> Response:
        if status is None or "Status" not in status:
            raise AssertionError("no response from the SCP")
        return Response(int(status.Status), self._last_command, ds, status)

    @property
    def is_established(self) -> bool:
        return self.assoc.is_established

    def create(self, class_uid: str, ds: Dataset | None, uid: str | None = None) -> Response:
        status, rsp = self.assoc.send_n_create(ds, class_uid, uid, meta_uid=self._meta(class_uid))
        return self._response(status, rsp)

    def set(self, class_uid: str, uid: str, ds: Dataset) -> Response:
        status, rsp = self.assoc.send_n_set(ds, class_uid, uid, meta_uid=self._meta(class_uid))
        return self._response(status, rsp)

    def get(self, class_uid: str, uid: str, ids: list[int] | None = None) -> Response:
        status, rsp = self.assoc.send_n_get(ids or [], class_uid, uid, meta_uid=self._meta(class_uid))
        return self._response(status, rsp)

    def action(self, class_uid: str, uid: str, action_type: int = 1) -> Response:
        status, rsp = self.assoc.send_n_action(None, action_type, class_uid, uid,
                                               meta_uid=self._meta(class_uid))
        return self._response(status, rsp)

    def delete(self, class_uid: str, uid: str) -> Response:
        status = self.assoc.send_n_delete(class_uid, uid, meta_uid=self._meta(class_uid))
        return self._response(status)

    def release(self) -> None:
        if self.assoc.is_established:
            self.assoc.release()

    def __enter__(self) -> PrintSCU:
        assert self.assoc.is_established, "association not established"
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    # -- print helpers ------------------------------------------------------------------------
    def film_session(self, **attrs: Any) -> str:
        ds = Dataset()
        ds.NumberOfCopies = 1
        for k, v in attrs.items():
            setattr(ds, k, v)
        r = self.create(FILM_SESSION, ds)
        assert r.status in (0, 0xB600, 0x0107), hex(r.status)
        return r.affected_uid

    def film_box(self, session_uid: str, fmt: str = "STANDARD\\1,1", **attrs: Any) -> Response:
        ds = Dataset()
        ds.ImageDisplayFormat = fmt
        ref = Dataset()
        ref.ReferencedSOPClassUID = FILM_SESSION
        ref.ReferencedSOPInstanceUID = session_uid
        ds.ReferencedFilmSessionSequence = [ref]
        for k, v in attrs.items():
            setattr(ds, k, v)
        return self.create(FILM_BOX, ds)


def image_item(pixels: np.ndarray, photometric: str = "MONOCHROME2", bits_stored: int | None = None,
               big_endian: bool = False) -> Dataset:
    """A Basic Grayscale Image Sequence item for ``pixels`` (uint8 → 8-bit, uint16 → 12-bit)."""
    item = Dataset()
    item.SamplesPerPixel = 1
    item.PhotometricInterpretation = photometric
    item.Rows, item.Columns = pixels.shape
    if pixels.dtype == np.uint8:
        item.BitsAllocated, item.BitsStored, item.HighBit = 8, 8, 7
        item.PixelData = pixels.tobytes()
        item["PixelData"].VR = "OB"
    else:
        bs = bits_stored or 12
        item.BitsAllocated, item.BitsStored, item.HighBit = 16, bs, bs - 1
        item.PixelData = pixels.astype(">u2" if big_endian else "<u2").tobytes()
        item["PixelData"].VR = "OW"
    item.PixelRepresentation = 0
    return item


def image_box_ds(position: int, pixels: np.ndarray | None, **kw: Any) -> Dataset:
    ds = Dataset()
    ds.ImageBoxPosition = position
    ds.BasicGrayscaleImageSequence = [] if pixels is None else [
        image_item(pixels, **{k: v for k, v in kw.items() if k in ("photometric", "big_endian")})]
    for k, v in kw.items():
        if k not in ("photometric", "big_endian"):
            setattr(ds, k, v)
    return ds


def reference(class_uid: str, uid: str) -> list[Dataset]:
    item = Dataset()
    item.ReferencedSOPClassUID = class_uid
    item.ReferencedSOPInstanceUID = uid
    return [item]


@dataclass
class ServerProcess:
    """A ``printserver serve`` subprocess (see the ``print_scp`` fixture in conftest.py).

    Attributes
    ----------
    host, port, ae_title, data_dir, config_path
    process : subprocess.Popen
    log_path : Path
        The server's stderr.
    web_port : int
        The web UI's port (``--web-port``; a free one when not given). :meth:`start` waits for
        ``/api/health`` too unless the configuration says ``[web] enabled = false``.
    """

    host: str
    port: int
    ae_title: str
    data_dir: Path
    config_path: Path | None
    log_path: Path
    process: subprocess.Popen | None = None
    _stores: list = field(default_factory=list)
    web_port: int | None = None

    def __post_init__(self) -> None:
        if self.web_port is None:
            self.web_port = free_port()

    @property
    def web_enabled(self) -> bool:
        return load_config(self.config_path, data_dir=self.data_dir).web.enabled

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` of the web UI (``https://`` with ``[web] certificate``)."""
        https = load_config(self.config_path, data_dir=self.data_dir).web.https
        return f"{'https' if https else 'http'}://{self.host}:{self.web_port}"

    def setup_token(self) -> str:
        """The first-run setup token serve logged (the last one, after restarts)."""
        found = re.findall(r"first run: create the first admin at \S+ with the setup token (\S+)",
                           self.log_path.read_text(errors="replace"))
        if not found:
            raise AssertionError(f"no setup token in serve's log: {self.log_path.read_text()}")
        return found[-1]

    def _web_ready(self) -> bool:
        import ssl

        unverified = ssl._create_unverified_context()  # only: is it up? (tests check TLS)
        try:
            with urllib.request.urlopen(f"{self.base_url}/api/health", timeout=2,
                                        context=unverified) as answer:
                return answer.status == 200
        except OSError:
            return False

    def start(self, timeout: float = 20.0) -> ServerProcess:
        cmd = [sys.executable, "-m", "printserver", "serve", "--data-dir", str(self.data_dir),
               "--dicom-port", str(self.port), "--web-port", str(self.web_port)]
        if self.config_path:
            cmd += ["--config", str(self.config_path)]
        env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen(cmd, cwd=REPO, stdout=self.log, stderr=self.log, env=env)
        deadline = time.monotonic() + timeout
        web = self.web_enabled
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"printserver serve exited: {self.log_path.read_text()}")
            if self._echo() and (not web or self._web_ready()):
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"printserver serve did not start: {self.log_path.read_text()}")

    def _echo(self) -> bool:
        try:
            socket.create_connection((self.host, self.port), timeout=1).close()
        except OSError:
            return False
        ae = AE(ae_title="PROBE")
        ae.acse_timeout = 2
        ae.add_requested_context(VERIFICATION)
        try:
            assoc = ae.associate(self.host, self.port, ae_title=self.ae_title)
        except OSError:
            return False
        if not assoc.is_established:
            return False
        status = assoc.send_c_echo()
        assoc.release()
        return status is not None and status.Status == 0

    def store(self) -> JobStore:
        """A JobStore over the server's data folder (closed when the fixture ends)."""
        config = load_config(self.config_path, data_dir=self.data_dir)
        s = open_job_store(config)
        self._stores.append(s)
        return s

    def restart(self, timeout: float = 20.0) -> ServerProcess:
        """Start again on the same port, data folder and configuration (after stop or kill)."""
        if self.process is not None and self.process.poll() is None:
            self.stop()
        return self.start(timeout)

    def kill(self) -> None:
        """kill -9, no clean-up."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM and wait; returns the exit code."""
        for s in self._stores:
            s.close()
        self._stores.clear()
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.log.close()
        return self.process.returncode


class InProcessServer:
    """A :class:`printserver.scp.server.PrintServer` in this process on 127.0.0.1, a free port;
    ``recorder_of(store)``, when given, makes its association recorder."""

    def __init__(self, data_dir: Path, config_toml: str = "", recorder_of=None) -> None:
        from printserver.scp.server import PrintServer

        cfg_path = data_dir / "printserver.toml"
        data_dir.mkdir(parents=True, exist_ok=True)
        cfg_path.write_text(config_toml)
        config = load_config(cfg_path, data_dir=data_dir / "var", dicom_port=0)
        import dataclasses

        config = dataclasses.replace(config, dicom=dataclasses.replace(config.dicom, host="127.0.0.1"))
        self.config = config
        upgrade(config)  # as serve does at start
        if recorder_of is None:
            self.server = PrintServer(config)
        else:
            store = open_job_store(config)
            self.server = PrintServer(config, store, recorder_of(store))
        self.server.start()
        self.port = self.server.port
        self.store = self.server.store
        self.spool = self.server.spool

    def scu(self, **kw: Any) -> PrintSCU:
        return PrintSCU(self.port, **kw)

    def stop(self) -> None:
        self.server.stop()


# -- the wire itself ---------------------------------------------------------------------------

def raw_associate_rq(called: str = "PRINTSCP", calling: str = "RAWSCU", version: int = 1,
                     contexts=(VERIFICATION,)) -> bytes:
    """An A-ASSOCIATE-RQ PDU (PS3.8 9.3.2) as bytes, encoded by pynetdicom; ``version`` is
    written into the Protocol Version field."""
    import struct

    from pynetdicom.pdu import A_ASSOCIATE_RQ
    from pynetdicom.pdu_primitives import A_ASSOCIATE, MaximumLengthNotification

    primitive = A_ASSOCIATE()
    primitive.application_context_name = "1.2.840.10008.3.1.1.1"
    primitive.calling_ae_title = calling
    primitive.called_ae_title = called
    proposed = []
    for n, uid in enumerate(contexts):
        cx = build_context(uid)
        cx.context_id = 2 * n + 1
        proposed.append(cx)
    primitive.presentation_context_definition_list = proposed
    max_length = MaximumLengthNotification()
    max_length.maximum_length_received = 16384
    primitive.user_information = [max_length]
    pdu = A_ASSOCIATE_RQ()
    pdu.from_primitive(primitive)
    data = bytearray(pdu.encode())
    data[6:8] = struct.pack(">H", version)
    return bytes(data)


def read_raw_pdu(sock: socket.socket) -> tuple[int, bytes]:
    """(PDU type, variable field) of the next PDU on ``sock``."""
    import struct

    header = recv_exactly(sock, 6)
    pdu_type, length = struct.unpack(">BxL", header)
    return pdu_type, recv_exactly(sock, length)


def recv_exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError(f"closed after {len(data)} of {n} bytes")
        data += chunk
    return data


def association_answer(port: int, called: str, calling: str = "RAWSCU"
                       ) -> tuple[int, tuple[int, int, int] | None]:
    """Send an A-ASSOCIATE-RQ and read the answer: (PDU type, (result, source, reason) of an
    A-ASSOCIATE-RJ or None). Read off the wire: pynetdicom's requestor can report a quick
    rejection as an abort (its main thread sees the DUL stop before the rejection is noted)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw_associate_rq(called, calling))
        pdu_type, body = read_raw_pdu(sock)
        if pdu_type == 0x02:  # accepted: release it properly
            sock.sendall(bytes([5, 0, 0, 0, 0, 4, 0, 0, 0, 0]))
            read_raw_pdu(sock)
        return pdu_type, (body[1], body[2], body[3]) if pdu_type == 0x03 else None

