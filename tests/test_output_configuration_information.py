"""Configuration Information (2010,0150) travels unchanged from the modality through printserver
to the downstream DICOM film printer (issue 12): DCMTK's ``dcmprscp``, which takes only the
values its configuration lists (compared exactly) and stores what it received, in both modes of
the ``dicom`` output; and ``printserver jobs show`` shows it with the job."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import require_tool
from dcmtk_print import DcmprscpServer, PrinterProfile
from printserver.jobs import JobState
from scp_fixtures import FILM_BOX, IMAGE_BOX, InProcessServer, image_box_ds
from test_output_dicom_printer import run_one, srv  # noqa: F401  (srv: fixture)

REPO = Path(__file__).resolve().parent.parent
#: ST: lower case, a backslash, '=' and two spaces in a row, all significant to the film printer
FILM_VALUE = "perception_lut=Kanamori\\gamma 2.2  CS005"
BOX_VALUE = "box 2: sharpen=low"


@pytest.fixture
def film_printer(tmp_path):
    """dcmprscp taking these two Configuration Information values (the ``srv`` fixture of
    test_output_dicom_printer forwards to it)."""
    require_tool("dcmprscp")
    with DcmprscpServer(tmp_path / "dcmprscp", PrinterProfile(
            ae_title="PRINTSCP", configurations=(FILM_VALUE, BOX_VALUE))) as server:
        yield server


def print_with_configuration(srv: InProcessServer, called: str):
    """A 1 × 2 film with Configuration Information on the film box and on image box 2."""
    with srv.scu(called=called) as scu:
        fb = scu.film_box(scu.film_session(), "STANDARD\\2,1", FilmSizeID="14INX17IN",
                          ConfigurationInformation=FILM_VALUE)
        assert fb.status == 0, hex(fb.status)
        boxes = [i.ReferencedSOPInstanceUID for i in fb.dataset.ReferencedImageBoxSequence]
        for position, uid in enumerate(boxes, start=1):
            extra = {"ConfigurationInformation": BOX_VALUE} if position == 2 else {}
            pixels = np.full((32, 24), 900 * position, np.uint16)
            assert scu.set(IMAGE_BOX, uid, image_box_ds(position, pixels, **extra)).status == 0
        assert scu.action(FILM_BOX, fb.affected_uid).status == 0
    (job,) = srv.store.list()
    return job


@pytest.mark.parametrize("called", ["BOXES", "COMPOSED"])
def test_configuration_information_reaches_the_film_printer_byte_for_byte(
        srv: InProcessServer, film_printer: DcmprscpServer, called: str) -> None:
    job = print_with_configuration(srv, called)
    done = run_one(srv)
    assert done.job_id == job.job_id and done.state is JobState.DONE, done.message
    (stored,) = film_printer.stored_prints()
    film_box = stored.FilmBoxContentSequence[0]
    received = film_box["ConfigurationInformation"]
    assert received.VR == "ST" and received.value == FILM_VALUE
    assert received.value.encode() == FILM_VALUE.encode()
    boxes = {int(b.ImageBoxPosition): b for b in stored.ImageBoxContentSequence}
    if called == "BOXES":  # image box level: forwarded per box
        assert boxes[2].ConfigurationInformation == BOX_VALUE
        assert "ConfigurationInformation" not in boxes[1] or not boxes[1].ConfigurationInformation
    else:  # composed: one image, the film box's value only
        assert list(boxes) == [1]


def test_jobs_show_shows_configuration_information(srv: InProcessServer) -> None:
    job = print_with_configuration(srv, "BOXES")
    out = subprocess.run([sys.executable, "-m", "printserver", "jobs", "show", job.job_id,
                          "--config", str(srv.config.data_dir.parent / "printserver.toml"),
                          "--data-dir",
                          str(srv.config.data_dir)],
                         capture_output=True, text=True, cwd=REPO, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert f"  configuration information: {FILM_VALUE}" in lines
    assert f"  box 2 configuration information: {BOX_VALUE}" in lines
