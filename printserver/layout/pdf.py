"""PDF output: one page per film and per copy, the page exactly the film's size.

Each film's raster goes through the output's device profile (default
:class:`printserver.layout.device.LightBoxSRGB`) to 8-bit gray and is embedded once as a
Flate-compressed (lossless) DeviceGray image XObject at the printer's resolution: the image measures
``columns × 25.4 / dpi`` mm, anchored at the top-left corner of the page (it equals the page to
within half a film pixel). Copies (Number of Copies (2000,0010), PS3.3 C.13.1) are further pages
showing the same XObject, collated as PS3.4 H.4.1.2.3 describes (films 1 2 3, 1 2 3, ...).

The document is assembled with reportlab; the image stream is compressed here, strip by strip, so
that the 8-bit film never exists as a whole in memory.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Sequence
from pathlib import Path

from reportlab.lib.units import mm
from reportlab.pdfbase import pdfdoc
from reportlab.pdfgen.canvas import Canvas

from printserver import __version__
from printserver.layout.compose import RenderedFilm
from printserver.layout.device import DeviceProfile, LightBoxSRGB, drive_strips
from printserver.layout.geometry import MM_PER_INCH

log = logging.getLogger(__name__)

#: zlib level of the embedded images: 1 is several times faster than 6 for a few % more bytes
COMPRESSION_LEVEL = 1


def default_profile(film: RenderedFilm) -> LightBoxSRGB:
    """The light-box profile for the film's own Illumination and Reflected Ambient Light."""
    return LightBoxSRGB(film.density.illumination, film.density.reflected_ambient_light)


def compress_film(film: RenderedFilm, profile: DeviceProfile | None = None,
                  level: int = COMPRESSION_LEVEL) -> bytes:
    """The film as a zlib (Flate) stream of 8-bit drive values, row by row from the top."""
    lut = (profile or default_profile(film)).drive_lut()
    compressor = zlib.compressobj(level)
    chunks = [compressor.compress(strip) for strip in drive_strips(film.raster, lut)]
    chunks.append(compressor.flush())
    return b"".join(chunks)


def _embed_gray_image(canvas: Canvas, key: str, width: int, height: int, data: bytes) -> None:
    """Register a Flate-compressed 8-bit DeviceGray image XObject under ``key`` (once per film).

    reportlab's own ``drawImage`` would recompress the raster at zlib's default level from a full
    in-memory copy; this registers the stream we already compressed, and pages show it with the
    public ``Canvas.doForm``.
    """
    image = pdfdoc.PDFImageXObject(key)
    image.width, image.height = width, height
    image.bitsPerComponent = 8
    image.colorSpace = "DeviceGray"
    image._filters = ("FlateDecode",)
    image.streamContent = data
    image.mask = None
    canvas._doc.addForm(key, image)


def write_pdf(path: str | Path, films: Sequence[RenderedFilm], *, copies: int = 1,
              title: str = "", author: str = "", subject: str = "",
              profile: DeviceProfile | None = None) -> Path:
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
    canvas = Canvas(str(path), pageCompression=1)
    canvas.setTitle(title)
    canvas.setAuthor(author)
    canvas.setSubject(subject)
    canvas.setCreator(f"printserver {__version__}")
    keys = []
    for index, film in enumerate(films):
        key = f"film{index + 1}"
        data = compress_film(film, profile)
        _embed_gray_image(canvas, key, film.raster.shape[1], film.raster.shape[0], data)
        keys.append(key)
        log.debug("film %d: %d x %d px, %d bytes compressed", index + 1, film.raster.shape[1],
                  film.raster.shape[0], len(data))
    for _copy in range(copies):
        for film, key in zip(films, keys):
            geometry = film.layout.geometry
            page_w, page_h = geometry.width_mm * mm, geometry.height_mm * mm
            canvas.setPageSize((page_w, page_h))
            image_w = film.raster.shape[1] * MM_PER_INCH / geometry.dpi * mm
            image_h = film.raster.shape[0] * MM_PER_INCH / geometry.dpi * mm
            canvas.saveState()
            canvas.translate(0, page_h - image_h)
            canvas.scale(image_w, image_h)
            canvas.doForm(key)
            canvas.restoreState()
            canvas.showPage()
    canvas.save()
    return path
