"""Characteristic curves of measured devices: reading them and evaluating them at every DDL.

A characteristic curve maps a device's digital driving levels (DDL 0 … max) to what was measured:
luminance in cd/m² for a monitor (measured without ambient light), optical density for a printer.
Two file formats are read:

* **DCMTK's text format** (as in DCMTK's ``monitor.lut`` / ``printer.lut``): ``#`` starts a comment up
  to the end of the line; the keyword ``max N`` (the maximum DDL) comes first; then optional
  ``amb X`` (reflected ambient light, cd/m²), ``lum X`` (illumination of a printer's light box, cd/m²)
  and ``ord N`` (order of the polynomial to fit; 0 or absent = interpolate); then one ``DDL value``
  pair per line, DDLs increasing within 0 … max.
* **CSV** with the header ``ddl,luminance`` (monitor) or ``ddl,od`` (printer) and one row per
  measurement; ``#`` lines are comments.

Between measurements the curve is interpolated monotonically (piecewise cubic Hermite, which keeps a
monotonic measurement monotonic and never overshoots) or, when the file asks with ``ord N``, fitted by
a least-squares polynomial of order N over the measured points, as DCMTK does (the fit is made in the
file's own unit: luminance for monitors, optical density for printers).

Only :func:`read_characteristic_file` reads files; everything else is a pure function.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from printserver.errors import InputFileError, ParameterError
from printserver.gsdf.hardcopy import (DEFAULT_ILLUMINATION, DEFAULT_REFLECTED_AMBIENT_LIGHT,
                                       luminance_from_od)

MONITOR = "monitor"
PRINTER = "printer"
#: the value each kind of device measures, as named in the CSV header
MEASURED_QUANTITY = {MONITOR: "luminance", PRINTER: "od"}
#: highest polynomial order accepted (DCMTK's dcmdspfn accepts 0 … 99; high orders are ill-conditioned)
MAX_ORDER = 99


@dataclass(frozen=True, eq=False)
class CharacteristicCurve:
    """Measurements of one device (a monitor or a printer).

    Attributes
    ----------
    kind : {"monitor", "printer"}
    ddl : numpy.ndarray
        Measured DDLs, strictly increasing, int64.
    values : numpy.ndarray
        Luminance in cd/m² without ambient light (monitor) or optical density (printer), float64.
    max_ddl : int
        The device's highest DDL (``max`` of the file; the last DDL of a CSV).
    ambient : float or None
        Reflected ambient light from the file (cd/m²), None when the file gives none.
    illumination : float or None
        Light-box illumination L0 from the file (printers, cd/m²), None when the file gives none.
    order : int
        Polynomial order to fit; 0 means monotonic interpolation.
    source : str
        Where the curve came from (a path), for messages.
    """

    kind: str
    ddl: np.ndarray
    values: np.ndarray
    max_ddl: int
    ambient: float | None = None
    illumination: float | None = None
    order: int = 0
    source: str = "<array>"

    def __post_init__(self) -> None:
        if self.kind not in MEASURED_QUANTITY:
            raise ParameterError("kind", f"must be 'monitor' or 'printer'; got {self.kind!r}")
        ddl = np.asarray(self.ddl, dtype=np.int64)
        values = np.asarray(self.values, dtype=np.float64)
        object.__setattr__(self, "ddl", ddl)
        object.__setattr__(self, "values", values)
        if ddl.ndim != 1 or ddl.shape != values.shape or ddl.size < 2:
            raise ParameterError("ddl", "need at least two (DDL, value) measurements of equal count")
        if np.any(np.diff(ddl) <= 0) or ddl[0] < 0 or ddl[-1] > self.max_ddl:
            raise ParameterError("ddl", f"DDLs must increase strictly within 0 … {self.max_ddl}")
        if not np.all(np.isfinite(values)) or values.min() < 0:
            raise ParameterError(self.quantity, "measured values must be finite and ≥ 0")
        if not 0 <= self.order <= MAX_ORDER:
            raise ParameterError("ord", f"polynomial order must be 0 … {MAX_ORDER}; got {self.order}")

    @property
    def quantity(self) -> str:
        """``"luminance"`` (monitor) or ``"od"`` (printer)."""
        return MEASURED_QUANTITY[self.kind]

    def with_conditions(self, ambient: float | None = None, illumination: float | None = None,
                        order: int | None = None) -> "CharacteristicCurve":
        """A copy with the viewing conditions or fit order overridden (None keeps the file's).

        Raises
        ------
        ParameterError
            ``ambient`` below 0 or ``illumination`` not above 0 (cd/m²).
        """
        if ambient is not None and not ambient >= 0:
            raise ParameterError("ambient", f"must be ≥ 0 cd/m²; got {ambient:g}")
        if illumination is not None and not illumination > 0:
            raise ParameterError("illumination", f"must be > 0 cd/m²; got {illumination:g}")
        return replace(self,
                       ambient=self.ambient if ambient is None else float(ambient),
                       illumination=self.illumination if illumination is None else float(illumination),
                       order=self.order if order is None else int(order))

    @property
    def effective_ambient(self) -> float:
        """Ambient light in use: the file's, else 0 for a monitor and 10 cd/m² for a printer (§7.2 Note)."""
        if self.ambient is not None:
            return self.ambient
        return DEFAULT_REFLECTED_AMBIENT_LIGHT if self.kind == PRINTER else 0.0

    @property
    def effective_illumination(self) -> float:
        """Light-box luminance in use for a printer: the file's, else 2000 cd/m² (PS3.14 §7.2 Note)."""
        return DEFAULT_ILLUMINATION if self.illumination is None else self.illumination

    def is_monotonic(self) -> bool:
        """True when the measured values strictly increase or strictly decrease with DDL."""
        d = np.diff(self.values)
        return bool(np.all(d > 0) or np.all(d < 0))


def values_at_all_ddls(curve: CharacteristicCurve) -> np.ndarray:
    """The curve's value (luminance or OD) at every DDL 0 … max: fitted or interpolated.

    ``order > 0``: least-squares polynomial of that order through the measurements (as DCMTK's
    ``ord``; the order is lowered to ``points − 1`` when there are too few points).
    ``order == 0``: monotone piecewise-cubic (PCHIP) interpolation; the measurements must then be
    monotonic and cover DDL 0 and ``max``.

    Raises
    ------
    ParameterError
        Non-monotonic measurements or missing end points where interpolation needs them.
    """
    x = np.arange(curve.max_ddl + 1, dtype=np.float64)
    if curve.order > 0:
        order = min(curve.order, curve.ddl.size - 1)
        poly = np.polynomial.Polynomial.fit(curve.ddl.astype(np.float64), curve.values, order)
        return poly(x)
    if not curve.is_monotonic():
        raise ParameterError(curve.quantity, f"{curve.source}: measurements are not monotonic, so they "
                                             f"cannot be interpolated monotonically (see DDL "
                                             f"{_first_reversal(curve)})")
    if curve.ddl[0] != 0 or curve.ddl[-1] != curve.max_ddl:
        raise ParameterError("ddl", f"{curve.source}: measurements must include DDL 0 and {curve.max_ddl} "
                                    f"to be interpolated (or ask for a polynomial fit with ord)")
    if curve.ddl.size == curve.max_ddl + 1:
        return curve.values.copy()
    # imported here: scipy.interpolate takes about a second to import, and every printserver
    # command (not only the calibration ones) would pay for it at start-up
    from scipy.interpolate import PchipInterpolator

    return PchipInterpolator(curve.ddl.astype(np.float64), curve.values)(x)


def device_luminance(curve: CharacteristicCurve, values: np.ndarray | None = None) -> np.ndarray:
    """Luminance in cd/m² seen by the viewer at every DDL, ambient light included.

    Monitor: ``L + Lamb``; printer (film on a light box, PS3.14 §7.2): ``La + L0·10^(−OD)``.
    ``values`` are the curve's values per DDL (default :func:`values_at_all_ddls`).
    """
    if values is None:
        values = values_at_all_ddls(curve)
    if curve.kind == MONITOR:
        return values + curve.effective_ambient
    return luminance_from_od(values, curve.effective_illumination, curve.effective_ambient)


def measured_luminance_range(curve: CharacteristicCurve) -> tuple[float, float]:
    """``(L'min, L'max)``: the device's own extremes as measured, ambient light included."""
    lum = device_luminance(curve, curve.values)
    return float(lum.min()), float(lum.max())


def _first_reversal(curve: CharacteristicCurve) -> str:
    d = np.sign(np.diff(curve.values))
    main = 1.0 if curve.values[-1] >= curve.values[0] else -1.0
    bad = int(np.nonzero(d != main)[0][0])
    return f"{curve.ddl[bad]} → {curve.ddl[bad + 1]}"


# -- file readers ------------------------------------------------------------------------------

def read_characteristic_file(path: str | Path, kind: str) -> CharacteristicCurve:
    """Read a characteristic file in DCMTK's text format or in CSV (detected from its content).

    Parameters
    ----------
    path : str or Path
        The file.
    kind : {"monitor", "printer"}
        What it measures: luminance (monitor) or optical density (printer).

    Raises
    ------
    InputFileError
        Unreadable or malformed file: the message names the file, the line and the reason.
    """
    if kind not in MEASURED_QUANTITY:
        raise ParameterError("kind", f"must be 'monitor' or 'printer'; got {kind!r}")
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(name, None, f"cannot read: {exc.strerror if isinstance(exc, OSError) else exc}") from None
    first = next((line.strip() for line in text.splitlines()
                  if line.strip() and not line.lstrip().startswith("#")), "")
    if "," in first and first.split(",")[0].strip().lower() == "ddl":
        return parse_csv(text, kind, name)
    return parse_dcmtk(text, kind, name)


def parse_dcmtk(text: str, kind: str, name: str = "<text>") -> CharacteristicCurve:
    """Parse DCMTK's characteristic-file text (see the module docstring); errors name the line."""
    max_ddl: int | None = None
    keys: dict[str, float] = {}
    ddl: list[int] = []
    values: list[float] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        if len(fields) != 2:
            raise InputFileError(name, number, f"expected a keyword and a value or a 'DDL value' pair, "
                                               f"got {line!r}")
        key, text_value = fields
        if key.isalpha():
            key = key.lower()
            if key not in ("max", "amb", "lum", "ord"):
                raise InputFileError(name, number, f"unknown keyword {key!r} (known: max, amb, lum, ord)")
            if max_ddl is None and key != "max":
                raise InputFileError(name, number, f"keyword 'max' must come before {key!r}")
            if key in keys or (key == "max" and max_ddl is not None):
                raise InputFileError(name, number, f"keyword {key!r} given twice")
            if ddl:
                raise InputFileError(name, number, f"keyword {key!r} after the measurements")
            if key in ("max", "ord"):
                number_value = _int(text_value, name, number, key)
                if key == "max" and not 1 <= number_value <= 65535:
                    raise InputFileError(name, number, f"max must be 1 … 65535; got {number_value}")
                if key == "ord" and not 0 <= number_value <= MAX_ORDER:
                    raise InputFileError(name, number, f"ord must be 0 … {MAX_ORDER}; got {number_value}")
            else:
                number_value = _float(text_value, name, number, key)
                if number_value < 0 or (key == "lum" and number_value == 0):
                    raise InputFileError(name, number, f"{key} must be {'> 0' if key == 'lum' else '≥ 0'} "
                                                       f"cd/m²; got {text_value}")
            if key == "max":
                max_ddl = int(number_value)
            else:
                keys[key] = number_value
            continue
        if max_ddl is None:
            raise InputFileError(name, number, "measurements before the keyword 'max'")
        d = _int(key, name, number, "DDL")
        v = _float(text_value, name, number, MEASURED_QUANTITY[kind])
        _check_point(d, v, ddl, max_ddl, kind, name, number)
        ddl.append(d)
        values.append(v)
    if max_ddl is None:
        raise InputFileError(name, None, "no 'max' keyword: not a characteristic file")
    if len(ddl) < 2:
        raise InputFileError(name, None, f"needs at least two measurements, found {len(ddl)}")
    return CharacteristicCurve(kind, np.array(ddl), np.array(values), max_ddl,
                               ambient=keys.get("amb"), illumination=keys.get("lum"),
                               order=int(keys.get("ord", 0)), source=name)


def parse_csv(text: str, kind: str, name: str = "<text>") -> CharacteristicCurve:
    """Parse CSV with header ``ddl,luminance`` (monitor) or ``ddl,od`` (printer)."""
    quantity = MEASURED_QUANTITY[kind]
    ddl: list[int] = []
    values: list[float] = []
    for number, cells in csv_rows(text, ("ddl", quantity), name, f" for a {kind}"):
        d = _int(cells[0], name, number, "ddl")
        v = _float(cells[1], name, number, quantity)
        _check_point(d, v, ddl, 65535, kind, name, number)
        ddl.append(d)
        values.append(v)
    if len(ddl) < 2:
        raise InputFileError(name, None, f"needs at least two measurements, found {len(ddl)}")
    return CharacteristicCurve(kind, np.array(ddl), np.array(values), ddl[-1], source=name)


def csv_rows(text: str, header: tuple[str, ...], name: str = "<text>", context: str = ""
             ) -> Iterator[tuple[int, list[str]]]:
    """``(line number, cells)`` of each data row of a CSV text with a fixed header.

    Blank lines and lines starting with ``#`` are skipped; the first other line must be ``header``
    (any case). Raises :class:`InputFileError` naming the line for a wrong header or a row with
    another number of columns, and for a file without a header; ``context`` ends the header
    message (e.g. ``" for a monitor"``).
    """
    header_seen = False
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [c.strip() for c in row]
        if not cells or not any(cells) or cells[0].startswith("#"):
            continue
        if not header_seen:
            if [c.lower() for c in cells] != list(header):
                raise InputFileError(name, number, f"header must be '{','.join(header)}'{context}; "
                                                   f"got {','.join(cells)!r}")
            header_seen = True
            continue
        if len(cells) != len(header):
            raise InputFileError(name, number, f"expected {len(header)} columns, got {len(cells)}")
        yield number, cells
    if not header_seen:
        raise InputFileError(name, None, f"empty file: expected the header '{','.join(header)}'")


def _check_point(d: int, v: float, previous: list[int], max_ddl: int, kind: str, name: str,
                 number: int) -> None:
    if not 0 <= d <= max_ddl:
        raise InputFileError(name, number, f"DDL {d} outside 0 … {max_ddl}")
    if previous and d <= previous[-1]:
        raise InputFileError(name, number, f"DDL {d} does not follow DDL {previous[-1]} in increasing order")
    if v < 0:
        raise InputFileError(name, number, f"negative {MEASURED_QUANTITY[kind]} {v:g}")


def _int(text: str, name: str, number: int, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise InputFileError(name, number, f"{what} must be an integer; got {text!r}") from None


def _float(text: str, name: str, number: int, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputFileError(name, number, f"{what} must be a number; got {text!r}") from None
    if not math.isfinite(value):
        raise InputFileError(name, number, f"{what} must be finite; got {text!r}")
    return value
