"""The pacs output against DCMTK's storescp on loopback: films arrive as Multi-frame Grayscale
Word SC instances holding the film's P-values (Presentation LUT Shape IDENTITY), one study per
film session, one series per printer, the patient identity by the three rules, the same UIDs when
a job is delivered again; an unreachable PACS is a clear error."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset

from conftest import require_tool
from dcmtk_print import wait_for_port
from printserver.jobs import Job, JobState
from printserver.jobs.worker import Worker
from printserver.layout.densities import MILLI_OD
from printserver.outputs import open_output
from printserver.outputs.base import OutputUnavailable
from printserver.outputs.pacs import SOP_CLASS_UID
from printserver.gsdf.pipeline import pvalues_to_od
from scp_fixtures import ANNOTATION, FILM_BOX, IMAGE_BOX, InProcessServer, free_port, image_box_ds

TIMEOUT = 20


def dcmtk_tool(name: str) -> str:
    """The DCMTK program ``name`` on PATH (pynetdicom installs Python apps with the same names,
    e.g. ``storescp``, that may come first)."""
    require_tool(name)
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        path = shutil.which(name, path=folder)
        if path is None:
            continue
        proc = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=TIMEOUT)
        if "dcmtk" in (proc.stdout + proc.stderr).lower():
            return path
    pytest.fail(f"DCMTK's {name} not found on PATH")


class StoreSCP:
    """DCMTK's storescp on a free 127.0.0.1 port, writing what it receives into ``folder``."""

    def __init__(self, root: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.folder = root / "pacs"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.log_path = root / "storescp.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> StoreSCP:
        self._log = open(self.log_path, "a")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [dcmtk_tool("storescp"), "--aetitle", "PACS", "--output-directory",
             str(self.folder), "--acse-timeout", "10", "--dimse-timeout", "10", str(self.port)],
            stdout=self._log, stderr=subprocess.STDOUT)
        try:
            wait_for_port("127.0.0.1", self.port, proc=self.proc)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None
        if getattr(self, "_log", None) is not None:
            self._log.close()
            self._log = None

    def instances(self) -> dict[str, Dataset]:
        """SOP Instance UID → the stored data set (storescp names files after the UID)."""
        found = [pydicom.dcmread(p) for p in sorted(self.folder.iterdir()) if p.is_file()]
        return {str(ds.SOPInstanceUID): ds for ds in found}

    def files(self) -> list[Path]:
        return sorted(p for p in self.folder.iterdir() if p.is_file())


def config(port: int) -> str:
    return f"""
[workers]
retry_delay = 0.2
retry_max_delay = 0.5
[[printers]]
ae_title = "ARCHIVE"
name = "film archive"
resolution_dpi = {{ STANDARD = 50 }}
output = {{ kind = "pacs", host = "127.0.0.1", port = {port}, called_aet = "PACS", calling_aet = "PRINTSERVER", timeout = 10, patient_pattern = 'ID:(?P<patient_id>\\w+) NAME:(?P<patient_name>[\\w^]+)' }}

[[printers]]
ae_title = "ARCHIVE2"
resolution_dpi = {{ STANDARD = 50 }}
output = {{ kind = "pacs", host = "127.0.0.1", port = {port}, called_aet = "PACS", timeout = 10 }}

[[printers]]
ae_title = "BADPATTERN"
resolution_dpi = {{ STANDARD = 50 }}
output = {{ kind = "pacs", host = "127.0.0.1", port = {port}, called_aet = "PACS", patient_pattern = 'ID:(?P<id>\\w+)' }}
"""


@pytest.fixture
def pacs(tmp_path):
    scp = StoreSCP(tmp_path).start()
    yield scp
    scp.stop()


@pytest.fixture
def srv(tmp_path, pacs):
    server = InProcessServer(tmp_path / "srv", config(pacs.port))
    yield server
    server.stop()


def print_session(srv: InProcessServer, *, called: str = "ARCHIVE", films: int = 1,
                  fmt: str = "STANDARD\\1,2", annotation: str | None = None,
                  calling: str = "CT_SCANNER", **session: object) -> list[Job]:
    """One film session with ``films`` film boxes, each printed by its own N-ACTION (one job
    each); image box ``p`` holds a flat image of value 800·p (12 bits)."""
    before = {j.job_id for j in srv.store.list()}
    with srv.scu(called=called, calling=calling) as scu:
        fs = scu.film_session(**session)
        for _ in range(films):
            extra = {"AnnotationDisplayFormatID": "LABEL"} if annotation else {}
            fb = scu.film_box(fs, fmt, FilmSizeID="14INX17IN", **extra)
            assert fb.status == 0, hex(fb.status)
            boxes = [i.ReferencedSOPInstanceUID for i in fb.dataset.ReferencedImageBoxSequence]
            for position, uid in enumerate(boxes, start=1):
                pixels = np.full((64, 64), 800 * position, np.uint16)
                assert scu.set(IMAGE_BOX, uid, image_box_ds(position, pixels)).status == 0
            if annotation:
                (item,) = fb.dataset.ReferencedBasicAnnotationBoxSequence
                ds = Dataset()
                ds.AnnotationPosition = 1
                ds.TextString = annotation
                assert scu.set(ANNOTATION, item.ReferencedSOPInstanceUID, ds).status == 0
            assert scu.action(FILM_BOX, fb.affected_uid).status == 0
    return sorted((j for j in srv.store.list() if j.job_id not in before),
                  key=lambda j: j.created_at)


