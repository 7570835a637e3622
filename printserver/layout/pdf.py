"""PDF output: one page per film and per copy, the page exactly the film's size.

Each film's raster goes through the output's device profile (default
:class:`printserver.layout.device.LightBoxSRGB`) to 8-bit gray and is embedded once as a
Flate-compressed (lossless) DeviceGray image XObject at the printer's resolution: the image measures
``columns × 25.4 / dpi`` mm, anchored at the top-left corner of the page (it equals the page to
within half a film pixel). Copies (Number of Copies (2000,0010), PS3.3 C.13.1) are further pages
showing the same XObject, collated as PS3.4 H.4.1.2.3 describes (films 1 2 3, 1 2 3, ...).
Document information carries the title, author and subject given, the creator and the date.

The file is written as a stream (PDF 1.4, ISO 32000-1 §7.5: header, objects, cross-reference table,
trailer): the image is compressed strip by strip straight into the file, so neither the 8-bit film
nor its compressed stream is ever held whole in memory. (reportlab, which the project uses for
fonts, assembles the whole document in memory and holds four or five copies of each image stream
while saving; for a 508 dpi 14INX17IN film that alone would exceed the memory budget.)
"""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from printserver import __version__
from printserver.layout.compose import RenderedFilm
from printserver.layout.device import DeviceProfile, LightBoxSRGB, drive_strips
from printserver.layout.geometry import MM_PER_INCH

log = logging.getLogger(__name__)

#: zlib level of the embedded images: 1 is several times faster than 6 for a few % more bytes
COMPRESSION_LEVEL = 1
PT_PER_MM = 72.0 / MM_PER_INCH


def default_profile(film: RenderedFilm) -> LightBoxSRGB:
    """The light-box profile for the film's own Illumination and Reflected Ambient Light."""
    return LightBoxSRGB(film.density.illumination, film.density.reflected_ambient_light)


def pdf_text(text: str) -> bytes:
    """A PDF text string (ISO 32000-1 §7.9.2.2): UTF-16BE with byte order mark, hex-encoded."""
    return b"<FEFF" + text.encode("utf-16-be").hex().upper().encode("ascii") + b">"


def _num(value: float) -> bytes:
    return f"{value:.4f}".rstrip("0").rstrip(".").encode("ascii")


@dataclass
class _PdfFile:
    """Objects written in order to a binary file, with their offsets for the xref table."""

    fh: BinaryIO
    offsets: dict[int, int] = field(default_factory=dict)

    def write(self, data: bytes) -> None:
        self.fh.write(data)

    def begin(self, number: int) -> None:
        self.offsets[number] = self.fh.tell()
        self.write(b"%d 0 obj\n" % number)

    def object(self, number: int, body: bytes) -> None:
        self.begin(number)
        self.write(body + b"\nendobj\n")

    def stream(self, number: int, dictionary: bytes, data: bytes) -> None:
        self.begin(number)
        self.write(b"<< " + dictionary + b" /Length %d >>\nstream\n" % len(data) + data
                   + b"\nendstream\nendobj\n")

    def finish(self, root: int, info: int, file_id: bytes) -> None:
        start = self.fh.tell()
        size = max(self.offsets) + 1
        self.write(b"xref\n0 %d\n0000000000 65535 f \n" % size)
        for number in range(1, size):
            self.write(b"%010d 00000 n \n" % self.offsets[number])
        self.write(b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R /ID [<%s> <%s>] >>\n"
                   % (size, root, info, file_id, file_id))
        self.write(b"startxref\n%d\n%%%%EOF\n" % start)


