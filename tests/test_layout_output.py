"""PDF and PNG output read back: page size, embedded image size and resolution, drive values."""

import re
import subprocess

import numpy as np
import pytest
from PIL import Image
from pypdf import PdfReader

from printserver.config import PrinterConfig
from printserver.layout import (FilmSpec, ImageSpec, LightBoxSRGB, MeasuredPrinterProfile,
                                render_film, write_pdf, write_png_preview)
from conftest import require_tool

PT_PER_MM = 72 / 25.4


def printer(dpi=25.4):
    return PrinterConfig(resolution_dpi={"STANDARD": dpi}, image_box_gap_mm=0.0)


def srgb8(y):
    """sRGB transfer function (IEC 61966-2-1) to 8 bits, written out for the test."""
    v = 12.92 * y if y <= 0.0031308 else 1.055 * y ** (1 / 2.4) - 0.055
    return round(v * 255)


def lightbox8(od, l0=2000.0, la=10.0):
    return srgb8((la + l0 * 10 ** -od) / (la + l0))


@pytest.fixture(scope="module")
def films():
    p = printer()
    portrait = render_film(FilmSpec("STANDARD\\2,1", film_size_id="14INX17IN",
                                    border_density="100", empty_image_density="WHITE"),
                           [ImageSpec(1, np.full((8, 8), 128, np.uint8))], p)
    landscape = render_film(FilmSpec("STANDARD\\1,1", film_size_id="A4",
                                     film_orientation="LANDSCAPE"), [], p)
    return portrait, landscape


def test_pdf_pages_are_the_film_size_with_one_page_per_film_and_copy(tmp_path, films):
    path = write_pdf(tmp_path / "job.pdf", films, copies=2, title="job 7 on PRINTSCP",
                     author="printserver")
    reader = PdfReader(path)
    assert len(reader.pages) == 4
    sizes = [(float(pg.mediabox.width) / PT_PER_MM, float(pg.mediabox.height) / PT_PER_MM)
             for pg in reader.pages]
    expected = [(355.6, 431.8), (297.0, 210.0)] * 2  # collated: 1 2, 1 2
    for (w, h), (ew, eh) in zip(sizes, expected):
        assert w == pytest.approx(ew, abs=0.1) and h == pytest.approx(eh, abs=0.1)
    assert reader.metadata.title == "job 7 on PRINTSCP"
    assert reader.metadata.author == "printserver"
    # poppler parses the file without complaint and agrees on the page size
    info = subprocess.run([require_tool("pdfinfo"), str(path)], capture_output=True, text=True,
                          check=True)
    assert info.stderr == ""
    assert "Page size:       1008 x 1224 pts" in info.stdout  # 14 x 17 inches
    assert "Pages:           4" in info.stdout


def test_pdf_image_is_lossless_gray_at_the_printer_resolution(tmp_path, films):
    pdfimages = require_tool("pdfimages")
    path = write_pdf(tmp_path / "one.pdf", films[:1], copies=3)
    listing = subprocess.run([pdfimages, "-list", str(path)], capture_output=True, text=True,
                             check=True).stdout.splitlines()[2:]
    rows = [line.split() for line in listing]
    assert len(rows) == 3  # the same image shown on three pages ...
    assert len({r[10] for r in rows}) == 1  # ... stored once (one object id)
    for r in rows:
        width, height, color, bpc, enc = int(r[3]), int(r[4]), r[5], r[7], r[8]
        assert (width, height, color, bpc, enc) == (356, 432, "gray", "8", "image")
        # pdfimages prints whole ppi
        assert float(r[12]) == pytest.approx(25.4, abs=0.5) and float(r[13]) == pytest.approx(25.4, abs=0.5)
    page = PdfReader(path).pages[0]
    content = page.get_contents().get_data().decode()
    *_, (width_pt, height_pt) = re.findall(r"([\d.]+) 0 0 ([\d.]+) -?[\d.]+ -?[\d.]+ cm", content)
    width_in, height_in = float(width_pt) / 72, float(height_pt) / 72
    assert 356 / width_in == pytest.approx(25.4, abs=0.01)  # exact resolution as drawn
    assert 432 / height_in == pytest.approx(25.4, abs=0.01)
    xobj = next(iter(page["/Resources"]["/XObject"].values())).get_object()
    assert xobj["/Filter"] in ("/FlateDecode", ["/FlateDecode"])
    data = np.frombuffer(xobj.get_data(), np.uint8).reshape(432, 356)
    # border 1.00 OD, the right box empty at WHITE (0.20 OD), the image 128 → light-box sRGB
    assert data[2, 2] == lightbox8(1.00)
    assert data[200, 300] == lightbox8(0.20)
    assert data.min() < data[2, 2]  # the image is darker than the border somewhere


def test_png_preview_long_side_about_1000(tmp_path):
    p = printer(dpi=100)
    film = render_film(FilmSpec("STANDARD\\1,1", film_size_id="14INX17IN", border_density="WHITE",
                                empty_image_density="150"), [], p)
    assert film.raster.shape == (1700, 1400)
    path = write_png_preview(tmp_path / "p.png", film)
    with Image.open(path) as im:
        assert im.mode == "L"
        assert 800 <= max(im.size) <= 1000
        assert im.size == (700, 850)
        px = np.asarray(im)
    assert px[425, 350] == lightbox8(1.50)


def test_light_box_profile_follows_the_documented_model():
    lut = LightBoxSRGB(illumination=2000, reflected_ambient_light=10).drive_lut()
    for od in (0.0, 0.2, 1.0, 2.0, 3.0):
        assert lut[round(od * 1000)] == lightbox8(od)
    assert lut[0] == 255 and np.all(np.diff(lut.astype(int)) <= 0)


def test_measured_printer_profile_inverts_its_curve(tmp_path):
    # a paper printer whose density falls linearly from 2.00 at DDL 0 to 0.10 at DDL 255
    rows = "\n".join(f"{d},{2.0 - d * 1.9 / 255:.5f}" for d in range(0, 256, 15))
    curve = tmp_path / "printer.csv"
    curve.write_text("ddl,od\n" + rows + "\n")  # DDL 0, 15, … 255
    lut = MeasuredPrinterProfile.from_file(curve).drive_lut()
    for od in (0.1, 0.5, 1.0, 1.5, 2.0):
        assert abs(int(lut[round(od * 1000)]) - (2.0 - od) * 255 / 1.9) <= 1.0
