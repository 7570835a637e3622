"""A display's calibration LUT from its TG18-LN readings, and the LUT as text for other tools.

The 18 readings are the display's characteristic curve (DDL → luminance, PS3.14 Annex C), sampled;
:mod:`printserver.gsdf.curves` interpolates it monotonically to every DDL and
:func:`printserver.gsdf.calibration.calibration_lut` picks, for each input level, the DDL whose
luminance (ambient light included) is nearest the GSDF target between the display's own L'min and
L'max: the same computation as ``printserver gsdf lut --monitor-file``. Three text forms:

* :func:`lut_csv`: ``input,output`` (as ``printserver gsdf lut`` writes);
* :func:`dcmtk_characteristic`: the readings as a **DCMTK characteristic file** (the format of
  DCMTK's ``monitor.lut``: ``max``, ``amb``, then ``DDL luminance`` pairs), from which DCMTK
  (``dcmdspfn +Im``) and ``printserver gsdf lut --monitor-file`` compute the same LUT;
* :func:`argyll_cal`: an **ArgyllCMS calibration file** (``.cal``, CGATS text: ``CAL`` identifier,
  ``DEVICE_CLASS "DISPLAY"``, ``COLOR_REP "RGB"``, fields ``RGB_I RGB_R RGB_G RGB_B`` normalised to
  0 … 1, one set per input level), which ``dispwin`` loads into the video card's LUT; R = G = B
  for a grayscale calibration (ArgyllCMS documentation, "Calibration Format File (.cal)").

All functions are pure (text in, text out).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from printserver.errors import ParameterError
from printserver.gsdf.calibration import CalibrationLUT, calibration_lut
from printserver.gsdf.conformance import Readings
from printserver.gsdf.curves import MONITOR, CharacteristicCurve

#: entries of a video card LUT, and of the ``.cal`` file ``dispwin`` loads
VIDEO_LUT_LEVELS = 256


@dataclass(frozen=True, eq=False)
class DisplayLUT:
    """A display's calibration LUT.

    Attributes
    ----------
    lut : CalibrationLUT
        Input level → device DDL (``lut.output``), with the GSDF targets and achieved luminances.
    max_ddl : int
        The device's highest DDL (255 for TG18-LN8 readings, 4080 for TG18-LN12 readings).
    """

    lut: CalibrationLUT
    max_ddl: int

    @property
    def levels(self) -> int:
        return self.lut.levels

    @property
    def output_fraction(self) -> np.ndarray:
        """Each input level's DDL as a fraction of the device's range (0 … 1)."""
        return self.lut.output / float(self.max_ddl)


def display_curve(readings: Readings) -> CharacteristicCurve:
    """The display's characteristic curve from its readings (ambient light kept with it)."""
    return CharacteristicCurve(MONITOR, readings.ddl, readings.luminance, int(readings.ddl[-1]),
                               ambient=readings.ambient, source=f"{readings.level_set} readings")


def display_lut(readings: Readings, levels: int = VIDEO_LUT_LEVELS) -> DisplayLUT:
    """The LUT that makes the measured display follow the GSDF between its own L'min and L'max.

    Parameters
    ----------
    readings : Readings
        Validated readings (:func:`printserver.gsdf.conformance.check_readings`), starting at DDL 0.
    levels : int
        Input levels, 2**bits for 8 … 16 bits (default 256, a video card LUT).

    Raises
    ------
    ParameterError
        Readings that do not start at DDL 0 (``ddl``); readings that do not strictly increase
        (``luminance``: equal readings cannot be inverted); ``levels`` not a power of two.
    """
    if readings.ddl[0] != 0:
        raise ParameterError("ddl", f"a calibration needs a reading at DDL 0; the first is DDL {readings.ddl[0]}")
    curve = display_curve(readings)
    if not curve.is_monotonic():
        k = int(np.nonzero(np.diff(readings.luminance) <= 0)[0][0])
        raise ParameterError("luminance", f"readings at DDL {readings.ddl[k]} and {readings.ddl[k + 1]} are "
                                          f"equal: the display cannot be calibrated over that step")
    return DisplayLUT(calibration_lut(curve, levels=levels), curve.max_ddl)


def lut_csv(lut: DisplayLUT) -> str:
    """``input,output`` CSV: input level → device DDL."""
    return "input,output\n" + "".join(f"{i},{ddl}\n" for i, ddl in enumerate(lut.lut.output.tolist()))


def dcmtk_characteristic(readings: Readings, title: str = "") -> str:
    """The readings as a DCMTK characteristic file (monitor; luminance without ambient light)."""
    lines = [f"# {line}" for line in (title or f"{readings.level_set} readings").splitlines()]
    lines += ["# written by printserver: DDL and luminance in cd/m2 without ambient light",
              f"max {int(readings.ddl[-1])}", f"amb {readings.ambient:.10g}"]
    lines += [f"{int(d)} {float(lum):.10g}" for d, lum in zip(readings.ddl, readings.luminance)]
    return "\n".join(lines) + "\n"


def argyll_cal(lut: DisplayLUT, description: str = "GSDF calibration", created: str | None = None
               ) -> str:
    """The LUT as an ArgyllCMS ``.cal`` file for ``dispwin`` (module docstring).

    Parameters
    ----------
    lut : DisplayLUT
        The calibration (normally 256 levels).
    description : str
        The ``DESCRIPTOR`` text (double quotes are replaced by single ones).
    created : str, optional
        The ``CREATED`` text (e.g. a date); omitted when None, so the output depends only on
        the inputs.
    """
    quote = lambda text: '"' + str(text).replace('"', "'").replace("\n", " ") + '"'  # noqa: E731
    head = ["CAL", "", f"DESCRIPTOR {quote(description)}", f"ORIGINATOR {quote('printserver')}"]
    if created is not None:
        head.append(f"CREATED {quote(created)}")
    head += ['KEYWORD "DEVICE_CLASS"', 'DEVICE_CLASS "DISPLAY"',
             'KEYWORD "COLOR_REP"', 'COLOR_REP "RGB"',
             'KEYWORD "VIDEO_LUT_CALIBRATION_POSSIBLE"', 'VIDEO_LUT_CALIBRATION_POSSIBLE "YES"',
             "", "NUMBER_OF_FIELDS 4", "BEGIN_DATA_FORMAT", "RGB_I RGB_R RGB_G RGB_B", "END_DATA_FORMAT",
             "", f"NUMBER_OF_SETS {lut.levels}", "BEGIN_DATA"]
    inputs = np.arange(lut.levels) / float(lut.levels - 1)
    data = [f"{i:.8f} {v:.8f} {v:.8f} {v:.8f}" for i, v in zip(inputs, lut.output_fraction)]
    return "\n".join(head + data + ["END_DATA", ""])
