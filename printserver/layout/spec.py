"""The inputs of film rendering: a Film Box and its Image Boxes as plain records.

The fields mirror the Basic Film Box (PS3.3 C.13.3) and Basic Grayscale Image Box (PS3.3 C.13.5)
attributes, with DICOM units (densities in hundredths of OD, Requested Image Size in mm,
Illumination and Reflected Ambient Light in cd/m²). ``None`` means "not sent by the SCU": the
printer configuration supplies the default, as PS3.4 H.2.4 says for U/M attributes.

The Presentation LUT that applies (image box, else film box, else film session level) is resolved
by whoever builds these records: :class:`ImageSpec` ``presentation_lut`` wins over
:class:`FilmSpec` ``presentation_lut``; ``None`` at both levels means IDENTITY.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from printserver.vocabulary import Polarity

if TYPE_CHECKING:  # pragma: no cover - typing only
    from printserver.gsdf.plut import PresentationLUT


@dataclass(frozen=True)
class FilmSpec:
    """One Basic Film Box (PS3.3 C.13.3) as the renderer needs it."""

    #: Image Display Format (2010,0010): STANDARD\C,R, ROW\..., COL\..., or a printer-named layout
    image_display_format: str = "STANDARD\\1,1"
    #: Film Size ID (2010,0050); None = the printer's default
    film_size_id: str | None = None
    #: Film Orientation (2010,0040): PORTRAIT or LANDSCAPE; None = the printer's default
    film_orientation: str | None = None
    #: Magnification Type (2010,0060): REPLICATE, BILINEAR, CUBIC, NONE; None = printer default
    magnification_type: str | None = None
    #: Smoothing Type (2010,0080), used with CUBIC: SHARP, MEDIUM, SMOOTH (printer-defined)
    smoothing_type: str | None = None
    #: Border Density (2010,0100): "BLACK", "WHITE" or hundredths of OD
    border_density: str | int = "BLACK"
    #: Empty Image Density (2010,0110): "BLACK", "WHITE" or hundredths of OD
    empty_image_density: str | int = "BLACK"
    #: Min Density / Max Density (2010,0120)/(2010,0130), hundredths of OD; None = printer range
    min_density: int | None = None
    max_density: int | None = None
    #: Trim (2010,0140): YES prints a thin frame around each image
    trim: str = "NO"
    #: Illumination (2010,015E) and Reflected Ambient Light (2010,0160), cd/m²; None = printer's
    illumination: float | None = None
    reflected_ambient_light: float | None = None
    #: Requested Resolution ID (2020,0050): STANDARD or HIGH; None = the printer's default
    requested_resolution_id: str | None = None
    #: Annotation Display Format ID (2010,0030); None = no annotation boxes
    annotation_display_format_id: str | None = None
    #: Basic Annotation Box texts: Annotation Position (2030,0010) → Text String (2030,0020)
    annotations: Mapping[int, str] = field(default_factory=dict)
    #: the Presentation LUT of the film box (or film session); None = IDENTITY
    presentation_lut: PresentationLUT | None = None


@dataclass(frozen=True, eq=False)
class ImageSpec:
    """One Basic Grayscale Image Box (PS3.3 C.13.5) with its pixels.

    ``pixels`` is a 2-D array (Rows, Columns) of unsigned stored values, ``uint8`` for Bits Stored 8
    and ``uint16`` for 12 (up to 16 where the printer allows). Bits above Bits Stored are ignored
    (masked), as PS3.5 8.1.1 prescribes for the High Bit / Bits Stored layout.
    """

    #: Image Box Position (2020,0010), 1-based, numbered as PS3.3 C.13.5.1 says
    image_box_position: int
    pixels: np.ndarray
    #: Bits Stored (0028,0101)
    bits_stored: int = 8
    #: Photometric Interpretation (0028,0004): MONOCHROME1 or MONOCHROME2
    photometric_interpretation: str = "MONOCHROME2"
    #: Polarity (2020,0020): NORMAL or REVERSE
    polarity: str = Polarity.NORMAL.value
    #: overrides of the Film Box values (PS3.3 C.13.5); None = the film box's
    magnification_type: str | None = None
    smoothing_type: str | None = None
    min_density: int | None = None
    max_density: int | None = None
    #: Requested Image Size (2020,0030): width of the printed image in mm
    requested_image_size: float | None = None
    #: Requested Decimate/Crop Behavior (2020,0040): DECIMATE, CROP, FAIL; None = not requested
    requested_decimate_crop_behavior: str | None = None
    #: Pixel Aspect Ratio (0028,0034): vertical, horizontal pixel size ratio
    pixel_aspect_ratio: tuple[int, int] = (1, 1)
    #: the Presentation LUT referenced by this image box; None = the film box's
    presentation_lut: PresentationLUT | None = None
