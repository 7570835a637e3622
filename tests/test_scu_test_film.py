"""Test films (printserver/scu/test_film.py): a TG18-QC film through the project's Print SCU to a
printer's AE title on our own Print SCP, queued on that printer and rendered by a worker like any
film; over TLS with a client certificate; refusals and an unreachable SCP as clear results."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PIL import Image

from printserver.config import Config, DicomConfig
from printserver.jobs.model import JobState
from printserver.jobs.services import Services, UnknownPrinterError
from printserver.jobs.worker import Worker
from printserver.scu.test_film import (TEST_FILM_AE, TestFilmRefused, TestFilmService, film_label,
                                       scp_address)
from scp_fixtures import InProcessServer, free_port
from test_association_log import recorded
from test_scp_tls import _cert

CONFIG = """
[[printers]]
ae_title = "PRINTSCP"
resolution_dpi = { STANDARD = 25 }

[[printers]]
ae_title = "LIGHTBOX"
name = "light box"
resolution_dpi = { STANDARD = 40 }

[[printers]]
ae_title = "WARD"
calling_aets = ["CT1"]
"""


def services_of(srv: InProcessServer) -> Services:
    """Services whose configuration names the port the in-process SCP really listens on."""
    config = srv.config
    return Services(dataclasses.replace(config, dicom=dataclasses.replace(config.dicom,
                                                                          port=srv.port)))


@pytest.fixture
def srv(tmp_path):
    server = InProcessServer(tmp_path / "srv", CONFIG)
    yield server
    server.stop()


def test_a_test_film_takes_a_modalitys_path_and_renders(srv):
    with services_of(srv) as services:
        result = TestFilmService(services).send("LIGHTBOX", actor="alice")
    assert result.ok and result.error == "" and len(result.job_ids) == 1
    assert [r.operation for r in result.report.responses] == [
        "N-GET", "N-CREATE", "N-CREATE", "N-SET", "N-ACTION", "N-DELETE", "N-DELETE"]
    job = srv.store.get(result.job_ids[0])
    assert (job.printer, job.called_ae, job.calling_ae, job.state) == (
        "LIGHTBOX", "LIGHTBOX", TEST_FILM_AE, JobState.QUEUED)
    assert job.film_session_label == result.label == "printserver test film TG18-QC (alice)"
    out = result.to_dict()
    assert (out["ok"], out["job_id"], out["printer"]) == (True, job.job_id, "LIGHTBOX")
    assert out["report"]["print_job_uids"] == [job.print_job_uid]

    done = Worker(srv.config, srv.store, srv.spool, "test:w").run_once()
    assert done.job_id == job.job_id and done.state is JobState.DONE
    (film,) = srv.store.films(job.job_id)
    preview = np.asarray(Image.open(film.preview).convert("L"), dtype=float)
    assert preview.std() > 20  # the pattern's patches and ramps, not a blank film
    (pdf,) = film.pdf_files
    assert open(pdf, "rb").read(5) == b"%PDF-"

    (record,) = recorded(srv)  # the association itself, on the Associations page
    assert (record.calling_ae, record.called_ae, record.job_ids) == (TEST_FILM_AE, "LIGHTBOX",
                                                                     (job.job_id,))


def test_a_test_film_over_tls_with_a_client_certificate(tmp_path):
    crt, key = _cert(tmp_path, "server")
    srv = InProcessServer(tmp_path / "srv", CONFIG + (
        f'\n[dicom.tls]\ncertificate = "{crt}"\nprivate_key = "{key}"\n'
        f'ca_certificates = "{crt}"\nrequire_client_certificate = true\n'))
    try:
        with services_of(srv) as services:
            result = TestFilmService(services).send("PRINTSCP")
        assert result.ok, result.to_dict()
        assert srv.store.get(result.job_ids[0]).calling_ae == TEST_FILM_AE
    finally:
        srv.stop()


def test_refusals_and_an_unreachable_scp(srv):
    with services_of(srv) as services:
        with pytest.raises(TestFilmRefused, match="add PRINTSERVER to its calling_aets"):
            TestFilmService(services).send("WARD")
        with pytest.raises(UnknownPrinterError):
            TestFilmService(services).send("NOSUCH")
    closed = free_port()  # nothing listens there
    config = dataclasses.replace(srv.config, dicom=dataclasses.replace(srv.config.dicom,
                                                                       port=closed))
    with Services(config) as services:
        result = TestFilmService(services, timeout=5).send("PRINTSCP")
    assert not result.ok and result.report is None and "cannot associate" in result.error
    assert result.to_dict()["job_id"] is None


def test_where_the_scp_is_and_the_label():
    assert scp_address(Config()) == ("127.0.0.1", 11112)
    assert scp_address(Config(dicom=DicomConfig(host="::", port=104))) == ("::1", 104)
    assert scp_address(Config(dicom=DicomConfig(host="10.1.2.3"))) == ("10.1.2.3", 11112)
    assert film_label("") == "printserver test film TG18-QC"
    assert film_label("a\\b\nc" + "x" * 80).startswith("printserver test film TG18-QC (a b c")
    assert len(film_label("x" * 80)) == 64
