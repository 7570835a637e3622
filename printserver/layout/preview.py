"""PNG previews of films for the web pages: the whole film, long side about 1000 pixels.

The film is reduced by a whole factor (``ceil(long side / 1000)``) averaging **luminance** (as the
eye averages light, not density) in row strips, then encoded with the same device profile as the
PDF (by default :class:`printserver.layout.device.LightBoxSRGB`), so preview and PDF match.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image

from printserver.layout.compose import RenderedFilm
from printserver.layout.densities import MILLI_OD
from printserver.layout.device import LightBoxSRGB, srgb_encode
from printserver.layout.pdf import default_profile

#: target length of the preview's long side, pixels
PREVIEW_LONG_SIDE = 1000


def preview_factor(rows: int, columns: int, long_side: int = PREVIEW_LONG_SIDE) -> int:
    """The whole reduction factor that brings the film's long side to at most ``long_side``."""
    return max(1, math.ceil(max(rows, columns) / long_side))


def preview_array(film: RenderedFilm, profile: LightBoxSRGB | None = None,
                  long_side: int = PREVIEW_LONG_SIDE) -> np.ndarray:
    """The preview as 8-bit gray (``uint8``, rows × columns)."""
    profile = profile or default_profile(film)
    raster = film.raster
    k = preview_factor(*raster.shape, long_side=long_side)
    rows, cols = raster.shape[0] // k, raster.shape[1] // k
    white = float(profile.luminance(np.asarray(profile.white_density)))
    out = np.empty((rows, cols), dtype=np.uint8)
    step = max(1, 256 // k)  # preview rows per strip
    for p0 in range(0, rows, step):
        p1 = min(p0 + step, rows)
        block = raster[p0 * k:p1 * k, : cols * k].astype(np.float32) / MILLI_OD
        lum = profile.luminance(block).reshape(p1 - p0, k, cols, k).mean(axis=(1, 3))
        out[p0:p1] = np.rint(srgb_encode(lum / white) * 255).astype(np.uint8)
    return out


def write_png_preview(path: str | Path, film: RenderedFilm, profile: LightBoxSRGB | None = None,
                      long_side: int = PREVIEW_LONG_SIDE) -> Path:
    """Write the film's preview PNG (8-bit gray, with its resolution recorded in the file)."""
    path = Path(path)
    array = preview_array(film, profile, long_side)
    k = preview_factor(*film.raster.shape, long_side=long_side)
    dpi = film.dpi / k
    Image.fromarray(array).save(path, format="PNG", dpi=(dpi, dpi))
    return path
