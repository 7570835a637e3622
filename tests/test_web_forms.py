"""web/forms.py: one table of fields per form, one error type naming the field."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from werkzeug.datastructures import MultiDict

from printserver.errors import ParameterError
from web.forms import Field, FieldError, Form

FILTER = Form(
    Field("state", choices=("QUEUED", "DONE"), upper=True),
    Field("printer", max_length=16, required=True),
    Field("limit", type=int, minimum=1, maximum=200, default=50),
    Field("ratio", type=float, minimum=0, maximum=1),
    Field("since", type=datetime),
    Field("day", type=date),
    Field("mine", type=bool),
    Field("password", strip=False),
)


def test_values_are_typed_and_defaults_fill_missing_fields():
    values = FILTER.parse(MultiDict({"state": " done ", "printer": "DRY1", "limit": "20",
                                     "ratio": "0.5", "since": "2026-03-01T10:00:00Z",
                                     "day": "2026-03-02", "mine": "on", "password": " a b ",
                                     "csrf_token": "ignored"}))
    assert values == {"state": "DONE", "printer": "DRY1", "limit": 20, "ratio": 0.5,
                      "since": datetime(2026, 3, 1, 10, tzinfo=timezone.utc),
                      "day": date(2026, 3, 2), "mine": True, "password": " a b "}
    assert FILTER.parse({"printer": "X"}) == {"state": None, "printer": "X", "limit": 50,
                                              "ratio": None, "since": None, "day": None,
                                              "mine": False, "password": None}
    naive = FILTER.parse({"printer": "X", "since": "2026-03-01T10:00"})["since"]
    assert naive.tzinfo is timezone.utc


@pytest.mark.parametrize("data, field, message", [
    ({}, "printer", "printer is required"),
    ({"printer": "   "}, "printer", "printer is required"),
    ({"printer": "X" * 17}, "printer", "at most 16 characters"),
    ({"printer": "X", "state": "LOST"}, "state", "must be one of QUEUED, DONE"),
    ({"printer": "X", "limit": "ten"}, "limit", "must be a whole number"),
    ({"printer": "X", "limit": "0"}, "limit", "must be at least 1"),
    ({"printer": "X", "limit": "201"}, "limit", "must be at most 200"),
    ({"printer": "X", "ratio": "nan"}, "ratio", "must be a finite number"),
    ({"printer": "X", "ratio": "2"}, "ratio", "must be at most 1"),
    ({"printer": "X", "since": "yesterday"}, "since", "must be a time like"),
    ({"printer": "X", "day": "2026-13-01"}, "day", "must be a date like"),
    ({"printer": "X\x00"}, "printer", "NUL"),
    (MultiDict([("printer", "A"), ("printer", "B")]), "printer", "more than once"),
])
def test_the_first_wrong_field_is_named(data, field, message):
    with pytest.raises(FieldError) as wrong:
        FILTER.parse(data)
    assert wrong.value.parameter == field and message in wrong.value.message
    assert isinstance(wrong.value, ParameterError) and str(wrong.value).startswith(f"{field}: ")


def test_a_field_appears_once_in_its_table():
    with pytest.raises(ValueError, match="twice"):
        Form(Field("a"), Field("a"))
