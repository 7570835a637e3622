"""A real Modality Worklist provider for tests: Orthanc (Debian's ``orthanc`` package) with its
worklists plugin, on 127.0.0.1 with a free DICOM port, its storage and worklist folders in a
temporary folder, stopped at teardown. Worklist entries are DICOM files made from a dump with
DCMTK's ``dump2dcm``, as the plugin's documentation does it."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from pynetdicom import AE
from pynetdicom.sop_class import Verification

from conftest import require_tool
from dcmtk_print import wait_for_port
from scp_fixtures import free_port

PLUGIN = Path("/usr/share/orthanc/plugins/libModalityWorklists.so")


@dataclass
class WorklistEntry:
    """One scheduled examination (the attributes the pacs output asks for, and one Scheduled
    Procedure Step)."""

    accession_number: str
    patient_name: str
    patient_id: str
    issuer: str
    birth_date: str
    sex: str
    study_instance_uid: str
    step_id: str = "SPS1"

    def dump(self) -> str:
        return "\n".join([
            "(0008,0005) CS [ISO_IR 100]",
            f"(0008,0050) SH [{self.accession_number}]",
            f"(0010,0010) PN [{self.patient_name}]",
            f"(0010,0020) LO [{self.patient_id}]",
            f"(0010,0021) LO [{self.issuer}]",
            f"(0010,0030) DA [{self.birth_date}]",
            f"(0010,0040) CS [{self.sex}]",
            f"(0020,000d) UI [{self.study_instance_uid}]",
            "(0040,0100) SQ", "(fffe,e000) -", "(0008,0060) CS [CR]",
            "(0040,0001) AE [CT_SCANNER]", "(0040,0002) DA [20261204]",
            f"(0040,0009) SH [{self.step_id}]", "(fffe,e00d) -", "(fffe,e0dd) -", ""])


class OrthancWorklist:
    """Orthanc serving Modality Worklist C-FIND from its own folder (AE title ``ORTHANC``)."""

    ae_title = "ORTHANC"

    def __init__(self, root: Path) -> None:
        require_tool("Orthanc")
        require_tool("dump2dcm")
        if not PLUGIN.is_file():
            raise RuntimeError(f"{PLUGIN} missing: install Debian's orthanc package")
        self.root = root
        self.worklists = root / "worklists"
        self.port = free_port()
        self.log_path = root / "orthanc.log"
        self.proc: subprocess.Popen | None = None
        for folder in (self.worklists, root / "storage"):
            folder.mkdir(parents=True, exist_ok=True)
        self.config = root / "orthanc.json"
        self.config.write_text(json.dumps({
            "Name": "printserver tests", "StorageDirectory": str(root / "storage"),
            "IndexDirectory": str(root / "storage"), "DicomAet": self.ae_title,
            "DicomPort": self.port, "HttpServerEnabled": False, "RemoteAccessAllowed": False,
            "DicomCheckCalledAet": True, "DicomAlwaysAllowFindWorklist": True,
            "Plugins": [str(PLUGIN)],
            "Worklists": {"Enable": True, "Database": str(self.worklists)}}, indent=1))

    def add(self, name: str, entry: WorklistEntry) -> Path:
        """Write one worklist file (``name.wl``) with ``dump2dcm``."""
        dump = self.root / f"{name}.txt"
        dump.write_text(entry.dump())
        target = self.worklists / f"{name}.wl"
        subprocess.run(["dump2dcm", "--write-xfer-little", str(dump), str(target)], check=True,
                       capture_output=True, timeout=30)
        return target

    def start(self) -> OrthancWorklist:
        self._log = open(self.log_path, "a")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(["Orthanc", str(self.config)], stdout=self._log,
                                     stderr=subprocess.STDOUT, cwd=self.root)
        try:
            wait_for_port("127.0.0.1", self.port, timeout=30, proc=self.proc)
            self._echo()
        except BaseException:
            self.stop()
            raise
        return self

    def _echo(self) -> None:
        ae = AE(ae_title="PROBE")
        ae.add_requested_context(Verification)
        assoc = ae.associate("127.0.0.1", self.port, ae_title=self.ae_title)
        try:
            status = assoc.send_c_echo() if assoc.is_established else None
        finally:
            if assoc.is_established:
                assoc.release()
        if status is None or status.Status != 0:
            raise RuntimeError(f"Orthanc does not answer C-ECHO: {self.log_path.read_text()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None
        if getattr(self, "_log", None) is not None:
            self._log.close()
            self._log = None
