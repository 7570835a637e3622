"""Films as P-values: what a DICOM film printer and a PACS copy of a film receive.

A film is composed in optical density (:func:`printserver.layout.compose.render_film`) as for
every other output; the two DICOM outputs then map it back to P-values with the inverse of
PS3.14 §7.2 for the film's own Min/Max Density, Illumination and Reflected Ambient Light
(:func:`printserver.gsdf.pipeline.od_to_pvalues`). A device that applies the GSDF to these
P-values (a film printer with its default Presentation LUT IDENTITY, a calibrated workstation
showing an image with Presentation LUT Shape IDENTITY) reproduces the densities of the film.

Image boxes forwarded as they were received (``dicom`` output, ``mode = "boxes"``) go through the
front of the same pipeline instead: MONOCHROME1 / Polarity and the Presentation LUT give the
box's P-values (PS3.4 H.2.1.2), sent at 12 bits.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from printserver.config import PrinterConfig
from printserver.gsdf.pipeline import od_to_pvalues
from printserver.gsdf.plut import PresentationLUT, invert_for_display
from printserver.layout.compose import RenderedFilm, render_film
from printserver.layout.densities import MILLI_OD
from printserver.layout.job_render import PixelLoader, iter_films
from printserver.layout.spec import FilmSpec, ImageSpec

#: Bits Stored of the P-values the DICOM outputs send (PS3.4 H.4.9: 12-bit P-values when the
#: printer supports them; Bits Allocated 16, High Bit 11)
PVALUE_BITS = 12
PVALUE_MAX = (1 << PVALUE_BITS) - 1


@dataclass(eq=False)
class PValueFilm:
    """One composed film of a job as P-values.

    Attributes
    ----------
    number : int
        1-based film number in the job.
    spec : FilmSpec
        The Film Box as received.
    rendered : RenderedFilm
        The OD rendering (layout, density range, warnings, timing).
    pvalues : numpy.ndarray
        ``uint16`` 12-bit P-values, shape ``(rows, columns)`` of the film raster (or of the size it
        was fitted to).
    """

    number: int
    spec: FilmSpec
    rendered: RenderedFilm
    pvalues: np.ndarray


def od_raster_to_pvalues(film: RenderedFilm, bits: int = PVALUE_BITS) -> np.ndarray:
    """The film's milli-OD raster as ``bits``-bit P-values (``uint16``), PS3.14 §7.2 inverted.

    One table per milli-OD value present (at most a few thousand entries) and one ``numpy.take``,
    so a 14INX17IN film costs one pass over its raster. Densities outside the film's
    [Min, Max Density] clip to its extremes.
    """
    d = film.density
    top = int(film.raster.max()) if film.raster.size else 0
    table = od_to_pvalues(np.arange(top + 1, dtype=np.float64) / MILLI_OD, bits, d.min_density,
                          d.max_density, d.illumination, d.reflected_ambient_light)
    return np.take(table, film.raster)


def fit_within(pvalues: np.ndarray, rows: int, columns: int) -> np.ndarray:
    """``pvalues`` scaled (aspect ratio kept, bilinear) to fit within ``rows`` × ``columns``;
    unchanged when a limit is 0 or the raster already fits."""
    height, width = pvalues.shape
    limits = [r for r in ((rows / height) if rows else None, (columns / width) if columns else None)
              if r is not None]
    if not limits or min(limits) >= 1.0:
        return pvalues
    k = min(limits)
    size = (max(1, int(width * k)), max(1, int(height * k)))
    scaled = Image.fromarray(pvalues.astype(np.float32), mode="F").resize(size, Image.BILINEAR)
    return np.clip(np.rint(np.asarray(scaled)), 0, PVALUE_MAX).astype(np.uint16)


def pvalue_films(manifest: Mapping[str, Any], load: PixelLoader, printer: PrinterConfig,
                 rows: int = 0, columns: int = 0) -> Iterator[PValueFilm]:
    """Every film of a job composed in OD on ``printer`` and mapped to 12-bit P-values.

    Parameters
    ----------
    manifest, load
        The job's spool manifest and pixel loader (as for :func:`render_job`).
    printer
        The printer the job was sent to (film sizes, resolution, density range).
    rows, columns
        Largest image wanted (0 = no limit): a larger raster is scaled down to fit.

    Raises
    ------
    LayoutError
        The job cannot be rendered.
    """
    for number, spec, images in iter_films(manifest, load):
        rendered = render_film(spec, images, printer)
        del images
        yield PValueFilm(number, spec, rendered,
                         fit_within(od_raster_to_pvalues(rendered), rows, columns))


def image_box_pvalues(image: ImageSpec, plut: PresentationLUT | None) -> np.ndarray:
    """The P-values (12-bit, ``uint16``) of one image box as received (PS3.4 H.2.1.2).

    Stored values → MONOCHROME1 / Polarity REVERSE inversion → Presentation LUT (None =
    IDENTITY) → P-values at the LUT's output depth, rescaled to 12 bits. Not for LIN OD, which
    defines densities rather than P-values (see :func:`forward_values`).
    """
    values = invert_for_display(_clipped(image), image.bits_stored,
                                image.photometric_interpretation, image.polarity)
    plut = plut or PresentationLUT.identity()
    pvalues, pbits = plut.to_pvalues(values, image.bits_stored)
    return rescale(np.asarray(pvalues), pbits)


def forward_values(image: ImageSpec) -> tuple[np.ndarray, int]:
    """Stored values of one image box made MONOCHROME2 with Polarity NORMAL, and their bits
    (for a Presentation LUT Shape LIN OD, forwarded as it is)."""
    values = invert_for_display(_clipped(image), image.bits_stored,
                                image.photometric_interpretation, image.polarity)
    return values, image.bits_stored


def _clipped(image: ImageSpec) -> np.ndarray:
    """The stored values within 0 … 2**bits_stored − 1 (stray high bits take the maximum, as
    :func:`printserver.gsdf.pipeline.apply_od_lut` does when rendering)."""
    return np.clip(np.asarray(image.pixels, dtype=np.int64), 0, (1 << image.bits_stored) - 1)


def rescale(values: np.ndarray, bits: int, to_bits: int = PVALUE_BITS) -> np.ndarray:
    """``bits``-bit values scaled to ``to_bits`` bits (0 → 0, max → max), rounded, ``uint16``."""
    if bits == to_bits:
        return values.astype(np.uint16)
    scale = ((1 << to_bits) - 1) / ((1 << bits) - 1)
    return np.rint(values * scale).astype(np.uint16)