def run_all(srv: InProcessServer) -> list[Job]:
    worker = Worker(srv.config, srv.store, srv.spool, "test:pacs")
    done = []
    while (job := worker.run_once()) is not None:
        done.append(job)
    return done


def dcmdump(path: Path) -> str:
    proc = subprocess.run([dcmtk_tool("dcmdump"), str(path)], capture_output=True, text=True,
                          timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_films_arrive_as_grayscale_word_sc_with_pvalues_one_study_per_session(srv, pacs):
    jobs = print_session(srv, films=2, annotation="LEFT LUNG",
                         FilmSessionLabel="Chest ID:PAT0042 NAME:DOE^JANE")
    other = print_session(srv, called="ARCHIVE2", FilmSessionLabel="no identity here")
    done = run_all(srv)
    assert [j.state for j in done] == [JobState.DONE] * 3
    assert all("C-STORE film 1 2.25." in j.message and ": 0x0000" in j.message for j in done)

    stored = pacs.instances()
    assert len(stored) == 3 and len(pacs.files()) == 3
    by_job = {}
    for ds in stored.values():
        by_job[next(j.job_id for j in jobs + other if j.job_id in ds.ImageComments)] = ds
    a, b, c = (by_job[j.job_id] for j in jobs + other)

    for ds in (a, b, c):
        assert ds.SOPClassUID == SOP_CLASS_UID == "1.2.840.10008.5.1.4.1.1.7.3"
        assert ds.file_meta.MediaStorageSOPClassUID == SOP_CLASS_UID
        assert ds.Modality == "HC" and ds.ConversionType == "WSD"
        assert (ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation) == (16, 12,
                                                                                          11, 0)
        assert ds.PhotometricInterpretation == "MONOCHROME2" and ds.SamplesPerPixel == 1
        assert ds.PresentationLUTShape == "IDENTITY" and int(ds.NumberOfFrames) == 1
        # 14 x 17 inch at 50 dpi, portrait: the film raster itself
        assert (ds.Rows, ds.Columns) == (850, 700)
        assert ds.pixel_array.shape == (850, 700) and ds.pixel_array.max() <= 4095
        assert [float(v) for v in ds.NominalScannedPixelSpacing] == [pytest.approx(0.508)] * 2

    # one study per film session: the two jobs of the session share it; one series per printer
    assert a.StudyInstanceUID == b.StudyInstanceUID != c.StudyInstanceUID
    assert a.SeriesInstanceUID == b.SeriesInstanceUID != c.SeriesInstanceUID
    assert len({a.SOPInstanceUID, b.SOPInstanceUID, c.SOPInstanceUID}) == 3
    assert "ARCHIVE (film archive)" in a.SeriesDescription and "ARCHIVE2" in c.SeriesDescription
    # identity from the label through the pattern; the label and annotation are kept
    assert (a.PatientID, str(a.PatientName)) == ("PAT0042", "DOE^JANE")
    assert a.StudyDescription == "Chest ID:PAT0042 NAME:DOE^JANE"
    assert "Annotations: LEFT LUNG" in a.ImageComments and "Film Session Label" in a.ImageComments
    # no pattern on ARCHIVE2: the marked placeholder of the calling AE, never a guess
    assert (c.PatientID, str(c.PatientName)) == ("UNKNOWN-CT_SCANNER",
                                                "UNKNOWN^PRINT FROM CT_SCANNER")
    assert "placeholder" in c.ImageComments and c.StudyDescription == "no identity here"

    # pixels are the film's P-values: box 1 (value 800) and box 2 (1600) with IDENTITY, border
    # BLACK (Max Density → P-value 0); back through the GSDF they give the film's densities
    px = a.pixel_array
    top, bottom = px[100:300, 300:400], px[550:750, 300:400]
    assert abs(int(np.median(top)) - 800) <= 3 and abs(int(np.median(bottom)) - 1600) <= 3
    assert px[0, 0] == 0 and px[425, 2] == 0
    od = pvalues_to_od(np.array([800]), 12, 0.2, 3.0, 2000, 10)[0]
    assert od == pytest.approx(pvalues_to_od(np.median(top), 12, 0.2, 3.0, 2000, 10),
                               abs=2 / MILLI_OD)

    dump = dcmdump(pacs.files()[0])
    for text in ("=MultiframeGrayscaleWordSecondaryCaptureImageStorage", "(0028,0100) US 16",
                 "(0028,0101) US 12", "(2050,0020) CS [IDENTITY]", "(0028,0010) US 850",
                 "(0028,0011) US 700", "(0008,0060) CS [HC]"):
        assert text in dump, text


def test_identity_from_the_proposed_study_sequence_wins(srv, pacs):
    study = Dataset()
    study.PatientName = "Müller^Anna"
    study.PatientID = "4711"
    study.PatientBirthDate = "19700101"
    study.PatientSex = "F"
    study.AccessionNumber = "ACC99"
    (job,) = print_session(srv, ProposedStudySequence=[study],
                           FilmSessionLabel="ID:OTHER NAME:NOT^THIS")
    (done,) = run_all(srv)
    assert done.state is JobState.DONE, done.message
    (ds,) = pacs.instances().values()
    assert (ds.PatientID, str(ds.PatientName), ds.PatientBirthDate, ds.PatientSex,
            ds.AccessionNumber) == ("4711", "Müller^Anna", "19700101", "F", "ACC99")
    assert "Proposed Study Sequence" in ds.ImageComments


def test_label_not_matching_the_pattern_gives_the_placeholder(srv, pacs):
    print_session(srv, calling="MR_1", FilmSessionLabel="Knee left")
    (done,) = run_all(srv)
    (ds,) = pacs.instances().values()
    assert (ds.PatientID, str(ds.PatientName)) == ("UNKNOWN-MR_1", "UNKNOWN^PRINT FROM MR_1")


def test_a_second_delivery_overwrites_with_the_same_uids(srv, pacs):
    (job,) = print_session(srv, films=1, FilmSessionLabel="ID:7 NAME:X^Y")
    (done,) = run_all(srv)
    first = pacs.instances()
    printer = srv.config.printer("ARCHIVE")
    output = open_output(printer, srv.config)
    manifest = srv.spool.load_manifest(job)
    again = output.deliver(manifest, lambda f, p: srv.spool.load_pixels(job, f, p, manifest))
    # the identity's source first (issue 12), then one line per C-STORE
    assert again.delivery[0] == "patient identity from the Film Session Label"
    assert again.delivery[1].endswith(": 0x0000")
    second = pacs.instances()
    assert set(second) == set(first)  # no new SOP Instance UID
    ((uid, a),) = first.items()
    assert (second[uid].StudyInstanceUID, second[uid].SeriesInstanceUID) == (
        a.StudyInstanceUID, a.SeriesInstanceUID)
    assert uid in again.delivery[1]


def test_unreachable_pacs_is_an_unavailable_error(srv, pacs):
    (job,) = print_session(srv)
    pacs.stop()
    printer = srv.config.printer("ARCHIVE")
    manifest = srv.spool.load_manifest(job)
    with pytest.raises(OutputUnavailable, match="PACS PACS at 127.0.0.1:.* is unavailable"):
        open_output(printer, srv.config).deliver(
            manifest, lambda f, p: srv.spool.load_pixels(job, f, p, manifest))
    assert pacs.instances() == {}


def test_job_waits_while_the_pacs_is_down_and_is_stored_once_it_is_back(srv, pacs):
    (job,) = print_session(srv, FilmSessionLabel="ID:1 NAME:A^B")
    pacs.stop()
    worker = Worker(srv.config, srv.store, srv.spool, "test:pacs")
    waiting = worker.run_once()
    assert waiting.job_id == job.job_id and waiting.state is JobState.QUEUED
    assert "PACS PACS at 127.0.0.1" in waiting.message and "unavailable" in waiting.message
    assert srv.store.printer_state("ARCHIVE").output_status_info == "PRINTER DOWN"

    pacs.start()  # same port and folder
    deadline = time.monotonic() + 40  # one attempt may wait output.timeout (10 s)
    while (done := worker.run_once()) is None or done.state is not JobState.DONE:
        assert time.monotonic() < deadline, (srv.store.get(job.job_id),
                                             pacs.log_path.read_text()[-3000:])
        time.sleep(0.1)
    assert done.job_id == job.job_id
    (ds,) = pacs.instances().values()
    assert ds.PatientID == "1"


def test_a_pattern_without_patient_id_fails_the_job_readably(srv, pacs):
    print_session(srv, called="BADPATTERN", FilmSessionLabel="ID:5")
    (failed,) = run_all(srv)
    assert failed.state is JobState.FAILED
    assert "output.patient_pattern" in failed.message and "(?P<patient_id>" in failed.message
    assert pacs.instances() == {}


def test_check_echoes_the_pacs(srv, pacs):
    output = open_output(srv.config.printer("ARCHIVE"), srv.config)
    assert (output.check().status, output.check().status_info) == ("NORMAL", "NORMAL")
    pacs.stop()
    down = output.check()
    assert (down.status, down.status_info) == ("FAILURE", "PRINTER DOWN")
    assert "PACS PACS at 127.0.0.1" in down.message
