"""Display QC sessions: check what was measured, evaluate it, save it with its results.

A session's input (a mapping, as a form or a JSON body gives it; :data:`SESSION_INPUTS` are the
keys):

* ``readings`` (a list of ``{"ddl", "luminance"}`` or ``(ddl, luminance)`` pairs) **or**
  ``readings_csv`` (the text of a ``ddl,luminance`` file, :mod:`printserver.gsdf.readings`): the
  18 TG18-LN readings without ambient light, 8- or 12-bit level set;
* ``ambient`` (Lamb, cd/m²), ``measured_at`` (ISO 8601 or a datetime; a time without zone is the
  server's local time; default now), ``photometer_model``, ``photometer_serial``, ``notes``;
* ``uniformity``: ``{"UN10": [5 or 9 cd/m²], "UN80": [...]}`` (optional, either level);
* ``visual``: ``{"TG18-QC": {"passed": true|false|null, "comment": "..."}, "TG18-CT": {...}}``.

:meth:`SessionService.evaluate` checks and evaluates without saving (what a page shows before the
user saves); :meth:`SessionService.record` does the same and saves the session with its results and
the limits used, in one transaction. Nothing is written before every input is checked, and a
refused input changes nothing already saved. Errors name the field: ``readings[3].luminance``,
``ambient``, ``uniformity.UN10[2]``, ``visual.TG18-QC.comment``, or, for a CSV, the file's line
(:class:`~printserver.errors.InputFileError`).

The session passes when the luminance response passes every limit
(:func:`~printserver.gsdf.conformance.evaluate_readings`), every uniformity level given passes,
and no visual check failed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from printserver.errors import ParameterError
from printserver.gsdf.conformance import (DisplayEvaluation, Readings, ReadingError, check_readings,
                                          evaluate_readings)
from printserver.gsdf.qc_limits import QCLimits
from printserver.gsdf.readings import parse_readings_csv
from printserver.gsdf.uniformity import Uniformity, evaluate_uniformity
from printserver.jobs.schema import stamp
from printserver.qc.errors import UnknownRecordError
from printserver.qc.fields import Field, clean, reading_pairs, readings_source
from printserver.qc.records import Display, HistoryPoint, QCSession
from printserver.qc.store import QCStore

#: the uniform fields a session may give readings of (TG18-UN10 / UN80, or UNL10 / UNL80)
UNIFORMITY_LEVELS = ("UN10", "UN80")
#: the visual checks a session records, with what the observer looks for (docs/qc.md §1)
VISUAL_CHECKS = {
    "TG18-QC": "all 16 patches and their corner squares distinct, the 5 % and 95 % squares "
               "visible, ramps smooth, line pairs resolved, letters readable",
    "TG18-CT": "all squares and half-moons visible",
}
#: longest comment of a visual check, and of a readings CSV text
MAX_COMMENT = 500
MAX_CSV = 100_000
#: how far in the future a measurement time may lie (clocks differ a little)
FUTURE_SLACK = timedelta(minutes=10)

SESSION_FIELDS = (
    Field("ambient", "number", minimum=0, maximum=4000, default=0.0),
    Field("photometer_model", max_length=64, default=""),
    Field("photometer_serial", max_length=64, default=""),
    Field("notes", max_length=2000, multiline=True, default=""),
    Field("readings_csv", max_length=MAX_CSV, multiline=True),
)
#: every key a session's input may have
SESSION_INPUTS = tuple(f.name for f in SESSION_FIELDS) + ("readings", "measured_at", "uniformity",
                                                           "visual")


def parse_time(value: Any, parameter: str = "measured_at") -> str:
    """A measurement time as a :func:`~printserver.jobs.schema.stamp` (UTC); None or empty → now.

    A time without a zone is the server's local time. Refused (naming ``parameter``): not ISO
    8601, before 1990, or later than now (plus a few minutes for clocks that differ).
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return stamp(datetime.now(timezone.utc))
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ParameterError(parameter, f"not a date and time (ISO 8601, e.g. "
                                            f"2026-05-04T10:30); got {value!r}") from None
    if not isinstance(value, datetime):
        raise ParameterError(parameter, f"must be a date and time; got {type(value).__name__}")
    when = value.astimezone(timezone.utc)  # naive: the server's local time
    if when.year < 1990:
        raise ParameterError(parameter, f"{value.isoformat()} is before 1990")
    if when > datetime.now(timezone.utc) + FUTURE_SLACK:
        raise ParameterError(parameter, f"{value.isoformat()} is in the future")
    return stamp(when)


def check_reading_list(readings: Any, ambient: float) -> Readings:
    """Readings given as a list of ``{"ddl", "luminance"}`` mappings or ``(ddl, luminance)`` pairs
    (numbers or numeric strings), validated by :func:`~printserver.gsdf.conformance.check_readings`.

    Raises
    ------
    ReadingError
        Naming ``readings[i].ddl``, ``readings[i].luminance`` or ``readings``.
    """
    ddl, luminance = reading_pairs(readings, ("ddl", "luminance"))
    return check_readings(ddl, luminance, ambient)


