"""Form and query validation as a table of fields, the idea of ``printserver/scp/attributes.py``.

Each form (or query) is one :class:`Form`: a tuple of :class:`Field` rows saying the field's
name, type, whether it is required, its longest length or its range, and its allowed values.
:meth:`Form.parse` turns ``request.form`` or ``request.args`` into typed values, or raises one
:class:`FieldError` naming the first field that is wrong, with a message fit for the form::

    JOB_FILTER = Form(
        Field("state", choices=tuple(s.value for s in JobState), upper=True),
        Field("printer", max_length=16),
        Field("since", type=datetime),
        Field("limit", type=int, minimum=1, maximum=200, default=50),
    )

    values = JOB_FILTER.parse(request.args)   # {"state": "QUEUED", "printer": None, ...}

A :class:`FieldError` is a :class:`~printserver.errors.ParameterError`: on ``/api/`` it becomes
400 ``{"error": "limit: must be at most 200", "field": "limit"}``; a page catches it and shows
``error.message`` beside ``error.parameter``'s input. Fields not in the table (``csrf_token``)
are ignored; oversized values are refused, never cut.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from printserver.errors import ParameterError

#: longest text a field takes unless its row says otherwise
DEFAULT_MAX_LENGTH = 200


class FieldError(ParameterError):
    """One field of a form or query is wrong.

    Attributes
    ----------
    parameter : str
        The field's name.
    message : str
        What is wrong, without the field's name (for display beside it).
    """

    def __init__(self, field: str, message: str) -> None:
        self.message = message
        super().__init__(field, message)


@dataclass(frozen=True)
class Field:
    """One field of a :class:`Form`.

    Attributes
    ----------
    name : str
    type : type
        ``str``, ``int``, ``float``, ``bool`` (a checkbox: present and not ``0``/``false``/
        ``off`` is true), ``date`` (``YYYY-MM-DD``) or ``datetime`` (ISO 8601; without a zone
        it is taken as UTC; the value is always aware).
    required : bool
        An empty or missing value is refused (else it gives ``default``).
    max_length : int
        Longest text, in characters, before conversion.
    minimum, maximum : float or None
        Range of an ``int`` or ``float`` (inclusive).
    choices : tuple of str
        The allowed values of a ``str`` (after ``upper`` / ``lower``).
    strip : bool
        Remove surrounding blanks first (not for passwords).
    upper, lower : bool
        Compare and return the text in upper or lower case.
    default : Any
        The value of a missing or empty field that is not required.
    label : str
        The name the messages use (default: the field's name).
    """

    name: str
    type: type = str
    required: bool = False
    max_length: int = DEFAULT_MAX_LENGTH
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    strip: bool = True
    upper: bool = False
    lower: bool = False
    default: Any = None
    label: str = ""

    def parse(self, raw: str | None) -> Any:
        """The typed value of ``raw`` (None: the field was not sent). Raises :class:`FieldError`."""
        label = self.label or self.name
        if self.type is bool:
            return raw is not None and raw.strip().lower() not in ("", "0", "false", "off", "no")
        text = raw if raw is not None else ""
        if len(text) > self.max_length:
            raise FieldError(self.name, f"at most {self.max_length} characters")
        if self.strip:
            text = text.strip()
        if text == "":
            if self.required:
                raise FieldError(self.name, f"{label} is required")
            return self.default
        if self.upper:
            text = text.upper()
        elif self.lower:
            text = text.lower()
        if "\x00" in text:
            raise FieldError(self.name, "must not contain NUL characters")
        if self.type is str:
            if self.choices and text not in self.choices:
                raise FieldError(self.name, f"must be one of {', '.join(self.choices)}")
            return text
        if self.type in (int, float):
            return self._number(text)
        if self.type is date:
            try:
                return date.fromisoformat(text)
            except ValueError:
                raise FieldError(self.name, "must be a date like 2026-03-31") from None
        if self.type is datetime:
            try:
                value = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                raise FieldError(self.name, "must be a time like 2026-03-31T14:30:00Z") from None
            return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        raise TypeError(f"field {self.name}: unsupported type {self.type!r}")

    def _number(self, text: str) -> int | float:
        try:
            value: int | float = int(text) if self.type is int else float(text)
        except ValueError:
            kind = "a whole number" if self.type is int else "a number"
            raise FieldError(self.name, f"must be {kind}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise FieldError(self.name, "must be a finite number")
        if self.minimum is not None and value < self.minimum:
            raise FieldError(self.name, f"must be at least {self.minimum:g}")
        if self.maximum is not None and value > self.maximum:
            raise FieldError(self.name, f"must be at most {self.maximum:g}")
        return value


class Form:
    """A table of :class:`Field` rows (one per input of a form, or parameter of a query)."""

    def __init__(self, *fields: Field) -> None:
        names = [f.name for f in fields]
        if len(set(names)) != len(names):
            raise ValueError(f"a field appears twice in {names}")
        self.fields = fields

    def parse(self, data: Mapping[str, str]) -> dict[str, Any]:
        """Every field's typed value, by name. A field sent more than once is refused (one value
        per field). Raises :class:`FieldError` for the first field, in table order, that is
        wrong."""
        values: dict[str, Any] = {}
        for field in self.fields:
            getlist = getattr(data, "getlist", None)
            if getlist is not None and len(getlist(field.name)) > 1:
                raise FieldError(field.name, "was sent more than once")
            values[field.name] = field.parse(data.get(field.name))
        return values
