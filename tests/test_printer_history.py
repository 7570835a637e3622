"""Printers' status history (JobStore.set_paused / set_output_status / printer_history,
PrinterService.history): one row per pause, resume and output status change, written with the
change, with the status it gave and who made it; on SQLite and PostgreSQL, and from a database at
revision 0002."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from printserver.config import Config, OutputConfig, PrinterConfig
from printserver.errors import ParameterError
from printserver.jobs.database import Database
from printserver.jobs.migrate import upgrade
from printserver.jobs.model import PrinterEventKind
from printserver.jobs.services import Services, UnknownPrinterError
from printserver.jobs.store import open_job_store
from test_jobs_schema import BACKENDS, _alembic, _config

PRINTERS = (PrinterConfig(ae_title="FILM"),
            PrinterConfig(ae_title="PAPER", output=OutputConfig(kind="cups", queue="office")))


def test_pauses_resumes_and_output_changes_are_recorded_with_the_state_after(job_store):
    store = job_store
    store.set_paused("PAPER", True, actor="alice")
    store.set_paused("PAPER", True, actor="alice")  # already paused: nothing new
    store.set_output_status("PAPER", "FAILURE", "PRINTER DOWN", "CUPS server down", actor="w1")
    store.set_output_status("PAPER", "FAILURE", "PRINTER DOWN", "CUPS server down", actor="w2")
    store.set_paused("PAPER", False, actor="bob")
    store.set_output_status("PAPER", "NORMAL", "NORMAL", actor="status probe")
    store.set_paused("FILM", False)  # never paused: nothing to record
    events = store.printer_history("PAPER").events
    assert [(e.event, e.paused, e.output_status, e.output_status_info, e.message, e.actor)
            for e in events] == [
        (PrinterEventKind.OUTPUT, False, "NORMAL", "NORMAL", "", "status probe"),
        (PrinterEventKind.RESUMED, False, "FAILURE", "PRINTER DOWN", "CUPS server down", "bob"),
        (PrinterEventKind.OUTPUT, True, "FAILURE", "PRINTER DOWN", "CUPS server down", "w1"),
        (PrinterEventKind.PAUSED, True, "NORMAL", "NORMAL", "", "alice")]
    assert [e.at for e in events] == sorted((e.at for e in events), reverse=True)
    assert store.printer_history("FILM").events == []
    assert store.printer_state("PAPER").paused_by == ""


def test_history_pages_by_cursor(job_store):
    for n in range(5):
        job_store.set_paused("FILM", n % 2 == 0, actor=f"op{n}")
    first = job_store.printer_history("FILM", limit=2)
    second = job_store.printer_history("FILM", limit=2, cursor=first.next_cursor)
    third = job_store.printer_history("FILM", limit=2, cursor=second.next_cursor)
    assert [e.actor for p in (first, second, third) for e in p.events] == [
        "op4", "op3", "op2", "op1", "op0"]
    assert third.next_cursor is None
    with pytest.raises(ValueError, match="cursor"):
        job_store.printer_history("FILM", cursor=first.next_cursor + "x")


def test_the_service_gives_each_change_the_status_it_gave(job_store):
    services = Services(Config(printers=PRINTERS), job_store)
    services.printers.pause("PAPER", actor="alice")
    job_store.set_output_status("PAPER", "FAILURE", "PRINTER DOWN", "CUPS server down")
    services.printers.resume("PAPER", actor="bob")
    history = services.printers.history("PAPER")
    assert [(c.event, c.status, c.status_info, c.actor) for c in history.changes] == [
        ("resumed", "FAILURE", "PRINTER DOWN", "bob"),
        ("output", "FAILURE", "PRINTER DOWN", ""),
        ("paused", "WARNING", "PRINTER OFFLINE", "alice")]
    out = history.to_dict()
    assert out["printer"] == "PAPER" and out["next"] is None
    assert list(out["history"][0]) == ["id", "at", "event", "status", "status_info", "paused",
                                       "output_status", "output_status_info", "message", "actor"]
    with pytest.raises(UnknownPrinterError):
        services.printers.history("NOSUCH")
    for kwargs, parameter in (({"limit": 0}, "limit"), ({"limit": 201}, "limit"),
                              ({"cursor": "garbage"}, "cursor")):
        with pytest.raises(ParameterError) as refused:
            services.printers.history("PAPER", **kwargs)
        assert refused.value.parameter == parameter


@pytest.mark.parametrize("backend", BACKENDS)
def test_revision_0004_starts_the_history_of_printers_held_back(backend, tmp_path, request):
    from alembic import command

    config = _config(backend, tmp_path, request)
    with Database.for_config(config) as database:
        database.prepare()
        with database.write("the schema at 0002, with printers") as connection:
            command.upgrade(_alembic(connection), "0002")
            connection.execute(text(
                "INSERT INTO printers (ae_title, paused, paused_at, paused_by) VALUES "
                "('PAPER', 1, '2026-01-01T00:00:00.000+00:00', 'alice')"))
            connection.execute(text(
                "INSERT INTO printers (ae_title, output_status, output_status_info, message, "
                "updated_at) VALUES ('LASER', 'FAILURE', 'PRINTER DOWN', 'down', "
                "'2026-01-02T00:00:00.000+00:00'), ('FILM', 'NORMAL', 'NORMAL', '', "
                "'2026-01-03T00:00:00.000+00:00')"))
    upgrade(config)
    with open_job_store(config) as store:
        (paused,) = store.printer_history("PAPER").events
        assert (paused.event, paused.at, paused.actor, paused.paused) == (
            PrinterEventKind.PAUSED, "2026-01-01T00:00:00.000+00:00", "alice", True)
        (down,) = store.printer_history("LASER").events
        assert (down.event, down.at, down.output_status_info, down.message) == (
            PrinterEventKind.OUTPUT, "2026-01-02T00:00:00.000+00:00", "PRINTER DOWN", "down")
        assert store.printer_history("FILM").events == []
        store.set_paused("PAPER", False, actor="bob")
        assert [e.event for e in store.printer_history("PAPER").events] == [
            PrinterEventKind.RESUMED, PrinterEventKind.PAUSED]
