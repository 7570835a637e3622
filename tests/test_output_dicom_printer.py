"""The dicom output against DCMTK's dcmprscp as the downstream film printer (loopback): composed
films arrive as one P-value image in STANDARD\\1,1 of the film raster's size, the boxes mode
forwards the original boxes and display format, the statuses are recorded on the job, and a
film printer that is down is an OutputUnavailable (nothing printed)."""

from __future__ import annotations

from pathlib import Path

import time

import numpy as np
import pytest
from pydicom.dataset import Dataset

from conftest import require_tool
from dcmtk_print import DcmprscpServer, PrinterProfile
from printserver.jobs import Job, JobState
from printserver.jobs.worker import Worker
from printserver.outputs import open_output
from printserver.outputs.base import OutputError, OutputUnavailable
from scp_fixtures import FILM_BOX, IMAGE_BOX, PLUT, InProcessServer, image_box_ds, reference

#: the printer section of a printserver configuration forwarding to dcmprscp
PRINTER = """
[[printers]]
ae_title = "{ae}"
resolution_dpi = {{ STANDARD = 50 }}
output = {{ kind = "dicom", host = "127.0.0.1", port = {port}, called_aet = "PRINTSCP", calling_aet = "PRINTSERVER", timeout = 10, mode = "{mode}", rows = {rows}, columns = {columns} }}
"""


def config(port: int) -> str:
    return ("[workers]\nretry_delay = 0.2\nretry_max_delay = 0.5\n"
            + PRINTER.format(ae="COMPOSED", port=port, mode="composed", rows=0, columns=0)
            + PRINTER.format(ae="SMALL", port=port, mode="composed", rows=425, columns=400)
            + PRINTER.format(ae="BOXES", port=port, mode="boxes", rows=0, columns=0))


