"""Annotation text on film (Basic Annotation Box, PS3.3 C.13.7), drawn in optical density.

Text is rendered with Pillow in Bitstream Vera Sans, the TrueType font reportlab ships (so no
system font is needed), anti-aliased, and written into the film raster as a blend between the
background density and the text density. Text contrasts with its background: light text
(the film's Min Density) on a dark background, dark text (Max Density) on a light one. Text that
is too long for its box is cut at the box edge.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import reportlab
from PIL import Image, ImageDraw, ImageFont

from printserver.layout.geometry import Rect

#: the bundled font: Bitstream Vera Sans from reportlab's font folder
FONT_PATH = Path(reportlab.__file__).resolve().parent / "fonts" / "Vera.ttf"


def load_font(size_px: int) -> ImageFont.FreeTypeFont:
    """The annotation font at an em height of ``size_px`` film pixels."""
    return ImageFont.truetype(str(FONT_PATH), max(1, int(size_px)))


def text_density(background_od: float, min_density: float, max_density: float) -> float:
    """The density of text on a background: the film extreme farther from the background."""
    return min_density if background_od >= (min_density + max_density) / 2 else max_density


def text_coverage(text: str, width: int, height: int, font: ImageFont.FreeTypeFont,
                  align: str = "left") -> np.ndarray:
    """Anti-aliased coverage (uint8, 0 … 255) of ``text`` in a ``height`` × ``width`` box.

    ``align`` is ``"left"`` (with a half-em indent) or ``"center"``; the text is centred vertically.
    """
    canvas = Image.new("L", (max(1, width), max(1, height)), 0)
    draw = ImageDraw.Draw(canvas)
    if align == "center":
        draw.text((width / 2, height / 2), text, fill=255, font=font, anchor="mm")
    else:
        draw.text((font.size / 2, height / 2), text, fill=255, font=font, anchor="lm")
    return np.asarray(canvas)


def draw_text(raster: np.ndarray, rect: Rect, text: str, font: ImageFont.FreeTypeFont,
              background: int, foreground: int, align: str = "left") -> None:
    """Fill ``rect`` of ``raster`` with ``background`` and draw ``text`` in ``foreground``.

    ``background`` and ``foreground`` are raster values (milli-OD).
    """
    region = raster[rect.slices]
    region[...] = background
    if not text.strip() or rect.width < 1 or rect.height < 1:
        return
    cover = text_coverage(text, rect.width, rect.height, font, align).astype(np.int32)
    blended = background + ((foreground - background) * cover + 127) // 255
    region[...] = blended.astype(raster.dtype)
