"""Output device profiles: film densities → the drive values an output device is sent.

The film raster is optical density; every output turns it into its own drive values through its
characteristic curve (``../shared/DESIGN.md``, the pipeline). A profile is a 65536-entry ``uint8``
lookup table indexed by the raster's milli-OD, applied in row strips.

:class:`LightBoxSRGB` (the default for PDF and PNG)
    Models the film on a light box, seen on an sRGB screen. The film transmits
    ``L = La + L0·10^(−OD)`` (PS3.14 §7.2, Illumination L0 and Reflected Ambient Light La);
    relative luminance is ``Y = L / (La + L0·10^(−white_density))`` (with ``white_density = 0``:
    the bare light box is the screen's white, so clear film base looks slightly grey as it does
    on a real light box), clipped to 1, and encoded with the sRGB transfer function (IEC 61966-2-1:
    ``12.92·Y`` up to 0.0031308, else ``1.055·Y^(1/2.4) − 0.055``) to 8-bit gray.
:class:`MeasuredPrinterProfile`
    A printer (for instance a paper printer behind CUPS) whose step wedge was measured into a
    characteristic file (DCMTK ``printer.lut`` text or CSV ``ddl,od``, read by
    :mod:`printserver.gsdf.curves`) or into a stored printer calibration (``printserver.qc``).
    Each density is sent as the drive level (DDL) whose measured luminance under the curve's
    viewing conditions is nearest to the luminance of that density: the printer then reproduces
    the film's densities, and with them its GSDF response.
:class:`PValueDriveProfile`
    The uncalibrated device, for the calibration step wedge: each density is turned back into the
    P-value it was rendered from (PS3.14 §7.2, inverted with the film's own Min/Max Density and
    viewing conditions) and that P-value, as 8 bits, is sent as the drive level. The wedge's steps
    (P-values 0, 15, …, 255) then reach the device as drive levels 0, 15, …, 255, and their
    densities are the device's characteristic curve.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from printserver.gsdf.hardcopy import luminance_from_od
from printserver.layout.densities import MILLI_OD, RASTER_DTYPE, DensityRange
from printserver.layout.status import LayoutError

if TYPE_CHECKING:  # pragma: no cover - typing only
    from printserver.gsdf.curves import CharacteristicCurve

#: rows converted per step when streaming a film to drive values
STRIP_ROWS = 512
_LUT_SIZE = int(np.iinfo(RASTER_DTYPE).max) + 1


class DeviceProfile(Protocol):
    """What the writers need from an output device: a name and a milli-OD → drive value table."""

    name: str

    def drive_lut(self) -> np.ndarray:
        """``uint8`` drive value for every raster value 0 … 65535 (milli-OD)."""
        ...  # pragma: no cover - protocol


def srgb_encode(y: np.ndarray) -> np.ndarray:
    """sRGB transfer function (IEC 61966-2-1) of relative luminance ``y`` in [0, 1]."""
    y = np.clip(np.asarray(y, dtype=np.float64), 0.0, 1.0)
    return np.where(y <= 0.0031308, 12.92 * y, 1.055 * np.power(y, 1 / 2.4) - 0.055)


@dataclass(frozen=True)
class LightBoxSRGB:
    """A film on a light box (Illumination L0, Reflected Ambient Light La) viewed as sRGB."""

    illumination: float = 2000.0
    reflected_ambient_light: float = 10.0
    #: the density that shows as screen white (0 = the bare light box)
    white_density: float = 0.0
    name: str = "light box (sRGB)"

    def luminance(self, od: np.ndarray) -> np.ndarray:
        """Luminance in cd/m² of film of density ``od`` on the light box (PS3.14 §7.2)."""
        return luminance_from_od(od, self.illumination, self.reflected_ambient_light)

    def drive_lut(self) -> np.ndarray:
        od = np.arange(_LUT_SIZE, dtype=np.float64) / MILLI_OD
        white = float(self.luminance(np.asarray(self.white_density)))
        y = self.luminance(od) / white
        return np.rint(srgb_encode(y) * 255).astype(np.uint8)


@dataclass(frozen=True, eq=False)
class MeasuredPrinterProfile:
    """A printer with a measured characteristic curve (drive level → optical density)."""

    curve: CharacteristicCurve
    name: str = "measured printer"

    @classmethod
    def from_file(cls, path: str | Path) -> MeasuredPrinterProfile:
        """Read a printer characteristic file (DCMTK text or CSV ``ddl,od``)."""
        # imported here: the curve reader needs scipy, which the default profile does not
        from printserver.gsdf.curves import PRINTER, read_characteristic_file

        curve = read_characteristic_file(path, PRINTER)
        return cls(curve, f"measured printer ({Path(path).name})")

    def drive_lut(self) -> np.ndarray:
        from printserver.gsdf.calibration import nearest_ddl
        from printserver.gsdf.curves import device_luminance

        if self.curve.max_ddl > 255:
            raise LayoutError(f"{self.curve.source}: {self.curve.max_ddl + 1} drive levels; the "
                              "8-bit outputs need at most 256")
        per_ddl = device_luminance(self.curve)
        od = np.arange(_LUT_SIZE, dtype=np.float64) / MILLI_OD
        target = luminance_from_od(od, self.curve.effective_illumination,
                                   self.curve.effective_ambient)
        return nearest_ddl(per_ddl, target).astype(np.uint8)


@dataclass(frozen=True)
class PValueDriveProfile:
    """P-value as drive level: the device uncalibrated (module docstring).

    ``density`` is the film's density range and viewing conditions, as rendered
    (:attr:`printserver.layout.compose.RenderedFilm.density`).
    """

    density: DensityRange
    name: str = "uncalibrated (P-value as drive level)"

    def drive_lut(self) -> np.ndarray:
        from printserver.gsdf.hardcopy import pvalues_from_od

        d = self.density
        od = np.arange(_LUT_SIZE, dtype=np.float64) / MILLI_OD
        p = pvalues_from_od(od, 8, d.min_density, d.max_density, d.illumination,
                            d.reflected_ambient_light)
        return np.rint(p).astype(np.uint8)


def drive_strips(raster: np.ndarray, lut: np.ndarray, rows: int = STRIP_ROWS
                 ) -> Iterator[np.ndarray]:
    """The raster as drive values, ``rows`` rows at a time (one reused ``uint8`` buffer)."""
    buffer = np.empty((min(rows, raster.shape[0]), raster.shape[1]), dtype=np.uint8)
    for r0 in range(0, raster.shape[0], rows):
        r1 = min(r0 + rows, raster.shape[0])
        out = buffer[: r1 - r0]
        np.take(lut, raster[r0:r1], out=out, mode="clip")
        yield out
