"""A printer's characteristic curve and calibration LUT from a densitometer's readings of a step wedge.

The calibration step wedge (``printserver.layout.step_wedge``, 18 steps in equal P-value steps,
PS3.14 Annex D.2.1) is printed **uncalibrated**: the renderer sends each step's P-value straight to
the device as its drive level, ``DDL = round(255·p/(2^N − 1))``, i.e. DDL 0, 15, …, 255 for steps
1 … 18 (see :data:`WEDGE_DRIVE_LEVELS`). The densitometer readings of the steps are therefore the
device's characteristic curve, drive level → optical density, sampled at 18 levels: what DCMTK's
``printer.lut`` describes (:mod:`printserver.gsdf.curves`, kind ``printer``).

From it, :func:`printer_calibration` computes

* the **characteristic curve**, interpolated monotonically between the steps;
* the **calibration LUT** (:func:`printserver.gsdf.calibration.calibration_lut`): for each 8-bit
  input P-value the drive level whose density, seen on the light box (L = La + L0·10^(−D), PS3.14
  §7.2), is nearest the GSDF target between the printer's own measured extremes;
* the measured Dmin / Dmax, and per input level the target and the predicted density.

Readings are validated first (:func:`check_wedge_readings`), each error a
:class:`~printserver.gsdf.conformance.ReadingError` naming the reading (``readings[4].density``) so
that a CSV reader can name the line (:func:`parse_wedge_csv`) and a web form the field. Densities
must not **rise** from one step to the next lighter one (a measurement error); **equal** densities
(a printer that saturates in its blacks or whites) are accepted: to interpolate, each step's density
is raised by ``(17 − k)·10⁻⁶`` OD (far below a densitometer's 0.01 OD resolution), which makes the
curve strictly monotonic without changing what it says.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from printserver.errors import ParameterError
from printserver.gsdf.calibration import CalibrationLUT, calibration_lut
from printserver.gsdf.conformance import ReadingError
from printserver.gsdf.curves import PRINTER, CharacteristicCurve, values_at_all_ddls
from printserver.gsdf.hardcopy import MAX_PLAUSIBLE_DENSITY, od_from_luminance
from printserver.gsdf.readings import csv_pairs, reading_lines

#: steps of the calibration wedge (layout.step_wedge.STEP_COUNT; gsdf imports nothing of layout)
WEDGE_STEPS = 18
#: the device's highest drive level (8-bit outputs: PDF, CUPS)
MAX_DDL = 255
#: drive level of each step when the wedge is printed uncalibrated: 0, 15, …, 255
WEDGE_DRIVE_LEVELS = np.rint(MAX_DDL * np.arange(WEDGE_STEPS) / (WEDGE_STEPS - 1)).astype(np.int64)
#: the input levels of the calibration LUT (8-bit P-values)
LUT_LEVELS = 256
#: the slope given to equal readings so that the curve is strictly monotonic (module docstring)
PLATEAU_SLOPE = 1e-6
#: CSV headers a wedge reading file may have: by step number (1 … 18) or by P-value
HEADERS = {"step": ("step", "density"), "pvalue": ("pvalue", "density")}


def wedge_pvalues(bits: int) -> np.ndarray:
    """P-value of each step in ``bits``-bit P-values (PS3.14 D.2.1), step 1 first."""
    top = (1 << int(bits)) - 1
    return np.rint(top * np.arange(WEDGE_STEPS) / (WEDGE_STEPS - 1)).astype(np.int64)


@dataclass(frozen=True, eq=False)
class WedgeReadings:
    """Validated densities of the 18 steps, step 1 (darkest, DDL 0) first.

    Attributes
    ----------
    density : numpy.ndarray
        Optical density of each step (float64, 18 values).
    order : numpy.ndarray
        ``order[k]`` is the caller's index of the reading of step k + 1 (for messages).
    """

    density: np.ndarray
    order: np.ndarray

    @property
    def steps(self) -> np.ndarray:
        return np.arange(1, WEDGE_STEPS + 1)

    @property
    def ddl(self) -> np.ndarray:
        """The drive level each step was printed at (uncalibrated wedge)."""
        return WEDGE_DRIVE_LEVELS

    @property
    def dmin(self) -> float:
        return float(self.density.min())

    @property
    def dmax(self) -> float:
        return float(self.density.max())


def _step_of(key: float, by: str, bits: int, index: int) -> int:
    """Step number (1 … 18) of a reading given by step number or by P-value."""
    field = f"readings[{index}].{by}"
    if not np.isfinite(key) or key != int(key):
        raise ReadingError(field, f"must be an integer; got {key:g}", index)
    value = int(key)
    if by == "step":
        if not 1 <= value <= WEDGE_STEPS:
            raise ReadingError(field, f"step {value} is not a step of the wedge (1 … {WEDGE_STEPS})",
                               index)
        return value
    pvalues = wedge_pvalues(bits).tolist()
    if value not in pvalues:
        raise ReadingError(field, f"P-value {value} is not a step of the {bits}-bit wedge "
                                  f"({pvalues[0]}, {pvalues[1]}, …, {pvalues[-1]})", index)
    return pvalues.index(value) + 1


def check_wedge_readings(keys: ArrayLike, density: ArrayLike, by: str = "step",
                         bits: int | None = None) -> WedgeReadings:
    """Validate densitometer readings of the calibration wedge; return them in step order.

    Rules (each broken rule raises :class:`ReadingError` naming the reading or the set):

    * ``keys`` and ``density`` are equally long lists; each key an integer: a step number 1 … 18
      (``by="step"``) or a P-value of the wedge (``by="pvalue"``: 0, 15, …, 255 in 8 bits; 0, 241,
      …, 4095 in 12 bits; 12 bits when a P-value exceeds 255 and ``bits`` is not given);
    * each density a finite number, 0 … 10 OD (more is a unit mistake);
    * every step exactly once;
    * from step 1 (darkest) to step 18 (lightest) the density never rises (equal readings are a
      saturating printer and are accepted), and step 18 is lighter than step 1.

    Raises
    ------
    ReadingError
        ``parameter`` is ``readings[i].step`` / ``.pvalue`` / ``.density``, or ``readings``.
    ParameterError
        ``by`` or ``bits`` out of range.
    """
    if by not in HEADERS:
        raise ParameterError("by", f"must be 'step' or 'pvalue'; got {by!r}")
    k = np.asarray(keys, dtype=np.float64)
    d = np.asarray(density, dtype=np.float64)
    if k.ndim != 1 or d.ndim != 1 or k.shape != d.shape:
        raise ReadingError("readings", "need one density per step, as two lists of equal length")
    if bits is None:
        bits = 12 if by == "pvalue" and k.size and np.nanmax(k) > MAX_DDL else 8
    if bits not in (8, 12):
        raise ParameterError("bits", f"the wedge is printed in 8 or 12 bits; got {bits}")
    seen: dict[int, int] = {}
    for i, (key, value) in enumerate(zip(k.tolist(), d.tolist())):
        step = _step_of(key, by, bits, i)
        if step in seen:
            raise ReadingError(f"readings[{i}].{by}", f"step {step} given twice (readings "
                                                      f"{seen[step]} and {i})", i)
        seen[step] = i
        if not np.isfinite(value):
            raise ReadingError(f"readings[{i}].density", f"must be a number of OD; got {value!r}", i)
        if not 0 <= value <= MAX_PLAUSIBLE_DENSITY:
            raise ReadingError(f"readings[{i}].density", f"density {value:g} at step {step} is not "
                                                         f"0 … {MAX_PLAUSIBLE_DENSITY:g} OD", i)
    missing = [s for s in range(1, WEDGE_STEPS + 1) if s not in seen]
    if missing:
        raise ReadingError("readings", f"missing step {', '.join(map(str, missing))}: the wedge has "
                                       f"{WEDGE_STEPS} steps, each needs a reading; got {k.size}")
    order = np.array([seen[s] for s in range(1, WEDGE_STEPS + 1)], dtype=np.int64)
    od = d[order]
    for s in range(1, WEDGE_STEPS):
        if od[s] > od[s - 1]:
            i = int(order[s])
            raise ReadingError(f"readings[{i}].density",
                               f"{od[s]:g} OD at step {s + 1} is above {od[s - 1]:g} OD at step {s}: "
                               f"density must not rise as the steps get lighter (re-measure, or "
                               f"check the steps' order)", i)
    if od[-1] >= od[0]:
        raise ReadingError("readings", f"density does not fall from step 1 ({od[0]:g} OD) to step "
                                       f"{WEDGE_STEPS} ({od[-1]:g} OD): was the wedge printed?")
    return WedgeReadings(od, order)


def parse_wedge_csv(text: str, name: str = "<text>", bits: int | None = None) -> WedgeReadings:
    """Parse and validate wedge readings as CSV: a header ``step,density`` or ``pvalue,density``
    (any case; ``#`` lines and blank lines skipped), then one row per step, in any order.

    Raises
    ------
    InputFileError
        A malformed file or invalid readings, naming ``name`` and the line.
    """
    first = next((line.strip() for line in text.splitlines()
                  if line.strip() and not line.lstrip().startswith("#")), "")
    by = "pvalue" if first.split(",")[0].strip().lower() == "pvalue" else "step"
    keys, density, lines = csv_pairs(text, HEADERS[by], name,
                                     " (or 'pvalue,density')" if by == "step" else "")
    with reading_lines(name, lines):
        return check_wedge_readings(keys, density, by, bits)


def wedge_csv(readings: WedgeReadings) -> str:
    """The readings as CSV ``step,density``, the format :func:`parse_wedge_csv` reads (export)."""
    rows = ["step,density"] + [f"{s},{float(d):.6g}" for s, d in zip(readings.steps, readings.density)]
    return "\n".join(rows) + "\n"


def printer_curve(readings: WedgeReadings, illumination: float, ambient: float,
                  source: str = "step wedge") -> CharacteristicCurve:
    """The printer's characteristic curve (drive level → OD) from wedge readings, with the light-box
    conditions of the films it prints (module docstring: equal readings get a tiny slope)."""
    rank = np.arange(WEDGE_STEPS - 1, -1, -1, dtype=np.float64)
    values = readings.density + PLATEAU_SLOPE * rank
    return CharacteristicCurve(PRINTER, WEDGE_DRIVE_LEVELS, values, MAX_DDL, ambient=float(ambient),
                               illumination=float(illumination), source=source)


@dataclass(frozen=True, eq=False)
class PrinterCalibration:
    """What a wedge measurement gives: the curve, its calibration LUT and the densities it predicts.

    Attributes
    ----------
    readings : WedgeReadings
    curve : CharacteristicCurve
        Drive level → OD (18 points, interpolated monotonically).
    lut : CalibrationLUT
        8-bit input P-value → drive level.
    target_od : numpy.ndarray
        The GSDF density of each input level between the measured Dmin and Dmax (PS3.14 §7.2).
    predicted_od : numpy.ndarray
        The density the printer gives at the LUT's drive level for each input level.
    """

    readings: WedgeReadings
    curve: CharacteristicCurve
    lut: CalibrationLUT
    target_od: np.ndarray
    predicted_od: np.ndarray

    @property
    def dmin(self) -> float:
        return self.readings.dmin

    @property
    def dmax(self) -> float:
        return self.readings.dmax

    @property
    def max_od_error(self) -> float:
        """Largest ``|predicted − target|`` density over the input levels (the LUT's quantisation
        to whole drive levels)."""
        return float(np.max(np.abs(self.predicted_od - self.target_od)))


def printer_calibration(readings: WedgeReadings, illumination: float, ambient: float,
                        source: str = "step wedge") -> PrinterCalibration:
    """Characteristic curve, calibration LUT and predicted densities of a printer (module
    docstring).

    Parameters
    ----------
    readings : WedgeReadings
        From :func:`check_wedge_readings` or :func:`parse_wedge_csv`.
    illumination, ambient : float
        Light-box luminance L0 and reflected ambient light La (cd/m²) of the films it prints.
    """
    curve = printer_curve(readings, illumination, ambient, source)
    lut = calibration_lut(curve, levels=LUT_LEVELS)
    per_ddl = values_at_all_ddls(curve)
    target = od_from_luminance(lut.target, curve.effective_illumination, curve.effective_ambient)
    return PrinterCalibration(readings, curve, lut, target, per_ddl[lut.output])


def curve_points(ddl: Sequence[int], od: Sequence[float], illumination: float, ambient: float,
                 source: str) -> CharacteristicCurve:
    """A stored curve (drive levels and densities as saved) as a :class:`CharacteristicCurve`."""
    return CharacteristicCurve(PRINTER, np.asarray(ddl), np.asarray(od), MAX_DDL,
                               ambient=float(ambient), illumination=float(illumination),
                               source=source)


def dcmtk_printer_characteristic(curve: CharacteristicCurve, title: str = "") -> str:
    """A printer's curve as a DCMTK characteristic file (``printer.lut`` format: ``max``, ``lum``
    L0, ``amb`` La, then ``DDL OD`` pairs), which :func:`printserver.gsdf.curves.
    read_characteristic_file` and ``printserver gsdf lut --printer-file`` read. The densities are
    the curve's (equal readings keep their tiny slope, so that the file interpolates)."""
    lines = [f"# {line}" for line in (title or "printer characteristic curve").splitlines()]
    lines += ["# written by printserver: drive level and optical density of the step wedge",
              f"max {curve.max_ddl}", f"lum {curve.effective_illumination:.10g}",
              f"amb {curve.effective_ambient:.10g}"]
    lines += [f"{int(d)} {float(od):.10g}" for d, od in zip(curve.ddl, curve.values)]
    return "\n".join(lines) + "\n"
