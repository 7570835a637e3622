"""The query parameters of the job and association listings, parsed and checked in one place.

The JSON API (``GET /api/jobs?state=&printer=&calling_ae=&since=&until=&text=&order=&limit=
&cursor=``) and the admin pages' filter forms hand their query string (a mapping of strings,
e.g. Flask's ``request.args``) to :func:`parse_job_query` or :func:`parse_association_query`
and get a filter, a page size and a cursor, or a :class:`~printserver.errors.ParameterError`
naming the parameter and what is expected. Each listing's parameters are one table of
:class:`Field` s (name, longest value, parser), after the rule tables of
:mod:`printserver.scp.attributes`.

Values:

* empty values count as not given; a parameter given twice is refused (``state`` and
  ``outcome`` take several values, comma-separated);
* **times** are ISO 8601 with a time zone (``2026-01-05T10:00:00Z``,
  ``2026-01-05T11:00:00+01:00``). A **date alone** (``2026-01-05``) is a day in the server's
  time zone (the ``TZ`` of the process, else the system's): ``since`` from its 00:00, ``until``
  to its end (the next day's 00:00, not included), so that ``since=D&until=D`` is the whole day
  D. A time without a zone is refused: it would be read differently by browser and server;
* ``limit`` is 1 … :data:`MAX_LIMIT` (default :data:`DEFAULT_LIMIT`); ``cursor`` is the ``next``
  of the previous page, as it was given.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from printserver.errors import ParameterError
from printserver.jobs import cursors
from printserver.jobs.association_log import AssociationFilter, AssociationOutcome
from printserver.jobs.model import JobFilter, JobState

#: the largest page a listing gives
MAX_LIMIT = 200
#: the page size when ``limit`` is not given
DEFAULT_LIMIT = 50
#: an AE title: 1 to 16 characters of the default repertoire, no backslash (PS3.5 6.2)
_AE_TITLE = re.compile(r"[\x20-\x5b\x5d-\x7e]{1,16}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TRUE, _FALSE = frozenset({"1", "true", "yes", "on", "y"}), frozenset({"0", "false", "no", "off",
                                                                       "n"})


def start_of_day(day: date) -> datetime:
    """00:00 of ``day`` in the server's time zone, timezone-aware (daylight saving applied)."""
    return datetime.combine(day, time.min).astimezone()