def check_uniformity(uniformity: Any, ambient: float, limits: QCLimits) -> dict[str, Uniformity]:
    """Uniformity readings per level (:data:`UNIFORMITY_LEVELS`), evaluated with ``limits``;
    errors name ``uniformity.UN10[2]`` (a reading) or ``uniformity.UN10`` (the set)."""
    if uniformity is None or uniformity == {}:
        return {}
    if not isinstance(uniformity, Mapping):
        raise ParameterError("uniformity", "must map UN10 / UN80 to their readings")
    out: dict[str, Uniformity] = {}
    for key, values in uniformity.items():
        level = str(key).strip().upper()
        if level not in UNIFORMITY_LEVELS:
            raise ParameterError(f"uniformity.{key}", f"not a uniformity level (known: "
                                                      f"{', '.join(UNIFORMITY_LEVELS)})")
        if values is None or (isinstance(values, Sequence) and len(values) == 0):
            continue
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
            raise ParameterError(f"uniformity.{level}", "must be a list of 5 or 9 luminances")
        try:
            numbers = [float(v.strip() if isinstance(v, str) else v) for v in values]
        except (TypeError, ValueError):
            raise ParameterError(f"uniformity.{level}", "every reading must be a number of "
                                                        "cd/m²") from None
        try:
            out[level] = evaluate_uniformity(numbers, ambient, limits)
        except ReadingError as exc:
            where = f"uniformity.{level}" + (f"[{exc.index}]" if exc.index is not None else "")
            raise ParameterError(where, str(exc).split(": ", 1)[-1]) from None
    return out


def check_visual(visual: Any) -> dict[str, dict[str, Any]]:
    """Visual checks: ``{name: {"passed": bool or None, "comment": str}}`` for names of
    :data:`VISUAL_CHECKS`; errors name ``visual.<name>.passed`` / ``.comment``."""
    if visual is None or visual == {}:
        return {}
    if not isinstance(visual, Mapping):
        raise ParameterError("visual", "must map TG18-QC / TG18-CT to {passed, comment}")
    out: dict[str, dict[str, Any]] = {}
    known = {name.upper(): name for name in VISUAL_CHECKS}
    for key, entry in visual.items():
        name = known.get(str(key).strip().upper())
        if name is None:
            raise ParameterError(f"visual.{key}", f"not a visual check (known: "
                                                  f"{', '.join(VISUAL_CHECKS)})")
        if not isinstance(entry, Mapping):
            raise ParameterError(f"visual.{name}", "must be {passed, comment}")
        fields = (Field(f"visual.{name}.passed", "bool"),
                  Field(f"visual.{name}.comment", max_length=MAX_COMMENT, multiline=True,
                        default=""))
        unknown = set(entry) - {"passed", "comment"}
        if unknown:
            raise ParameterError(f"visual.{name}.{sorted(unknown)[0]}", "not a field (known: "
                                                                       "passed, comment)")
        checked = clean(fields, {f"visual.{name}.{k}": v for k, v in entry.items()})
        out[name] = {"passed": checked[f"visual.{name}.passed"],
                     "comment": checked[f"visual.{name}.comment"]}
    return out


def _deviation(target: float | None, measured: float) -> dict[str, float | None]:
    if target is None:
        return {"target": None, "measured": measured, "deviation": None}
    return {"target": target, "measured": measured, "deviation": measured / target - 1.0}


@dataclass(frozen=True, eq=False)
class SessionResults:
    """A session checked and evaluated (saved or not).

    Attributes
    ----------
    evaluation : DisplayEvaluation
    uniformity : dict of str to Uniformity
    visual : dict
    limits : QCLimits
        The limits it was judged against (the display's now).
    failures : tuple of str
        Every failed criterion: a luminance-response limit (``contrast_response``), a uniformity
        limit (``UN80 max_uniformity_deviation``), a visual check (``visual TG18-CT``).
    results : dict
        What is stored (:attr:`printserver.qc.records.QCSession.results`).
    values : dict
        The session's row, ready to store.
    """

    evaluation: DisplayEvaluation
    uniformity: Mapping[str, Uniformity]
    visual: Mapping[str, Mapping[str, Any]]
    limits: QCLimits
    failures: tuple[str, ...]
    results: Mapping[str, Any]
    values: Mapping[str, Any]

    @property
    def passed(self) -> bool:
        return not self.failures


