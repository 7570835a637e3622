"""A job printed to the in-process Print SCP, read from the spool and rendered to PDF and PNG."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from pydicom.dataset import Dataset
from pypdf import PdfReader

from printserver.layout.job_render import render_job
from printserver.layout.status import LayoutError
from scp_fixtures import ANNOTATION, FILM_BOX, IMAGE_BOX, InProcessServer, image_box_ds

CONFIG = """
[[printers]]
ae_title = "PRINTSCP"
resolution_dpi = { STANDARD = 25.4 }
image_box_gap_mm = 0.0
annotation_formats = { BOTTOM = 2 }
"""


def srgb8(y):
    v = 12.92 * y if y <= 0.0031308 else 1.055 * y ** (1 / 2.4) - 0.055
    return round(v * 255)


def lightbox8(od, l0=2000.0, la=10.0):
    return srgb8((la + l0 * 10 ** -od) / (la + l0))


@pytest.fixture
def printed(tmp_path):
    """One film, 8INX10IN STANDARD\\2,1, two copies; box 1 holds a black (P-value 0) image."""
    srv = InProcessServer(tmp_path / "srv", CONFIG)
    try:
        with srv.scu() as scu:
            fs = scu.film_session(NumberOfCopies=2)
            fb = scu.film_box(fs, "STANDARD\\2,1", FilmSizeID="8INX10IN", BorderDensity="WHITE",
                              EmptyImageDensity="100", AnnotationDisplayFormatID="BOTTOM")
            assert fb.status == 0
            boxes = [i.ReferencedSOPInstanceUID for i in fb.dataset.ReferencedImageBoxSequence]
            anns = [i.ReferencedSOPInstanceUID
                    for i in fb.dataset.ReferencedBasicAnnotationBoxSequence]
            assert scu.set(IMAGE_BOX, boxes[0], image_box_ds(
                1, np.zeros((20, 20), np.uint8))).status == 0
            ann = Dataset()
            ann.AnnotationPosition, ann.TextString = 1, "LEFT LUNG"
            assert scu.set(ANNOTATION, anns[0], ann).status == 0
            assert scu.action(FILM_BOX, fb.affected_uid).status == 0
        (job,) = srv.store.list()
        yield srv, job
    finally:
        srv.stop()


def test_job_renders_to_pdf_and_preview(printed, tmp_path):
    srv, job = printed
    manifest = srv.spool.load_manifest(job)
    printer = srv.config.printers[0]
    out = render_job(manifest, lambda film, pos: srv.spool.load_pixels(job, film, pos, manifest),
                     printer, tmp_path / "films")
    # the default template names film and copy: one file per copy
    assert [p.name for p in out.pdf_files] == [
        f"PRINTSCP_{job.job_id}_film1_copy1.pdf", f"PRINTSCP_{job.job_id}_film1_copy2.pdf"]
    for path in out.pdf_files:
        reader = PdfReader(path)
        (page,) = reader.pages
        assert float(page.mediabox.width) * 25.4 / 72 == pytest.approx(203.2, abs=0.1)
        assert float(page.mediabox.height) * 25.4 / 72 == pytest.approx(254.0, abs=0.1)
        assert job.job_id in reader.metadata.title and "PRINTSCP" in reader.metadata.title
    (film,) = out.films
    assert film.warnings == ()
    with Image.open(film.preview) as im:
        px = np.asarray(im)
    assert px.shape == (254, 203)
    # box 1 (left half): black image, IDENTITY → Max Density 3.00 in its centre
    assert px[120, 50] == lightbox8(3.00)
    # box 2 (right half): empty at 1.00 OD; the border around images WHITE = 0.20 OD
    assert px[120, 150] == lightbox8(1.00)
    assert px[5, 50] == lightbox8(0.20)
    # the BOTTOM caption under box 1 has text (darkest pixels, Max Density on WHITE border)
    caption = px[248:254, 0:101]
    assert caption.min() < lightbox8(1.5)


def test_corrupt_spool_file_is_a_readable_layout_error(printed, tmp_path):
    srv, job = printed
    manifest = srv.spool.load_manifest(job)
    raw = srv.spool.job_dir(job) / manifest["films"][0]["image_boxes"][0]["image"]["file"]
    raw.write_bytes(b"\x00" * 7)
    with pytest.raises(LayoutError, match="image box 1: pixels unreadable"):
        render_job(manifest, lambda f, p: srv.spool.load_pixels(job, f, p, manifest),
                   srv.config.printers[0], tmp_path / "films")


def test_malformed_manifest_is_a_readable_layout_error(printed, tmp_path):
    srv, job = printed
    manifest = srv.spool.load_manifest(job)
    manifest["films"][0]["image_boxes"][0]["image"]["pixel_aspect_ratio"] = ["one", "1"]
    with pytest.raises(LayoutError, match="job manifest, film 1: missing or malformed"):
        render_job(manifest, lambda f, p: srv.spool.load_pixels(job, f, p, manifest),
                   srv.config.printers[0], tmp_path / "films")