def check_limit(limit: int) -> int:
    """``limit`` if it is 1 … :data:`MAX_LIMIT`; else :class:`ParameterError`."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ParameterError("limit", f"{limit}: expected 1 to {MAX_LIMIT}")
    return limit


# -- one parser per kind of value: (parameter name, text) → value --------------------------------
def _ae_title(name: str, text: str) -> str:
    if not _AE_TITLE.fullmatch(text):
        raise ParameterError(name, f"{text!r} is not an AE title (1 to 16 characters, no "
                                   "backslash)")
    return text


def _plain(name: str, text: str) -> str:
    if any(ord(c) < 0x20 for c in text):
        raise ParameterError(name, "control characters are not allowed")
    return text


def _states(name: str, text: str) -> tuple[JobState, ...]:
    states = []
    for word in filter(None, (w.strip().upper() for w in text.split(","))):
        try:
            states.append(JobState(word))
        except ValueError:
            raise ParameterError(name, f"{word!r} is not one of "
                                       f"{', '.join(s.value for s in JobState)}") from None
    return tuple(dict.fromkeys(states))


def _outcomes(name: str, text: str) -> tuple[AssociationOutcome, ...]:
    outcomes = []
    for word in filter(None, (w.strip().lower() for w in text.split(","))):
        try:
            outcomes.append(AssociationOutcome(word))
        except ValueError:
            raise ParameterError(name, f"{word!r} is not one of "
                                       f"{', '.join(o.value for o in AssociationOutcome)}") from None
    return tuple(dict.fromkeys(outcomes))


def _address(name: str, text: str) -> str:
    """An IP address, kept as written (as the SCP records it: the socket's form)."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        raise ParameterError(name, f"{text!r} is not an IP address") from None
    return text


def _flag(name: str, text: str) -> bool:
    word = text.lower()
    if word in _TRUE or word in _FALSE:
        return word in _TRUE
    raise ParameterError(name, f"{text!r}: expected true or false")


def _time(name: str, text: str, end_of_day: bool = False) -> datetime:
    if _DATE.fullmatch(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise ParameterError(name, f"{text!r} is not a date") from None
        return start_of_day(day + timedelta(days=1) if end_of_day else day)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ParameterError(name, f"{text!r} is not an ISO 8601 time (2026-01-05T10:00:00Z) "
                                   "or date (2026-01-05)") from None
    if when.tzinfo is None:
        raise ParameterError(name, f"{text!r} has no time zone: add Z or an offset "
                                   "(2026-01-05T10:00:00+01:00), or give a date alone")
    return when


def _until(name: str, text: str) -> datetime:
    return _time(name, text, end_of_day=True)


def _limit(name: str, text: str) -> int:
    if not text.isdigit():
        raise ParameterError(name, f"{text!r}: expected a whole number 1 to {MAX_LIMIT}")
    return check_limit(int(text))


def _order(name: str, text: str) -> bool:
    """True for oldest first."""
    if text.lower() not in ("newest", "oldest"):
        raise ParameterError(name, f"{text!r}: expected newest or oldest")
    return text.lower() == "oldest"


def _cursor(kinds: tuple[type, ...]) -> Callable[[str, str], str]:
    def parse(name: str, text: str) -> str:
        try:
            cursors.decode(text, kinds)
        except ValueError as exc:
            raise ParameterError(name, str(exc)) from None
        return text
    return parse


@dataclass(frozen=True)
class Field:
    """One query parameter: its name, the longest value accepted, and its parser."""

    name: str
    max_length: int
    parse: Callable[[str, str], Any]


def _table(*fields: Field) -> dict[str, Field]:
    return {f.name: f for f in fields}


#: the parameters of a job listing (``GET /api/jobs``, the Jobs page)
JOB_FIELDS = _table(
    Field("state", 100, _states),
    Field("printer", 16, _ae_title),
    Field("calling_ae", 16, _ae_title),
    Field("since", 40, _time),
    Field("until", 40, _until),
    Field("text", 64, _plain),
    Field("order", 6, _order),
    Field("limit", 4, _limit),
    Field("cursor", cursors.MAX_LENGTH, _cursor((str, str))),
)
#: the parameters of the association listing (the Associations page)
ASSOCIATION_FIELDS = _table(
    Field("calling_ae", 16, _ae_title),
    Field("peer", 45, _address),
    Field("outcome", 100, _outcomes),
    Field("failures", 5, _flag),
    Field("since", 40, _time),
    Field("until", 40, _until),
    Field("limit", 4, _limit),
    Field("cursor", cursors.MAX_LENGTH, _cursor((str, int))),
)


def parse_params(params: Mapping[str, str], fields: Mapping[str, Field],
                 extra: Collection[str] = ()) -> dict[str, Any]:
    """The parsed values of the parameters given (empty ones left out).

    Parameters
    ----------
    params
        Parameter name → value; a mapping with ``getlist`` (werkzeug's MultiDict) is also
        checked for parameters given more than once.
    fields
        The listing's table of :class:`Field` s.
    extra
        Names the caller handles itself (left alone); any other unknown name is refused.

    Raises
    ------
    ParameterError
        Naming the parameter: unknown, given twice, too long, or a value its parser refuses.
    """
    values: dict[str, Any] = {}
    getlist = getattr(params, "getlist", None)
    for name in params:
        if name in extra:
            continue
        spec = fields.get(name)
        if spec is None:
            raise ParameterError(str(name)[:40], "unknown parameter; expected one of "
                                                 + ", ".join(fields))
        if getlist is not None and len(getlist(name)) > 1:
            raise ParameterError(name, "given more than once")
        text = str(params[name]).strip()
        if len(text) > spec.max_length:
            raise ParameterError(name, f"at most {spec.max_length} characters")
        if text:
            values[name] = spec.parse(name, text)
    since, until = values.get("since"), values.get("until")
    if since is not None and until is not None and until <= since:
        raise ParameterError("until", "must be after since")
    return values


@dataclass(frozen=True)
class JobQuery:
    """A job listing asked for: which jobs, how many, from where, in which order."""

    where: JobFilter = field(default_factory=JobFilter)
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None
    oldest_first: bool = False


@dataclass(frozen=True)
class AssociationQuery:
    """An association listing asked for."""

    where: AssociationFilter = field(default_factory=AssociationFilter)
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None


def parse_job_query(params: Mapping[str, str], extra: Collection[str] = ()) -> JobQuery:
    """The job listing a query string asks for (:data:`JOB_FIELDS`, module docstring).

    Raises
    ------
    ParameterError
    """
    v = parse_params(params, JOB_FIELDS, extra)
    return JobQuery(JobFilter(states=v.get("state", ()), printer=v.get("printer", ""),
                              calling_ae=v.get("calling_ae", ""), since=v.get("since"),
                              until=v.get("until"), text=v.get("text", "")),
                    v.get("limit", DEFAULT_LIMIT), v.get("cursor"), v.get("order", False))


def parse_association_query(params: Mapping[str, str],
                            extra: Collection[str] = ()) -> AssociationQuery:
    """The association listing a query string asks for (:data:`ASSOCIATION_FIELDS`).

    Raises
    ------
    ParameterError
    """
    v = parse_params(params, ASSOCIATION_FIELDS, extra)
    return AssociationQuery(
        AssociationFilter(calling_ae=v.get("calling_ae", ""), peer_host=v.get("peer", ""),
                          outcomes=v.get("outcome", ()), failures_only=v.get("failures", False),
                          since=v.get("since"), until=v.get("until")),
        v.get("limit", DEFAULT_LIMIT), v.get("cursor"))