def evaluate_session(display: Display, inputs: Mapping[str, Any]) -> SessionResults:
    """Check and evaluate a session's input for ``display`` (module docstring); nothing is saved.

    Raises
    ------
    ParameterError
        A field that is wrong, named (:class:`ReadingError` for a reading).
    InputFileError
        ``readings_csv`` malformed or invalid, naming the line.
    """
    unknown = [k for k in inputs if k not in SESSION_INPUTS]
    if unknown:
        raise ParameterError(str(unknown[0]), f"not a field (known: {', '.join(SESSION_INPUTS)})")
    scalars = clean(SESSION_FIELDS, {k: v for k, v in inputs.items()
                                     if k in {f.name for f in SESSION_FIELDS}})
    ambient = float(scalars["ambient"])
    measured_at = parse_time(inputs.get("measured_at"))
    if readings_source(inputs, "the 18 TG18-LN readings") == "readings":
        readings = check_reading_list(inputs["readings"], ambient)
    else:
        readings = parse_readings_csv(scalars["readings_csv"], "readings.csv", ambient)
    limits = display.qc_limits
    evaluation = evaluate_readings(readings, display.display_class, limits)
    uniformity = check_uniformity(inputs.get("uniformity"), ambient, limits)
    visual = check_visual(inputs.get("visual"))

    failures = [c.name for c in evaluation.checks if c.kind == "limit" and c.passed is False]
    failures += [f"{level} {c.name}" for level, u in uniformity.items() for c in u.checks
                 if c.kind == "limit" and c.passed is False]
    failures += [f"visual {name}" for name, v in visual.items() if v["passed"] is False]
    response = evaluation.response
    results = {
        "evaluation": evaluation.as_dict(),
        "uniformity": {level: u.as_dict() for level, u in uniformity.items()},
        "visual": visual,
        "targets": {"lmax_prime": _deviation(display.target_lmax, response.lmax_prime),
                    "luminance_ratio": _deviation(display.target_luminance_ratio,
                                                  response.luminance_ratio)},
        "limits": limits.as_dict(), "display_class": display.display_class,
        "failures": failures, "pass": not failures}
    values = {
        "display_id": display.display_id, "measured_at": measured_at,
        "photometer_model": scalars["photometer_model"],
        "photometer_serial": scalars["photometer_serial"], "ambient": ambient,
        "display_class": display.display_class, "level_set": readings.level_set,
        "readings": [[int(d), float(lum)] for d, lum in zip(readings.ddl, readings.luminance)],
        "uniformity": {level: [float(v) for v in u.luminance] for level, u in uniformity.items()},
        "visual": visual, "results": results, "passed": not failures,
        "lmax_prime": response.lmax_prime, "luminance_ratio": response.luminance_ratio,
        "max_abs_kappa": response.max_abs_kappa,
        "notes": scalars["notes"]}
    return SessionResults(evaluation, uniformity, visual, limits, tuple(failures), results, values)


def session_readings(session: QCSession) -> Readings:
    """A stored session's readings, validated again (for its LUT and CSV downloads)."""
    return check_readings(session.ddl, session.luminance, session.ambient)


class SessionService:
    """Record and read display QC sessions."""

    def __init__(self, store: QCStore) -> None:
        self.store = store

    def _display(self, display_id: int) -> Display:
        display = self.store.display(int(display_id))
        if display is None:
            raise UnknownRecordError(f"no display {display_id}")
        return display

    def evaluate(self, display_id: int, inputs: Mapping[str, Any]) -> SessionResults:
        """Check and evaluate a session without saving it (see :func:`evaluate_session`)."""
        return evaluate_session(self._display(display_id), inputs)

    def record(self, display_id: int, inputs: Mapping[str, Any], actor: str) -> QCSession:
        """Check, evaluate and save a session of a display; ``actor`` is who measured.

        Returns the stored session (durable). Raises :class:`UnknownRecordError` for an unknown
        display, :class:`ParameterError` / :class:`InputFileError` for bad input (nothing saved).
        """
        display = self._display(display_id)
        if display.retired:
            raise ParameterError("display", f"display {display.name!r} is retired: put it back in "
                                            "service to record a session")
        if not actor or not str(actor).strip():
            raise ParameterError("actor", "who measured is required")
        checked = evaluate_session(display, inputs)
        return self.store.add_session({**checked.values, "measured_by": str(actor).strip()[:64]})

    def get(self, session_id: int) -> QCSession:
        """Raises :class:`UnknownRecordError`."""
        session = self.store.session(int(session_id))
        if session is None:
            raise UnknownRecordError(f"no QC session {session_id}")
        return session

    def list(self, display_id: int, limit: int = 50) -> list[QCSession]:
        """A display's sessions, newest first (at most ``limit``, 1 … 1000)."""
        if not 1 <= int(limit) <= 1000:
            raise ParameterError("limit", f"must be 1 … 1000; got {limit}")
        self._display(display_id)
        return self.store.sessions(int(display_id), int(limit))

    def history(self, display_id: int) -> list[HistoryPoint]:
        """A display's sessions oldest first: L'max, LR', max |κ| and pass over time."""
        self._display(display_id)
        return self.store.history(int(display_id))
