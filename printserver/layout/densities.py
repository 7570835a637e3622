"""Densities on the film: the film raster's unit, density ranges, named densities, per-image LUTs.

The film raster holds optical density in **milli-OD** as ``uint16`` (0.001 OD steps, up to 65.535
OD): half the memory of float32 and finer than any densitometer reads. Every area of the film is
given a density here:

* images: stored value → :func:`printserver.gsdf.pipeline.od_lut` (MONOCHROME1 inversion, Polarity,
  Presentation LUT, P-value → OD by PS3.14 §7.2) → milli-OD, as one lookup table per image;
* Border Density (2010,0100) and Empty Image Density (2010,0110) (PS3.3 C.13.3): ``BLACK`` is the
  film's Max Density, ``WHITE`` its Min Density, a number is hundredths of OD clamped to the
  printer's density range;
* Min Density / Max Density (PS3.3 C.13.3, C.13.5) outside the printer's range are clamped to it
  with warning B605 (PS3.4 H.4.9.1 Note).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from printserver.config import PrinterConfig
from printserver.errors import ParameterError
from printserver.gsdf.pipeline import od_lut
from printserver.gsdf.plut import PresentationLUT
from printserver.layout.status import LayoutError, RenderWarning
from printserver.vocabulary import Status, VocabularyError, parse_density

#: film raster units per optical density
MILLI_OD = 1000
#: the film raster's dtype
RASTER_DTYPE = np.uint16


@dataclass(frozen=True)
class DensityRange:
    """Min/Max Density (OD) and the viewing conditions an image is printed for (PS3.14 §7.2)."""

    min_density: float
    max_density: float
    illumination: float
    reflected_ambient_light: float


def to_milli_od(od: float) -> int:
    """An optical density as a raster value (milli-OD), rounded and kept within uint16."""
    return int(min(max(round(od * MILLI_OD), 0), np.iinfo(RASTER_DTYPE).max))


def effective_range(min_density: int | None, max_density: int | None, printer: PrinterConfig,
                    illumination: float, reflected_ambient_light: float,
                    image_box_position: int | None = None
                    ) -> tuple[DensityRange, list[RenderWarning]]:
    """The density range to print with: requested values (hundredths of OD) clamped to the printer's.

    Returns
    -------
    (DensityRange, warnings)
        A B605 warning for each value that had to be clamped.

    Raises
    ------
    LayoutError
        When the clamped Min Density is not below the Max Density.
    """
    warnings = []
    low, high = printer.min_density, printer.max_density
    dmin = low if min_density is None else int(min_density)
    dmax = high if max_density is None else int(max_density)
    for name, value in (("Min Density", dmin), ("Max Density", dmax)):
        if not low <= value <= high:
            warnings.append(RenderWarning(
                Status.DENSITY_OUT_OF_RANGE, f"{name} {value} outside the printer's range "
                f"{low}-{high} (hundredths of OD); printer limit used", image_box_position))
    dmin, dmax = min(max(dmin, low), high), min(max(dmax, low), high)
    if dmin >= dmax:
        raise LayoutError(f"Min Density {dmin} is not below Max Density {dmax} (hundredths of OD)",
                          image_box_position=image_box_position)
    return DensityRange(dmin / 100.0, dmax / 100.0, float(illumination),
                        float(reflected_ambient_light)), warnings


def named_density(value: str | int, attribute: str, film_range: DensityRange,
                  printer: PrinterConfig) -> tuple[float, RenderWarning | None]:
    """Border Density or Empty Image Density (PS3.3 C.13.3) in OD.

    ``BLACK`` → the film's Max Density, ``WHITE`` → its Min Density, a number (hundredths of OD) →
    that density clamped to the printer's range (with a B605 warning when clamped).

    Raises
    ------
    LayoutError
        A value that is neither BLACK, WHITE nor a number.
    """
    try:
        parsed = parse_density(str(value), attribute)
    except VocabularyError as exc:
        raise LayoutError(str(exc)) from exc
    if parsed == "BLACK":
        return film_range.max_density, None
    if parsed == "WHITE":
        return film_range.min_density, None
    clamped = min(max(int(parsed), printer.min_density), printer.max_density)
    warning = None
    if clamped != parsed:
        warning = RenderWarning(Status.DENSITY_OUT_OF_RANGE,
                                f"{attribute} {parsed} outside the printer's range "
                                f"{printer.min_density}-{printer.max_density}; clamped to {clamped}")
    return clamped / 100.0, warning


def milli_od_lut(bits_stored: int, photometric: str, polarity: str,
                 plut: PresentationLUT | None, density: DensityRange, dtype: np.dtype,
                 clamp: bool = False, image_box_position: int | None = None) -> np.ndarray:
    """A lookup table stored value → milli-OD covering every value of ``dtype``.

    The table has 256 entries for ``uint8`` pixels and 65536 for ``uint16``, so it can be applied
    with one ``numpy.take`` and no range check. Values above Bits Stored are masked to their low
    ``bits_stored`` bits (PS3.5 8.1.1), or with ``clamp=True`` (for resampled pixels, where a cubic
    filter may overshoot) saturated to the highest stored value.

    Raises
    ------
    LayoutError
        An impossible Bits Stored, photometric interpretation, polarity or Presentation LUT for this
        image (the reason from :mod:`printserver.gsdf`).
    """
    capacity = 8 * np.dtype(dtype).itemsize
    if not 1 <= bits_stored <= capacity:
        raise LayoutError(f"Bits Stored {bits_stored} does not fit {np.dtype(dtype).name} pixels",
                          image_box_position=image_box_position)
    try:
        od = od_lut(bits_stored, photometric, polarity, plut, density.min_density,
                    density.max_density, density.illumination, density.reflected_ambient_light)
    except (ParameterError, VocabularyError) as exc:
        raise LayoutError(str(exc), image_box_position=image_box_position) from exc
    per_value = np.clip(np.rint(od * MILLI_OD), 0, np.iinfo(RASTER_DTYPE).max).astype(RASTER_DTYPE)
    values = np.arange(1 << capacity, dtype=np.int64)
    top = (1 << bits_stored) - 1
    index = np.minimum(values, top) if clamp else values & top
    return per_value[index]
