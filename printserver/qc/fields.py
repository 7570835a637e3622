"""Input fields of the QC records as tables, checked by one function: the idea of
``printserver/scp/attributes.py`` (rules as a table, not ``if`` chains) for forms and API bodies.

Each record's fields are a tuple of :class:`Field`; :func:`clean` turns what a form or a JSON body
gives (strings or typed values) into typed values, and refuses anything else with a
:class:`~printserver.errors.ParameterError` whose ``parameter`` is the field's name, so that a page
can show the message beside the field. :func:`reading_pairs` does the same for a list of readings,
:func:`printer_of` for a printer's AE title.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from printserver.config import Config, PrinterConfig
from printserver.errors import ParameterError
from printserver.gsdf.conformance import ReadingError
from printserver.gsdf.qc_limits import Limits
from printserver.jobs.services import UnknownPrinterError

#: strings accepted for a boolean field (HTML checkboxes send "on")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class Field:
    """One input field.

    Attributes
    ----------
    name : str
    kind : {"text", "number", "bool", "choice"}
    required : bool
        Refused when absent or empty (otherwise absent / empty gives ``default``).
    max_length : int
        Longest text (characters), after surrounding whitespace is stripped.
    multiline : bool
        Text may hold line breaks and tabs (other control characters are always refused).
    minimum, maximum : float or None
        Bounds of a number (inclusive); ``above`` makes the minimum exclusive.
    choices : tuple of str
        The values of a choice (compared case-insensitively, stored as written here).
    default : object
        The value of an absent or empty optional field.
    """

    name: str
    kind: str = "text"
    required: bool = False
    max_length: int = 200
    multiline: bool = False
    minimum: float | None = None
    maximum: float | None = None
    above: bool = False
    choices: tuple[str, ...] = ()
    default: Any = None

    def clean(self, value: Any) -> Any:
        """``value`` as this field's type; :class:`ParameterError` naming the field otherwise."""
        if value is None or (isinstance(value, str) and not value.strip()):
            if self.required:
                raise ParameterError(self.name, "required")
            return self.default
        return getattr(self, f"_{self.kind}")(value)

    def _text(self, value: Any) -> str:
        if not isinstance(value, str):
            raise ParameterError(self.name, f"must be text; got {type(value).__name__}")
        text = value.strip()
        if len(text) > self.max_length:
            raise ParameterError(self.name, f"at most {self.max_length} characters; got {len(text)}")
        allowed = "\n\r\t" if self.multiline else ""
        if any(ord(c) < 32 and c not in allowed or ord(c) == 127 for c in text):
            raise ParameterError(self.name, "control characters are not allowed"
                                 + ("" if self.multiline else " (one line)"))
        return text

    def _number(self, value: Any) -> float:
        if isinstance(value, bool):
            raise ParameterError(self.name, f"must be a number; got {value!r}")
        try:
            number = float(value.strip().replace(",", ".") if isinstance(value, str) else value)
        except (TypeError, ValueError):
            raise ParameterError(self.name, f"must be a number; got {value!r}") from None
        if not math.isfinite(number):
            raise ParameterError(self.name, f"must be a finite number; got {value!r}")
        low, high = self.minimum, self.maximum
        if low is not None and (number <= low if self.above else number < low):
            raise ParameterError(self.name, f"must be {'above' if self.above else 'at least'} "
                                            f"{low:g}; got {number:g}")
        if high is not None and number > high:
            raise ParameterError(self.name, f"must be at most {high:g}; got {number:g}")
        return number

    def _bool(self, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ParameterError(self.name, f"must be true or false; got {value!r}")

    def _choice(self, value: Any) -> str:
        text = str(getattr(value, "value", value)).strip().lower()
        for choice in self.choices:
            if choice.lower() == text:
                return choice
        raise ParameterError(self.name, f"{value!r} is not one of {', '.join(map(repr, self.choices))}")


def clean(fields: Sequence[Field], values: Mapping[str, Any], partial: bool = False) -> dict[str, Any]:
    """Check ``values`` against ``fields``; return the typed values.

    Parameters
    ----------
    fields
        The record's field table.
    values
        What the caller gives; a key that is not a field is refused.
    partial
        Only the fields present in ``values`` are checked and returned (an update); otherwise
        every field is returned, absent ones with their default.

    Raises
    ------
    ParameterError
        Naming the first field that is wrong.
    """
    names = {f.name for f in fields}
    for key in values:
        if key not in names:
            raise ParameterError(str(key), f"not a field (known: {', '.join(sorted(names))})")
    return {f.name: f.clean(values.get(f.name)) for f in fields
            if not partial or f.name in values}


def reading_pairs(readings: Any, names: tuple[str, str]) -> tuple[list[float], list[float]]:
    """Readings given as a list of ``{names[0], names[1]}`` mappings or ``(a, b)`` pairs, numbers
    or numeric strings, as two lists of numbers (their values are checked by the caller).

    Raises
    ------
    ReadingError
        Naming ``readings`` (not a list), ``readings[i]`` (neither a mapping nor a pair, or an
        unknown key) or ``readings[i].<name>`` (not a number).
    """
    first, second = names
    if isinstance(readings, (str, bytes)) or not isinstance(readings, Sequence):
        raise ReadingError("readings", f"must be a list of {{{first}, {second}}} readings")
    columns: tuple[list[float], list[float]] = ([], [])
    for i, item in enumerate(readings):
        if isinstance(item, Mapping):
            unknown = set(item) - set(names)
            if unknown:
                raise ReadingError(f"readings[{i}]", f"unknown key {sorted(unknown)[0]!r} (a "
                                                     f"reading has {first} and {second})", i)
            pair = (item.get(first), item.get(second))
        elif isinstance(item, Sequence) and not isinstance(item, (str, bytes)) and len(item) == 2:
            pair = (item[0], item[1])
        else:
            raise ReadingError(f"readings[{i}]", f"must be {{{first}, {second}}} or a "
                                                 f"({first}, {second}) pair", i)
        for name, value, column in zip(names, pair, columns):
            try:
                if isinstance(value, bool):
                    raise TypeError
                column.append(float(value.strip() if isinstance(value, str) else value))
            except (TypeError, ValueError):
                raise ReadingError(f"readings[{i}].{name}", f"must be a number; got {value!r}",
                                   i) from None
    return columns


def printer_of(config: Config, ae_title: str) -> PrinterConfig:
    """The configured printer ``ae_title`` (exactly; no default printer).

    Raises
    ------
    UnknownPrinterError
    """
    for printer in config.printers:
        if printer.ae_title == str(ae_title).strip():
            return printer
    raise UnknownPrinterError(ae_title, (p.ae_title for p in config.printers))


def readings_source(inputs: Mapping[str, Any], what: str) -> str:
    """Which of ``readings`` (a list) and ``readings_csv`` (a file's text) an input gives:
    exactly one is required (:class:`ParameterError` naming ``readings``; ``what`` says what the
    readings are, for the message)."""
    given = [k for k in ("readings", "readings_csv") if inputs.get(k) not in (None, "", [])]
    if not given:
        raise ParameterError("readings", f"required: {what} (or a CSV file)")
    if len(given) == 2:
        raise ParameterError("readings", "give the readings or a CSV file, not both")
    return given[0]


def limit_overrides(limits: Any, base: Limits) -> dict[str, float | None]:
    """Overrides of the limits ``base`` as stored: each key a limit of ``base``, each value a
    positive number (a numeric string is accepted) or None / empty (criterion switched off).

    Raises
    ------
    ParameterError
        Naming ``limits.<key>``, or ``limits`` for something that is not a mapping.
    """
    if limits is None or limits == "":
        return {}
    if not isinstance(limits, Mapping):
        raise ParameterError("limits", "must be a mapping of limit name to value")
    out: dict[str, Any] = {}
    for key, value in limits.items():
        if isinstance(value, str):
            try:
                value = float(value) if value.strip() else None
            except ValueError:
                raise ParameterError(f"limits.{key}", f"must be a number; got {value!r}") from None
        out[str(key)] = value
    try:
        checked = base.with_overrides(out)
    except ParameterError as exc:
        raise ParameterError(f"limits.{exc.parameter}", str(exc).split(": ", 1)[-1]) from None
    return {key: getattr(checked, key) for key in out}
