"""Patient identity from the Modality Worklist for the pacs output (issue 12), against a real
worklist provider: Orthanc with its worklists plugin on 127.0.0.1, and DCMTK's storescp as the
PACS. The Accession Number comes from the Film Session Label or an annotation; one examination
gives the stored film its patient and study; none, several, or a provider that is down leave
the other rules in charge and the job's message says why."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from orthanc_fixtures import OrthancWorklist, WorklistEntry
from printserver.jobs import JobState
from printserver.outputs.worklist import compile_accession_pattern, find_accession
from scp_fixtures import InProcessServer
from test_output_pacs import StoreSCP, print_session, run_all

JANE = WorklistEntry("ACC1001", "DOE^JANE", "PID42", "HOSPITAL_A", "19700102", "F",
                     "1.2.826.0.1.3680043.8.498.1001")
JOHN = WorklistEntry("ACC2002", "ROE^JOHN", "PID77", "HOSPITAL_A", "19650304", "M",
                     "1.2.826.0.1.3680043.8.498.2002")
#: same accession number as JANE's, another patient: an ambiguous worklist
OTHER = WorklistEntry("ACC3003", "POE^ANN", "PID99", "HOSPITAL_B", "19800506", "F",
                      "1.2.826.0.1.3680043.8.498.3003")
TWIN = WorklistEntry("ACC3003", "DOE^JANE", "PID42", "HOSPITAL_A", "19700102", "F",
                     "1.2.826.0.1.3680043.8.498.3004")
#: a second scheduled procedure step of JOHN's examination: still one examination
JOHN_STEP2 = WorklistEntry(**{**JOHN.__dict__, "step_id": "SPS2"})
ACCESSION = r"ACC:(?P<accession_number>\w+)"
LABEL_PATTERN = r"ID:(?P<patient_id>\w+) NAME:(?P<patient_name>[\w^]+)"


def config(pacs_port: int, worklist_port: int) -> str:
    return f"""
[workers]
retry_delay = 0.2
retry_max_delay = 0.5
[[printers]]
ae_title = "ARCHIVE"
resolution_dpi = {{ STANDARD = 25 }}
[printers.output]
kind = "pacs"
host = "127.0.0.1"
port = {pacs_port}
called_aet = "PACS"
timeout = 10
patient_pattern = '{LABEL_PATTERN}'
worklist = {{ host = "127.0.0.1", port = {worklist_port}, called_aet = "ORTHANC", timeout = 5, accession_pattern = '{ACCESSION}' }}
"""


@pytest.fixture
def orthanc(tmp_path: Path):
    provider = OrthancWorklist(tmp_path / "orthanc")
    for name, entry in (("jane", JANE), ("john", JOHN), ("john2", JOHN_STEP2), ("other", OTHER),
                        ("twin", TWIN)):
        provider.add(name, entry)
    provider.start()
    yield provider
    provider.stop()


@pytest.fixture
def pacs(tmp_path: Path):
    scp = StoreSCP(tmp_path).start()
    yield scp
    scp.stop()


@pytest.fixture
def srv(tmp_path: Path, pacs: StoreSCP, orthanc: OrthancWorklist):
    server = InProcessServer(tmp_path / "srv", config(pacs.port, orthanc.port))
    yield server
    server.stop()


def stored_for(pacs: StoreSCP, job_id: str):
    (ds,) = [ds for ds in pacs.instances().values() if job_id in ds.ImageComments]
    return ds


def test_accession_number_found_in_label_then_annotations() -> None:
    pattern = compile_accession_pattern(ACCESSION, "ARCHIVE")
    manifest = {"film_session": {"attributes": {"FilmSessionLabel": "Chest"}},
                "films": [{"annotation_boxes": [{"position": 2, "text": "ACC:LATER"},
                                                {"position": 1, "text": "see ACC:FIRST"}]}]}
    assert find_accession(manifest, pattern) == "FIRST"
    manifest["film_session"]["attributes"]["FilmSessionLabel"] = "Chest ACC:LABEL1"
    assert find_accession(manifest, pattern) == "LABEL1"
    with pytest.raises(Exception, match="accession_number"):
        compile_accession_pattern(r"ACC:(\w+)", "ARCHIVE")


def test_one_worklist_match_gives_the_film_its_patient_and_study(srv, pacs) -> None:
    """Label ``ACC:ACC1001``: Jane's name, ID, issuer, birth date, sex and Study Instance UID;
    an annotation ``ACC:ACC2002`` (two procedure steps, one examination): John's."""
    (by_label,) = print_session(srv, FilmSessionLabel="Chest ACC:ACC1001 ID:WRONG NAME:WRONG")
    (by_annotation,) = print_session(srv, annotation="Knee ACC:ACC2002",
                                     FilmSessionLabel="no identity here")
    done = {j.job_id: j for j in run_all(srv)}
    for job, entry in ((by_label, JANE), (by_annotation, JOHN)):
        assert done[job.job_id].state is JobState.DONE, done[job.job_id].message
        ds = stored_for(pacs, job.job_id)
        assert str(ds.PatientName) == entry.patient_name
        assert (ds.PatientID, ds.IssuerOfPatientID) == (entry.patient_id, entry.issuer)
        assert (ds.PatientBirthDate, ds.PatientSex) == (entry.birth_date, entry.sex)
        assert ds.StudyInstanceUID == entry.study_instance_uid  # joins the patient's study
        assert ds.AccessionNumber == entry.accession_number
        assert "Patient identity from the Modality Worklist" in ds.ImageComments
        message = done[job.job_id].message
        assert re.search(rf"patient identity from the Modality Worklist \(worklist provider "
                         rf"ORTHANC at 127\.0\.0\.1:\d+, accession {entry.accession_number}: "
                         rf"patient {entry.patient_id}\)", message), message


