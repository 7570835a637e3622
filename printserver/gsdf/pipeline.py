"""Stored pixel value → optical density: the grayscale pipeline of a print (PS3.4 H.2.1.2).

    stored value → MONOCHROME1 inversion → Polarity REVERSE (PS3.3 C.13.5)
                 → Presentation LUT (PS3.3 C.11.4; None = IDENTITY) → P-value
                 → optical density by PS3.14 §7.2 with Min/Max Density, Illumination and
                   Reflected Ambient Light.

:func:`od_lut` turns this into one lookup table per stored value, so a renderer maps a whole raster
with a single ``numpy.take``. :func:`pvalues_to_od` and :func:`od_to_pvalues` are the two directions
between P-values and OD that the outputs need (a DICOM film printer and a PACS want P-values).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from printserver.errors import ParameterError
from printserver.gsdf.hardcopy import (DEFAULT_ILLUMINATION, DEFAULT_REFLECTED_AMBIENT_LIGHT,
                                       od_from_pvalues, pvalues_from_od, check_viewing)
from printserver.gsdf.plut import PresentationLUT, invert_for_display
from printserver.vocabulary import PresentationLUTShape

#: bits stored an image may have for the print pipeline (PS3.3 C.13.5: 8 or 12; 1 … 16 accepted)
BITS_STORED_RANGE = (1, 16)


def od_lut(bits_stored: int, photometric: str, polarity: str, plut: PresentationLUT | str | None,
           min_density: float, max_density: float, illumination: float = DEFAULT_ILLUMINATION,
           reflected_ambient_light: float = DEFAULT_REFLECTED_AMBIENT_LIGHT) -> np.ndarray:
    """Optical density for every stored pixel value 0 … 2**bits_stored − 1 (PS3.4 H.2.1.2, PS3.14 §7.2).

    Parameters
    ----------
    bits_stored : int
        Bits Stored (0028,0101) of the image box pixels, 1 … 16 (8 or 12 in practice).
    photometric : str
        ``MONOCHROME1`` or ``MONOCHROME2`` (0028,0004).
    polarity : str
        ``NORMAL`` or ``REVERSE`` (2020,0020); empty means NORMAL.
    plut : PresentationLUT or None
        The Presentation LUT in effect; None means IDENTITY; a string is read as a
        Presentation LUT Shape. ``LIN OD`` maps its input linearly in OD,
        index 0 → ``min_density`` (white), 2**bits_stored − 1 → ``max_density``. A table must match
        the bit depth (256 entries for 8 bits, 4096 for 12).
    min_density, max_density : float
        Min / Max Density in OD (DICOM's hundredths divided by 100).
    illumination, reflected_ambient_light : float
        Illumination L0 and Reflected Ambient Light La in cd/m².

    Returns
    -------
    numpy.ndarray
        float32 optical densities, shape ``(2**bits_stored,)``.

    Raises
    ------
    ParameterError
        Impossible parameter (naming it); a table that does not match ``bits_stored``.
    """
    if int(bits_stored) != bits_stored or not BITS_STORED_RANGE[0] <= bits_stored <= BITS_STORED_RANGE[1]:
        raise ParameterError("bits_stored", f"must be {BITS_STORED_RANGE[0]} … {BITS_STORED_RANGE[1]}; "
                                            f"got {bits_stored}")
    bits_stored = int(bits_stored)
    check_viewing(min_density, max_density, illumination, reflected_ambient_light)
    if isinstance(plut, str):
        plut = PresentationLUT.from_shape(plut)
    plut = plut or PresentationLUT.identity()
    count = 1 << bits_stored
    values = invert_for_display(np.arange(count, dtype=np.int64), bits_stored, photometric, polarity)
    if plut.shape is PresentationLUTShape.LIN_OD:
        od = min_density + values * ((max_density - min_density) / (count - 1))
        return od.astype(np.float32)
    pvalues, pbits = plut.to_pvalues(values, bits_stored)
    # evaluate the GSDF once per possible P-value, then look up
    per_p = od_from_pvalues(np.arange(1 << pbits), pbits, min_density, max_density, illumination,
                            reflected_ambient_light)
    return per_p[pvalues].astype(np.float32)


def apply_od_lut(pixels: ArrayLike, lut: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Map a raster of stored values to densities through a table from :func:`od_lut`.

    One ``numpy.take`` with ``mode="clip"``: values above ``2**bits_stored − 1`` (stray high bits)
    take the last entry instead of failing. ``out`` (float32, same shape) avoids an allocation.
    """
    return np.take(lut, pixels, out=out, mode="clip")


def pvalues_to_od(pvalues: ArrayLike, bits: int, min_density: float, max_density: float,
                  illumination: float = DEFAULT_ILLUMINATION,
                  reflected_ambient_light: float = DEFAULT_REFLECTED_AMBIENT_LIGHT) -> np.ndarray:
    """Optical densities (float32) of N-bit P-values, PS3.14 §7.2 (integer arrays go through a table)."""
    p = np.asarray(pvalues)
    if np.issubdtype(p.dtype, np.integer) and p.size > (1 << bits):
        table = od_from_pvalues(np.arange(1 << bits), bits, min_density, max_density, illumination,
                                reflected_ambient_light).astype(np.float32)
        if p.min() < 0 or p.max() > (1 << bits) - 1:
            raise ParameterError("P-value", f"must be within 0 … {(1 << bits) - 1}")
        return np.take(table, p)
    return od_from_pvalues(p, bits, min_density, max_density, illumination,
                           reflected_ambient_light).astype(np.float32)


def od_to_pvalues(od: ArrayLike, bits: int, min_density: float, max_density: float,
                  illumination: float = DEFAULT_ILLUMINATION,
                  reflected_ambient_light: float = DEFAULT_REFLECTED_AMBIENT_LIGHT) -> np.ndarray:
    """Integer N-bit P-values (uint16) for optical densities: inverse of :func:`pvalues_to_od`
    (PS3.14 §7.2, rounded to the nearest P-value), e.g. to store a film in a PACS with Presentation LUT
    Shape IDENTITY. Densities outside [Min, Max Density] clip to the extremes."""
    p = pvalues_from_od(od, bits, min_density, max_density, illumination, reflected_ambient_light)
    return np.rint(p).astype(np.uint16)