@pytest.fixture
def film_printer(tmp_path):
    require_tool("dcmprscp")
    root = tmp_path / "dcmprscp"
    root.mkdir()
    server = DcmprscpServer(root, PrinterProfile(ae_title="PRINTSCP"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def srv(tmp_path, film_printer):
    server = InProcessServer(tmp_path / "srv", config(film_printer.port))
    yield server
    server.stop()


def print_film(srv: InProcessServer, called: str, fmt: str = "STANDARD\\2,2",
               positions: tuple[int, ...] = (1, 2, 3, 4), reverse: tuple[int, ...] = (),
               plut: Dataset | None = None, **film: object) -> Job:
    """One film; image box ``p`` holds a flat 12-bit image of value 800·p (Polarity REVERSE for
    the positions in ``reverse``); boxes not in ``positions`` stay empty; ``plut`` is created as
    a Presentation LUT and referenced by the film box."""
    before = {j.job_id for j in srv.store.list()}
    with srv.scu(called=called) as scu:
        if plut is not None:
            created = scu.create(PLUT, plut)
            assert created.status == 0, hex(created.status)
            film["ReferencedPresentationLUTSequence"] = reference(PLUT, created.affected_uid)
        fs = scu.film_session(FilmSessionLabel="forwarded")
        fb = scu.film_box(fs, fmt, FilmSizeID="14INX17IN", **film)
        assert fb.status == 0, hex(fb.status)
        boxes = [i.ReferencedSOPInstanceUID for i in fb.dataset.ReferencedImageBoxSequence]
        for position, uid in enumerate(boxes, start=1):
            if position not in positions:
                continue
            extra = {"Polarity": "REVERSE"} if position in reverse else {}
            pixels = np.full((64, 48), 800 * position, np.uint16)
            assert scu.set(IMAGE_BOX, uid, image_box_ds(position, pixels, **extra)).status == 0
        assert scu.action(FILM_BOX, fb.affected_uid).status == 0
    (job,) = [j for j in srv.store.list() if j.job_id not in before]
    return job


def run_one(srv: InProcessServer) -> Job:
    return Worker(srv.config, srv.store, srv.spool, "test:dicom").run_once()


def test_composed_film_arrives_as_one_pvalue_image_of_the_film_raster(srv, film_printer):
    job = print_film(srv, "COMPOSED")
    done = run_one(srv)
    assert done.job_id == job.job_id and done.state is JobState.DONE, done.message
    # the statuses dcmprscp answered are on the job
    # N-GET Printer, N-CREATE Film Session and Film Box, N-SET Image Box, N-ACTION, N-DELETE
    # Film Box and Film Session: seven successes
    assert "PRINTSCP: 1 film(s) printed, statuses 0x0000 (7)" in done.message
    (film,) = srv.store.films(job.job_id)
    assert film.pdf_files == () and Path(film.preview).is_file()  # a preview, no local file

    (sp,) = film_printer.stored_prints()
    box = sp.FilmBoxContentSequence[0]
    assert box.ImageDisplayFormat == "STANDARD\\1,1"
    assert box.FilmSizeID == "14INX17IN" and box.FilmOrientation == "PORTRAIT"
    assert (int(box.MinDensity), int(box.MaxDensity)) == (20, 300)
    images = film_printer.received(sp)
    assert list(images) == [1]
    hg = images[1]
    assert str(hg.SOPClassUID) == "1.2.840.10008.5.1.1.29"  # Hardcopy Grayscale Image
    assert (hg.Rows, hg.Columns, hg.BitsStored) == (850, 700, 12)  # 14 x 17 in at 50 dpi
    px = hg.pixel_array
    # the P-values of the composed film: four boxes of 800, 1600, 2400, 3200 (IDENTITY), border
    # BLACK (Max Density, P-value 0)
    h, w = px.shape
    quads = [px[h // 4 - 40:h // 4 + 40, w // 4 - 40:w // 4 + 40],
             px[h // 4 - 40:h // 4 + 40, 3 * w // 4 - 40:3 * w // 4 + 40],
             px[3 * h // 4 - 40:3 * h // 4 + 40, w // 4 - 40:w // 4 + 40],
             px[3 * h // 4 - 40:3 * h // 4 + 40, 3 * w // 4 - 40:3 * w // 4 + 40]]
    for expected, quad in zip((800, 1600, 2400, 3200), quads):
        assert abs(int(np.median(quad)) - expected) <= 3
    assert px[0, 0] == 0


def test_composed_film_fits_the_configured_pixel_matrix(srv, film_printer):
    print_film(srv, "SMALL", fmt="STANDARD\\1,1", positions=(1,))
    assert run_one(srv).state is JobState.DONE
    (sp,) = film_printer.stored_prints()
    hg = film_printer.received(sp)[1]
    # 850 x 700 scaled by min(425/850, 400/700) = 0.5, aspect kept
    assert (hg.Rows, hg.Columns) == (425, 350)


def test_boxes_mode_forwards_the_original_boxes_and_display_format(srv, film_printer):
    print_film(srv, "BOXES", fmt="STANDARD\\2,2", positions=(1, 3, 4), reverse=(4,),
               MagnificationType="REPLICATE")
    done = run_one(srv)
    assert done.state is JobState.DONE, done.message
    (sp,) = film_printer.stored_prints()
    box = sp.FilmBoxContentSequence[0]
    assert box.ImageDisplayFormat == "STANDARD\\2,2" and box.MagnificationType == "REPLICATE"
    images = film_printer.received(sp)
    # box 2 was empty: a flat image at Empty Image Density (BLACK: P-value 0) keeps box 3 in
    # place
    assert sorted(images) == [1, 2, 3, 4]
    assert [(images[p].Rows, images[p].Columns) for p in (1, 3, 4)] == [(64, 48)] * 3
    assert int(images[1].pixel_array.max()) == int(images[1].pixel_array.min()) == 800
    assert int(images[2].pixel_array.max()) == 0
    assert int(images[3].pixel_array.min()) == 2400
    # Polarity REVERSE applied here: 4095 - 3200, sent with Polarity NORMAL
    assert int(images[4].pixel_array.max()) == int(images[4].pixel_array.min()) == 895
    assert all((b.get("Polarity") or "NORMAL") == "NORMAL" for b in sp.ImageBoxContentSequence)


def test_boxes_mode_applies_a_lut_table_and_forwards_lin_od(srv, film_printer):
    # a 12-bit table that inverts: the P-values sent are 4095 - 800·p, with no Presentation LUT
    table = Dataset()
    item = Dataset()
    item.add_new(0x00283002, "US", [4096, 0, 12])
    item.add_new(0x00283006, "OW", (4095 - np.arange(4096)).astype("<u2").tobytes())
    table.PresentationLUTSequence = [item]
    print_film(srv, "BOXES", fmt="STANDARD\\1,2", positions=(1, 2), plut=table)
    assert run_one(srv).state is JobState.DONE
    lin_od = Dataset()
    lin_od.PresentationLUTShape = "LIN OD"
    print_film(srv, "BOXES", fmt="STANDARD\\1,2", positions=(1, 2), plut=lin_od)
    assert run_one(srv).state is JobState.DONE

    prints = film_printer.stored_prints()
    assert len(prints) == 2
    # (both may be stamped in the same second: tell them apart by the film box's PLUT reference)
    (first,) = [sp for sp in prints
                if "ReferencedPresentationLUTSequence" not in sp.FilmBoxContentSequence[0]]
    (second,) = [sp for sp in prints if sp is not first]
    images = film_printer.received(first)
    assert [int(images[p].pixel_array.min()) for p in (1, 2)] == [4095 - 800, 4095 - 1600]
    # LIN OD defines densities, not P-values: forwarded as it is, with the stored values
    images = film_printer.received(second)
    assert [int(images[p].pixel_array.min()) for p in (1, 2)] == [800, 1600]
    (forwarded,) = second.PresentationLUTContentSequence
    assert forwarded.PresentationLUTShape == "LIN OD"
    referenced = second.FilmBoxContentSequence[0].ReferencedPresentationLUTSequence[0]
    assert referenced.ReferencedSOPInstanceUID == forwarded.SOPInstanceUID


def test_film_printer_down_is_unavailable(srv, film_printer):
    job = print_film(srv, "COMPOSED", fmt="STANDARD\\1,1", positions=(1,))
    film_printer.stop()
    printer = srv.config.printer("COMPOSED")
    manifest = srv.spool.load_manifest(job)
    with pytest.raises(OutputUnavailable, match="film printer PRINTSCP at 127.0.0.1:.* is "
                                                "unavailable"):
        open_output(printer, srv.config).deliver(
            manifest, lambda f, p: srv.spool.load_pixels(job, f, p, manifest))
    assert film_printer.stored_prints() == []


def test_failure_status_is_a_permanent_error(srv, film_printer):
    # dcmprscp only knows the display formats of its configuration: 3,4 is refused
    job = print_film(srv, "BOXES", fmt="STANDARD\\3,4", positions=(1,))
    printer = srv.config.printer("BOXES")
    manifest = srv.spool.load_manifest(job)
    with pytest.raises(OutputError, match="N-CREATE Basic Film Box .* failed with status 0x") as e:
        open_output(printer, srv.config).deliver(
            manifest, lambda f, p: srv.spool.load_pixels(job, f, p, manifest))
    assert not isinstance(e.value, OutputUnavailable)


def test_job_waits_while_the_film_printer_is_down_and_prints_once_it_is_back(srv, film_printer):
    job = print_film(srv, "COMPOSED", fmt="STANDARD\\1,1", positions=(1,))
    film_printer.stop()
    waiting = run_one(srv)
    assert waiting.job_id == job.job_id and waiting.state is JobState.QUEUED
    assert waiting.retries == 1 and waiting.retry_at and "is unavailable" in waiting.message
    state = srv.store.printer_state("COMPOSED")
    assert (state.output_status, state.output_status_info) == ("FAILURE", "PRINTER DOWN")

    film_printer.start()  # same port, same database folder
    deadline = time.monotonic() + 40  # one attempt may wait output.timeout (10 s)
    while (done := run_one(srv)) is None or done.state is not JobState.DONE:
        assert time.monotonic() < deadline, (srv.store.get(job.job_id), film_printer.log()[-3000:])
        time.sleep(0.1)
    assert done.job_id == job.job_id and "1 film(s) printed" in done.message
    assert len(film_printer.stored_prints()) == 1  # printed once
    assert srv.store.printer_state("COMPOSED").output_status == "NORMAL"



def test_check_passes_on_the_film_printer_status(srv, film_printer):
    output = open_output(srv.config.printer("COMPOSED"), srv.config)
    assert (output.check().status, output.check().status_info) == ("NORMAL", "NORMAL")
    film_printer.stop()
    down = output.check()
    assert (down.status, down.status_info) == ("FAILURE", "PRINTER DOWN")
    assert "film printer PRINTSCP at 127.0.0.1" in down.message