@pytest.mark.parametrize("label,why", [
    ("Chest ACC:ACC9999 ID:PAT0042 NAME:DOE^JANE", "accession ACC9999: no worklist entry"),
    ("Chest ACC:ACC3003 ID:PAT0042 NAME:DOE^JANE",
     "accession ACC3003: 2 worklist entries for different patients or studies"),
])
def test_no_or_several_matches_leave_the_current_rules(srv, pacs, label: str, why: str) -> None:
    """The Film Session Label pattern then applies (Patient ID PAT0042), the study is printserver's
    own, and the message says why the worklist gave nothing."""
    (job,) = print_session(srv, FilmSessionLabel=label)
    (done,) = run_all(srv)
    assert done.state is JobState.DONE, done.message
    ds = stored_for(pacs, job.job_id)
    assert (ds.PatientID, str(ds.PatientName)) == ("PAT0042", "DOE^JANE")
    assert ds.StudyInstanceUID.startswith("2.25.")
    assert "patient identity from the Film Session Label (worklist provider ORTHANC" in \
        done.message and why in done.message


def test_no_accession_number_the_worklist_is_not_asked(srv, pacs) -> None:
    (job,) = print_session(srv, FilmSessionLabel="plain label")
    (done,) = run_all(srv)
    assert done.state is JobState.DONE
    assert stored_for(pacs, job.job_id).PatientID == "UNKNOWN-CT_SCANNER"
    assert "no Accession Number in the Film Session Label or the annotations" in done.message


def test_worklist_provider_down_does_not_hold_the_film(srv, pacs, orthanc) -> None:
    """Orthanc stopped: the film is stored at once with the current rules' identity (documented
    choice: not retried), and the message says the worklist was unavailable."""
    orthanc.stop()
    (job,) = print_session(srv, FilmSessionLabel="Chest ACC:ACC1001")
    (done,) = run_all(srv)
    assert done.state is JobState.DONE and done.retries == 0, done.message
    assert stored_for(pacs, job.job_id).PatientID == "UNKNOWN-CT_SCANNER"
    assert "patient identity from the placeholder" in done.message
    assert "accession ACC1001: unavailable" in done.message
