"""The query parameters of the job and association listings (printserver/jobs/query.py): what the
JSON API and the admin pages accept, and the ParameterError naming the parameter for the rest."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
from werkzeug.datastructures import MultiDict

from printserver.errors import ParameterError
from printserver.jobs import cursors
from printserver.jobs.association_log import AssociationOutcome
from printserver.jobs.model import JobFilter, JobState
from printserver.jobs.query import (DEFAULT_LIMIT, MAX_LIMIT, JobQuery, parse_association_query,
                                    parse_job_query, start_of_day)


@pytest.fixture
def paris(monkeypatch):
    """The server's time zone is Europe/Paris (UTC+1 in January, +2 in July)."""
    monkeypatch.setenv("TZ", "Europe/Paris")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_nothing_given_is_every_job_newest_first():
    assert parse_job_query({}) == JobQuery(JobFilter(), DEFAULT_LIMIT, None, False)
    assert parse_job_query({"state": "", "printer": "  "}) == JobQuery()  # empty: not given


def test_every_job_parameter():
    cursor = cursors.encode("2026-01-05T10:00:00.000+00:00", "j1")
    query = parse_job_query({
        "state": "queued, FAILED,queued", "printer": "PRINTSCP", "calling_ae": "CT 1",
        "since": "2026-01-05T10:00:00Z", "until": "2026-01-06T10:00:00+01:00", "text": "chest",
        "order": "oldest", "limit": "200", "cursor": cursor})
    assert query.where == JobFilter(
        states=(JobState.QUEUED, JobState.FAILED), printer="PRINTSCP", calling_ae="CT 1",
        since=datetime(2026, 1, 5, 10, tzinfo=timezone.utc),
        until=datetime(2026, 1, 6, 9, tzinfo=timezone.utc), text="chest")
    assert (query.limit, query.cursor, query.oldest_first) == (200, cursor, True)


def test_a_date_alone_is_that_day_in_the_servers_time_zone(paris):
    query = parse_job_query({"since": "2026-01-05", "until": "2026-07-05"})
    assert query.where.since == datetime(2026, 1, 4, 23, tzinfo=timezone.utc)  # 00:00 at +01:00
    # until a date: to the end of that day (the next 00:00, at +02:00 in summer)
    assert query.where.until == datetime(2026, 7, 5, 22, tzinfo=timezone.utc)
    whole_day = parse_job_query({"since": "2026-01-05", "until": "2026-01-05"}).where
    assert whole_day.until - whole_day.since == timedelta(days=1)
    assert start_of_day(datetime(2026, 3, 29).date()).utcoffset() == timedelta(hours=1)


@pytest.mark.parametrize("params, parameter, words", [
    ({"state": "QUEUED,WAITING"}, "state", "'WAITING' is not one of QUEUED, RENDERING"),
    ({"since": "yesterday"}, "since", "not an ISO 8601 time"),
    ({"since": "2026-01-05T10:00:00"}, "since", "has no time zone"),
    ({"until": "2026-02-30"}, "until", "not a date"),
    ({"since": "2026-01-06", "until": "2026-01-05T00:00:00Z"}, "until", "must be after since"),
    ({"limit": "0"}, "limit", f"expected 1 to {MAX_LIMIT}"),
    ({"limit": str(MAX_LIMIT + 1)}, "limit", f"expected 1 to {MAX_LIMIT}"),
    ({"limit": "ten"}, "limit", "whole number"),
    ({"limit": "-1"}, "limit", "whole number"),
    ({"cursor": "not a cursor"}, "cursor", "not one this listing gave"),
    ({"cursor": cursors.encode(1, 2)}, "cursor", "not one this listing gave"),
    ({"cursor": "A" * 201}, "cursor", "at most 200 characters"),
    ({"printer": "P" * 17}, "printer", "at most 16 characters"),
    ({"calling_ae": "CT\\1"}, "calling_ae", "not an AE title"),
    ({"text": "x" * 65}, "text", "at most 64 characters"),
    ({"text": "a\x00b"}, "text", "control characters"),
    ({"order": "random"}, "order", "expected newest or oldest"),
    ({"sort": "x"}, "sort", "unknown parameter; expected one of state, printer"),
])
def test_bad_job_parameters_are_refused_naming_the_parameter(params, parameter, words):
    with pytest.raises(ParameterError, match=words) as refused:
        parse_job_query(params)
    assert refused.value.parameter == parameter
    assert str(refused.value).startswith(f"{parameter}: ")


def test_a_parameter_given_twice_is_refused_and_extra_names_are_left_to_the_caller():
    with pytest.raises(ParameterError, match="given more than once") as refused:
        parse_job_query(MultiDict([("printer", "A"), ("printer", "B")]))
    assert refused.value.parameter == "printer"
    query = parse_job_query(MultiDict([("state", "DONE"), ("page", "2")]), extra=("page",))
    assert query.where.states == (JobState.DONE,)


def test_the_association_parameters():
    cursor = cursors.encode("2026-01-05T10:00:00.000+00:00", 7)
    query = parse_association_query({
        "calling_ae": "CT1", "peer": "::ffff:10.0.0.1", "outcome": "rejected,aborted_by_us",
        "failures": "on", "since": "2026-01-05T00:00:00Z", "limit": "10", "cursor": cursor})
    where = query.where
    assert (where.calling_ae, where.peer_host, where.failures_only) == ("CT1", "::ffff:10.0.0.1",
                                                                       True)
    assert where.outcomes == (AssociationOutcome.REJECTED, AssociationOutcome.ABORTED_BY_US)
    assert (query.limit, query.cursor) == (10, cursor)
    assert parse_association_query({"failures": "false"}).where.failures_only is False
    for params, parameter in (({"peer": "printer.example"}, "peer"),
                              ({"outcome": "crashed"}, "outcome"),
                              ({"failures": "maybe"}, "failures"),
                              ({"cursor": cursors.encode("x", "y")}, "cursor"),
                              ({"state": "DONE"}, "state")):
        with pytest.raises(ParameterError) as refused:
            parse_association_query(params)
        assert refused.value.parameter == parameter
