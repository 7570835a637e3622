"""Luminance readings as CSV: the file ``printserver qc evaluate`` reads (DESIGN "CLI" contract).

Format: a header ``ddl,luminance`` (any case), then one ``DDL,cd/m²`` row per reading, the
luminance measured **without** ambient light (the ambient light is given separately). Blank lines and
lines starting with ``#`` are skipped; the rows may come in any order. Example::

    # TG18-LN8 readings, workstation RAD-3 left, 2026-05-04
    ddl,luminance
    0,0.52
    15,1.31
    ...
    255,402.0

Every error names the file and the line (:class:`printserver.errors.InputFileError`): a malformed row
at once, a set-level problem (non-monotonic luminance, a DDL given twice, a DDL that is not a level)
at the line of the reading concerned, a missing level without a line.
:func:`parse_readings_csv` is pure; :func:`read_readings_csv` reads the file.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from numpy.typing import ArrayLike

from printserver.errors import InputFileError
from printserver.gsdf.conformance import Readings, ReadingError, check_readings
from printserver.gsdf.curves import _float, _int, csv_rows

HEADER = ("ddl", "luminance")


def parse_readings_csv(text: str, name: str = "<text>", ambient: float = 0.0,
                       levels: ArrayLike | None = None) -> Readings:
    """Parse and validate CSV readings (module docstring).

    Parameters
    ----------
    text : str
        The file's content.
    name : str
        The file's name, for messages.
    ambient, levels
        As :func:`printserver.gsdf.conformance.check_readings`.

    Raises
    ------
    InputFileError
        Malformed file or invalid readings, naming ``name`` and the line.
    ParameterError
        An invalid ``ambient`` (not the file's fault).
    """
    ddl, luminance, lines = csv_pairs(text, HEADER, name)
    with reading_lines(name, lines):
        return check_readings(ddl, luminance, ambient, levels)


def csv_pairs(text: str, header: tuple[str, str], name: str = "<text>", context: str = ""
              ) -> tuple[list[int], list[float], list[int]]:
    """``(keys, values, line numbers)`` of a two-column CSV of readings: an integer key (a DDL, a
    step) and a number per row, under ``header`` (:func:`printserver.gsdf.curves.csv_rows`);
    :class:`InputFileError` naming the line for a malformed row."""
    keys: list[int] = []
    values: list[float] = []
    lines: list[int] = []
    for number, cells in csv_rows(text, header, name, context):
        keys.append(_int(cells[0], name, number, header[0]))
        values.append(_float(cells[1], name, number, header[1]))
        lines.append(number)
    return keys, values, lines


@contextmanager
def reading_lines(name: str, lines: Sequence[int]) -> Iterator[None]:
    """Turn a :class:`ReadingError` about reading ``i`` into an :class:`InputFileError` at
    ``lines[i]`` of the file ``name`` (no line for an error about the whole set)."""
    try:
        yield
    except ReadingError as exc:
        line = lines[exc.index] if exc.index is not None else None
        raise InputFileError(name, line, str(exc)) from None


def read_readings_csv(path: str | Path, ambient: float = 0.0,
                      levels: ArrayLike | None = None) -> Readings:
    """Read and validate a readings CSV file (see :func:`parse_readings_csv`)."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else f"not UTF-8 text ({exc.reason})"
        raise InputFileError(name, None, f"cannot read: {reason}") from None
    return parse_readings_csv(text, name, ambient, levels)


def readings_csv(ddl: Sequence[int] | ArrayLike, luminance: Sequence[float] | ArrayLike) -> str:
    """Readings as CSV text in the format :func:`parse_readings_csv` reads (for export)."""
    rows = [",".join(HEADER)]
    rows += [f"{int(d)},{float(lum):.10g}" for d, lum in zip(ddl, luminance)]  # type: ignore[arg-type]
    return "\n".join(rows) + "\n"