def write_pdf(path: str | Path, films: Sequence[RenderedFilm], *, copies: int = 1,
              title: str = "", author: str = "", subject: str = "",
              profile: DeviceProfile | None = None,
              compression_level: int = COMPRESSION_LEVEL) -> Path:
    """Write films to one PDF: each page exactly the film size, one page per film and per copy.

    Parameters
    ----------
    path
        The PDF file to write (its folder must exist).
    films
        Rendered films, in print order; each may have its own size and orientation.
    copies
        Number of Copies (2000,0010); pages are collated (1 2 3, 1 2 3, ...).
    title, author, subject
        Document information: e.g. the job and printer (title), the printer name (author).
    profile
        Output device profile; default: a light box with each film's own viewing conditions.
    compression_level
        zlib level of the image streams (lossless at every level).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    if copies < 1:
        raise ValueError(f"Number of Copies must be at least 1, got {copies}")
    if not films:
        raise ValueError("no films to write")
    # object numbers: 1 catalog, 2 page tree, 3 info; per film an image and its length;
    # per page a page and its content stream
    images = [4 + 2 * i for i in range(len(films))]
    first_page = 4 + 2 * len(films)
    pages = [first_page + 2 * i for i in range(len(films) * copies)]
    stamp = time.strftime("D:%Y%m%d%H%M%SZ", time.gmtime())
    file_id = zlib.crc32(f"{path.name}{stamp}{title}".encode()).to_bytes(4, "big").hex().encode()
    with open(path, "wb") as fh:
        pdf = _PdfFile(fh)
        pdf.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        pdf.object(1, b"<< /Type /Catalog /Pages 2 0 R >>")
        kids = b" ".join(b"%d 0 R" % p for p in pages)
        pdf.object(2, b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(pages)))
        pdf.object(3, b"<< /Title " + pdf_text(title) + b" /Author " + pdf_text(author)
                   + b" /Subject " + pdf_text(subject)
                   + b" /Creator " + pdf_text(f"printserver {__version__}")
                   + b" /Producer " + pdf_text(f"printserver {__version__}")
                   + b" /CreationDate (" + stamp.encode() + b") >>")
        for film, number in zip(films, images):
            _write_image(pdf, number, film, profile, compression_level)
        for index, number in enumerate(pages):
            film_index = index % len(films)
            _write_page(pdf, number, films[film_index], images[film_index])
        pdf.finish(1, 3, file_id)
    log.debug("wrote %s: %d films x %d copies", path, len(films), copies)
    return path


def _write_image(pdf: _PdfFile, number: int, film: RenderedFilm, profile: DeviceProfile | None,
                 level: int) -> None:
    """The film as an 8-bit DeviceGray image XObject, Flate-compressed strip by strip."""
    rows, columns = film.raster.shape
    lut = (profile or default_profile(film)).drive_lut()
    pdf.begin(number)
    pdf.write(b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
              b"/BitsPerComponent 8 /Filter /FlateDecode /Length %d 0 R >>\nstream\n"
              % (columns, rows, number + 1))
    compressor = zlib.compressobj(level)
    length = 0
    for strip in drive_strips(film.raster, lut):
        chunk = compressor.compress(strip)
        length += len(chunk)
        pdf.write(chunk)
    chunk = compressor.flush()
    length += len(chunk)
    pdf.write(chunk + b"\nendstream\nendobj\n")
    pdf.object(number + 1, b"%d" % length)


def _write_page(pdf: _PdfFile, number: int, film: RenderedFilm, image: int) -> None:
    """A page of the film's size showing its image at the printer's resolution."""
    geometry = film.layout.geometry
    page_w, page_h = geometry.width_mm * PT_PER_MM, geometry.height_mm * PT_PER_MM
    image_w = film.raster.shape[1] * 72.0 / geometry.dpi
    image_h = film.raster.shape[0] * 72.0 / geometry.dpi
    pdf.object(number, b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %s %s] "
               b"/Resources << /XObject << /Film %d 0 R >> >> /Contents %d 0 R >>"
               % (_num(page_w), _num(page_h), image, number + 1))
    content = (b"q %s 0 0 %s 0 %s cm /Film Do Q"
               % (_num(image_w), _num(image_h), _num(page_h - image_h)))
    pdf.stream(number + 1, b"", content)
