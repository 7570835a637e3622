"""Hardcopy: optical density of film and paper following the GSDF (PS3.14 §7.2, §7.3).

Transmissive film on a light box (§7.2): ``L = La + L0·10^(−D)`` with L0 the Illumination
(2010,015E) and La the Reflected Ambient Light (2010,0160). Reflective paper (§7.3): ``L = L0·10^(−D)``
with L0 the maximum luminance from diffuse reflection and no ambient term. A film's luminance range
follows from its Min/Max Density (2010,0120/0130; DICOM carries them in hundredths of OD, these
functions take OD). P-values are spread equally in JND index over that range (§7.2, Annex D.2), so
P = 0 prints Max Density and P = 2^N − 1 prints Min Density.

Both directions are here: :func:`od_from_pvalues` for rendering and :func:`pvalues_from_od` for
outputs that want P-values (a DICOM film printer, a PACS copy of the film).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from printserver.errors import ParameterError
from printserver.gsdf.gsdf import luminance_from_pvalues, pvalues_from_luminance

#: PS3.14 §7.2 Note: typical light-box luminance and reflected ambient light (cd/m²)
DEFAULT_ILLUMINATION = 2000.0
DEFAULT_REFLECTED_AMBIENT_LIGHT = 10.0
#: PS3.14 §7.3 Note: typical maximum luminance of paper under diffuse illumination (cd/m²)
DEFAULT_PAPER_ILLUMINATION = 150.0
#: densities above this are refused as a likely unit mistake (hundredths of OD passed as OD)
MAX_PLAUSIBLE_DENSITY = 10.0


@dataclass(frozen=True)
class Viewing:
    """Density range and viewing conditions of a hardcopy (PS3.14 §7.2 / §7.3).

    ``reflective=True`` is paper (§7.3): no ambient term, ``illumination`` is the paper's L0.
    Construct with :meth:`film` or :meth:`paper`, which validate.
    """

    min_density: float
    max_density: float
    illumination: float = DEFAULT_ILLUMINATION
    reflected_ambient_light: float = DEFAULT_REFLECTED_AMBIENT_LIGHT
    reflective: bool = False

    def __post_init__(self) -> None:
        check_viewing(self.min_density, self.max_density, self.illumination,
                      0.0 if self.reflective else self.reflected_ambient_light)

    @classmethod
    def film(cls, min_density: float, max_density: float, illumination: float = DEFAULT_ILLUMINATION,
             reflected_ambient_light: float = DEFAULT_REFLECTED_AMBIENT_LIGHT) -> "Viewing":
        """Transmissive film on a light box (PS3.14 §7.2)."""
        return cls(float(min_density), float(max_density), float(illumination),
                   float(reflected_ambient_light), False)

    @classmethod
    def paper(cls, min_density: float, max_density: float,
              illumination: float = DEFAULT_PAPER_ILLUMINATION) -> "Viewing":
        """Reflective paper (PS3.14 §7.3): L = L0·10^(−D), no ambient term."""
        return cls(float(min_density), float(max_density), float(illumination), 0.0, True)

    @property
    def ambient(self) -> float:
        return 0.0 if self.reflective else self.reflected_ambient_light

    def luminance(self, od: ArrayLike) -> np.ndarray:
        """Luminance of density ``od`` (§7.2 eq. L = La + L0·10^(−D); §7.3 without La)."""
        return luminance_from_od(od, self.illumination, self.ambient)

    def od(self, luminance: ArrayLike) -> np.ndarray:
        """Density giving ``luminance`` (inverse of :meth:`luminance`)."""
        return od_from_luminance(luminance, self.illumination, self.ambient)

    @property
    def luminance_range(self) -> tuple[float, float]:
        """``(Lmin, Lmax)``: luminance at Max Density and at Min Density, cd/m²."""
        return film_luminance_range(self.min_density, self.max_density, self.illumination, self.ambient)


def check_viewing(min_density: float, max_density: float, illumination: float, ambient: float) -> None:
    """Refuse impossible hardcopy parameters with a :class:`ParameterError` naming the parameter."""
    for name, value in (("min_density", min_density), ("max_density", max_density),
                        ("illumination", illumination), ("reflected_ambient_light", ambient)):
        if not np.isfinite(value):
            raise ParameterError(name, f"must be a finite number; got {value}")
    if min_density < 0:
        raise ParameterError("min_density", f"must be ≥ 0 OD; got {min_density:g}")
    if max_density > MAX_PLAUSIBLE_DENSITY:
        raise ParameterError("max_density", f"{max_density:g} OD is not a film density; Min/Max Density "
                                            f"(2010,0120/0130) are sent in hundredths of OD: divide by 100")
    if min_density >= max_density:
        raise ParameterError("min_density", f"Min Density ({min_density:g} OD) must be below Max Density "
                                            f"({max_density:g} OD)")
    if illumination <= 0:
        raise ParameterError("illumination", f"Illumination L0 must be > 0 cd/m²; got {illumination:g}")
    if ambient < 0:
        raise ParameterError("reflected_ambient_light", f"must be ≥ 0 cd/m²; got {ambient:g}")


def luminance_from_od(od: ArrayLike, illumination: float = DEFAULT_ILLUMINATION,
                      ambient: float = DEFAULT_REFLECTED_AMBIENT_LIGHT) -> np.ndarray:
    """``L = La + L0·10^(−D)`` (PS3.14 §7.2); pass ``ambient=0`` for paper (§7.3)."""
    return ambient + illumination * np.power(10.0, -np.asarray(od, dtype=np.float64))


def od_from_luminance(luminance: ArrayLike, illumination: float = DEFAULT_ILLUMINATION,
                      ambient: float = DEFAULT_REFLECTED_AMBIENT_LIGHT) -> np.ndarray:
    """``D = −log10((L − La)/L0)`` (PS3.14 §7.2, inverse); ``ambient=0`` for paper (§7.3)."""
    lum = np.asarray(luminance, dtype=np.float64)
    if lum.size and (lum - ambient).min() <= 0:
        raise ParameterError("luminance", f"must exceed the reflected ambient light ({ambient:g} cd/m²)")
    return -np.log10((lum - ambient) / illumination)


def film_luminance_range(min_density: float, max_density: float,
                         illumination: float = DEFAULT_ILLUMINATION,
                         ambient: float = DEFAULT_REFLECTED_AMBIENT_LIGHT) -> tuple[float, float]:
    """``(Lmin, Lmax) = (La + L0·10^(−Dmax), La + L0·10^(−Dmin))`` (PS3.14 §7.2, Annex D.2.2)."""
    check_viewing(min_density, max_density, illumination, ambient)
    lmin, lmax = luminance_from_od([max_density, min_density], illumination, ambient)
    return float(lmin), float(lmax)


def od_from_pvalues(p: ArrayLike, bits: int, min_density: float, max_density: float,
                    illumination: float = DEFAULT_ILLUMINATION,
                    reflected_ambient_light: float = DEFAULT_REFLECTED_AMBIENT_LIGHT,
                    levels: int | None = None) -> np.ndarray:
    """Optical density for N-bit P-values on film (PS3.14 §7.2, Annex D.2.2).

    ``D(p) = −log10((L(jmin + p·(jmax − jmin)/(2^N − 1)) − La)/L0)`` with ``jmin = j(Lmin)``,
    ``jmax = j(Lmax)``. P = 0 gives exactly ``max_density`` and P = 2^N − 1 exactly ``min_density``.
    For paper (§7.3) pass ``reflected_ambient_light=0`` and the paper's L0 as ``illumination``.

    Parameters
    ----------
    p : array_like
        P-values 0 … 2^N − 1.
    bits : int
        N, the bits of the P-value space (1 … 16).
    min_density, max_density : float
        Min and Max Density in OD (not hundredths).
    illumination, reflected_ambient_light : float
        L0 and La in cd/m².

    Returns
    -------
    numpy.ndarray
        Optical densities (float64).
    """
    lmin, lmax = film_luminance_range(min_density, max_density, illumination, reflected_ambient_light)
    lum = luminance_from_pvalues(p, bits, lmin, lmax, levels=levels)
    od = od_from_luminance(lum, illumination, reflected_ambient_light)
    return np.clip(od, min_density, max_density)


def pvalues_from_od(od: ArrayLike, bits: int, min_density: float, max_density: float,
                    illumination: float = DEFAULT_ILLUMINATION,
                    reflected_ambient_light: float = DEFAULT_REFLECTED_AMBIENT_LIGHT,
                    levels: int | None = None) -> np.ndarray:
    """P-values (float, 0 … 2^N − 1) for optical densities: the inverse of :func:`od_from_pvalues`.

    Densities outside [Min, Max Density] are clipped to it (PS3.4 H.4.9.1 Note: a printer uses its
    own extremes). Round these with ``numpy.rint`` for integer P-values.
    """
    lmin, lmax = film_luminance_range(min_density, max_density, illumination, reflected_ambient_light)
    d = np.clip(np.asarray(od, dtype=np.float64), min_density, max_density)
    lum = luminance_from_od(d, illumination, reflected_ambient_light)
    return pvalues_from_luminance(lum, bits, lmin, lmax, levels=levels)
