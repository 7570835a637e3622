"""The services the CLI, the web and the API call (printserver/jobs/services.py), over a real
SQLite job store and spool in tmp_path, with jobs printed through the Print SCP over loopback."""

from __future__ import annotations

import copy
import logging
import os
from datetime import datetime, timezone
from pathlib import Path

import pytest

from printserver.errors import ParameterError
from printserver.jobs.manifest import MANIFEST_FORMAT, check_manifest, manifest_problem
from printserver.jobs.model import FilmRecord, Job, JobFilter, JobState
from printserver.jobs.retention import purge
from printserver.jobs.services import (FilmFileMissing, FilmFileRefused, JobDetail, Services,
                                       UnknownJobError, UnknownPrinterError)
from printserver.jobs.spool import SpoolError
from printserver.jobs.store import JobStateError
from printserver.jobs.worker import Worker
from printserver.jobs.writer import JobWriter
from scp_fixtures import PRINTER, PRINTER_INSTANCE, InProcessServer
from test_worker import print_job

CONFIG = """
[dicom.limits]
max_queued_jobs = 2

[[printers]]
ae_title = "PRINTSCP"
name = "film room"
resolution_dpi = { STANDARD = 25 }

[[printers]]
ae_title = "PAPER"
name = "paper"
resolution_dpi = { STANDARD = 25 }
output = { kind = "cups", queue = "office" }
"""


@pytest.fixture
def srv(tmp_path):
    server = InProcessServer(tmp_path / "srv", CONFIG)
    yield server
    server.stop()


@pytest.fixture
def services(srv):
    """Services over their own connection to the server's job store (as the CLI or web would)."""
    with Services.open(srv.config) as opened:
        yield opened


def render(srv: InProcessServer) -> Job:
    return Worker(srv.config, srv.store, srv.spool, "test:w").run_once()


# -- printers ----------------------------------------------------------------------------------

def test_the_printer_table_has_what_printers_list_and_the_api_show(srv, services):
    print_job(srv, fmt="STANDARD\\1,1")
    film, paper = services.printers.list()
    assert (film.ae_title, film.name, film.output_kind, film.output_queue) == (
        "PRINTSCP", "film room", "pdf", "")
    assert (paper.ae_title, paper.output_kind, paper.output_queue) == ("PAPER", "cups", "office")
    assert (film.status, film.status_info, film.paused, film.queue_length) == (
        "NORMAL", "NORMAL", False, 1)
    assert list(film.to_dict()) == [
        "ae_title", "name", "output_kind", "output_queue", "status", "status_info", "paused",
        "paused_at", "paused_by", "output_status", "output_status_info", "message",
        "status_updated_at", "queue_length"]


def test_pause_and_resume_with_an_actor_and_the_scp_answers_the_same(srv, services, caplog):
    caplog.set_level(logging.INFO, logger="printserver.jobs.services")
    paused = services.printers.pause(" PRINTSCP ", actor="alice")
    assert (paused.status, paused.status_info, paused.paused) == (
        "WARNING", "PRINTER OFFLINE", True) and paused.paused_at
    assert "printer PRINTSCP paused by alice" in caplog.text
    with srv.scu() as scu:  # Printer N-GET answers from the same function
        reply = scu.get(PRINTER, PRINTER_INSTANCE, [0x21100010, 0x21100020]).dataset
    assert (reply.PrinterStatus, reply.PrinterStatusInfo) == tuple(
        services.printers.status("PRINTSCP"))
    assert services.store.printer_state("PRINTSCP").paused_by == "alice"
    resumed = services.printers.resume("PRINTSCP")
    assert (resumed.status, resumed.paused, resumed.paused_at) == ("NORMAL", False, "")


def test_an_output_failure_and_a_full_queue_show_in_the_status(srv, services):
    srv.store.set_output_status("PAPER", "FAILURE", "PRINTER DOWN", "CUPS server down")
    paper = services.printers.get("PAPER")
    assert (paper.status, paper.status_info, paper.message) == (
        "FAILURE", "PRINTER DOWN", "CUPS server down")
    assert paper.output_status == "FAILURE" and paper.status_updated_at
    for _ in range(2):  # [dicom.limits] max_queued_jobs = 2
        print_job(srv, fmt="STANDARD\\1,1")
    assert tuple(services.printers.status("PRINTSCP")) == ("WARNING", "PRINT BUFF FULL")
    services.printers.pause("PRINTSCP")  # a tie of WARNINGs: the pause is named first
    assert tuple(services.printers.status("PRINTSCP")) == ("WARNING", "PRINTER OFFLINE")


def test_an_unknown_printer_is_a_lookup_error_naming_the_configured_ones(services):
    for call in (services.printers.get, services.printers.pause, services.printers.status):
        with pytest.raises(UnknownPrinterError, match=r"no printer with AE title 'NOSUCH' "
                                                      r"\(configured: PRINTSCP, PAPER\)"):
            call("NOSUCH")
    assert issubclass(UnknownPrinterError, LookupError)


# -- jobs: list, show --------------------------------------------------------------------------

def test_list_filters_by_state(srv, services):
    first = print_job(srv, fmt="STANDARD\\1,1")
    second = print_job(srv, fmt="STANDARD\\1,1")
    services.jobs.cancel(second.job_id)
    assert [j.job_id for j in services.jobs.list()] == [first.job_id, second.job_id]
    assert [j.job_id for j in services.jobs.list(["queued"])] == [first.job_id]
    with pytest.raises(ParameterError, match="'WAITING' is not one of QUEUED, RENDERING"):
        services.jobs.list(["WAITING"])


def test_pages_of_jobs_newest_first_with_their_films_and_filters(srv, services):
    first, second = print_job(srv, fmt="STANDARD\\1,1"), print_job(srv, fmt="STANDARD\\1,2")
    assert render(srv).job_id == first.job_id
    page = services.jobs.page(limit=1)
    assert [j.job_id for j in page.jobs] == [second.job_id] and page.next_cursor
    rest = services.jobs.page(limit=1, cursor=page.next_cursor)
    assert [j.job_id for j in rest.jobs] == [first.job_id] and rest.next_cursor is None
    assert [f.film for f in rest.films[first.job_id]] == [1]
    done = services.jobs.page(JobFilter(states=(JobState.DONE,)))
    assert [j.job_id for j in done.jobs] == [first.job_id]
    with pytest.raises(ValueError):
        services.jobs.page(cursor="not a cursor")


def test_show_gives_the_row_the_films_and_the_manifest_summary(srv, services):
    job = print_job(srv, fmt="STANDARD\\2,2", copies=2, FilmSizeID="8INX10IN")
    detail = services.jobs.show(job.job_id)
    assert isinstance(detail, JobDetail) and detail.job == job and detail.films == ()
    assert detail.manifest["format"] == MANIFEST_FORMAT and detail.manifest_error == ""
    (film,) = detail.summaries
    assert (film.number, film.image_display_format, film.film_size_id, film.image_boxes) == (
        1, "STANDARD\\2,2", "8INX10IN", 4)
    assert [(i.position, i.columns, i.rows, i.bits_stored) for i in film.images] == [
        (p, 40, 40, 12) for p in (1, 2, 3, 4)]

    assert render(srv).state is JobState.DONE
    detail = services.jobs.show(job.job_id)
    assert detail.job.state is JobState.DONE and len(detail.films) == 1
    shown = detail.to_dict()
    assert shown["job"]["state"] == "DONE" and shown["job"]["films"][0]["copies"] == 2
    assert "manifest_error" not in shown and shown["manifest"]["copies"] == 2
    with pytest.raises(UnknownJobError, match="no job 'nope'"):
        services.jobs.show("nope")


def test_a_manifest_of_a_newer_format_is_shown_as_unreadable_and_fails_its_job(srv, services):
    job = print_job(srv, fmt="STANDARD\\1,1")
    path = srv.spool.job_dir(job) / "manifest.json"
    path.write_text(path.read_text().replace('"format": 1', f'"format": {MANIFEST_FORMAT + 1}'))
    detail = services.jobs.show(job.job_id)
    assert detail.manifest is None and detail.summaries == ()
    assert f"job {job.job_id}: manifest has format {MANIFEST_FORMAT + 1}, newer" in (
        detail.manifest_error)
    assert detail.to_dict()["manifest_error"] == detail.manifest_error
    failed = render(srv)
    assert failed.state is JobState.FAILED and "newer than this printserver reads" in (
        failed.message)


# -- jobs: cancel, retry, reprint --------------------------------------------------------------

def test_cancel_retry_reprint_name_the_actor(srv, services, caplog):
    caplog.set_level(logging.INFO, logger="printserver.jobs.lifecycle")
    job = print_job(srv, fmt="STANDARD\\1,1")
    cancelled = services.jobs.cancel(job.job_id, actor="bob")
    assert cancelled.state is JobState.CANCELLED
    with pytest.raises(JobStateError, match="nothing to cancel"):
        services.jobs.cancel(job.job_id)
    assert services.jobs.retry(job.job_id, actor="bob").state is JobState.QUEUED
    copy_ = services.jobs.reprint(job.job_id, actor="carol")
    assert copy_.state is JobState.QUEUED and copy_.job_id != job.job_id
    assert services.jobs.show(copy_.job_id).manifest["reprint_of"] == job.job_id
    assert f"job {job.job_id}: cancel requested by bob" in caplog.text
    assert f"job {job.job_id}: retried by bob" in caplog.text
    assert f"reprint of job {job.job_id} queued by carol" in caplog.text
    # the operators are in the jobs' timelines too, as the web shows them
    events = [(e.event.value, e.actor) for e in services.jobs.show(job.job_id).timeline]
    assert events == [("accepted", job.calling_ae), ("cancelled", "bob"), ("retried", "bob")]
    assert [(e.event.value, e.actor) for e in services.jobs.show(copy_.job_id).timeline] == [
        ("accepted", "carol")]
    assert services.jobs.show(job.job_id).to_dict()["timeline"][1]["actor"] == "bob"
    for action in (services.jobs.cancel, services.jobs.retry, services.jobs.reprint):
        with pytest.raises(UnknownJobError):
            action("nope")
    assert issubclass(UnknownJobError, JobStateError) and issubclass(UnknownJobError, LookupError)


# -- jobs: a film's files for download ---------------------------------------------------------

def test_film_files_are_given_from_the_film_folders_only(srv, services, tmp_path):
    job = print_job(srv, fmt="STANDARD\\1,1")
    assert render(srv).state is JobState.DONE
    (film,) = srv.store.films(job.job_id)
    pdf = services.jobs.film_file(job.job_id, 1)
    assert pdf == Path(film.pdf_files[0]) and pdf.read_bytes().startswith(b"%PDF")
    preview = services.jobs.film_file(job.job_id, 1, "preview")
    assert preview == Path(film.preview) and preview.suffix == ".png"
    with pytest.raises(FilmFileMissing, match="has no finished film 2"):
        services.jobs.film_file(job.job_id, 2)
    with pytest.raises(FilmFileMissing, match="has no pdf file 1"):
        services.jobs.film_file(job.job_id, 1, index=1)
    with pytest.raises(ParameterError):
        services.jobs.film_file(job.job_id, 1, "dicom")  # type: ignore[arg-type]

    # a film file replaced by a link out of the data folder is refused
    outside = tmp_path / "outside.pdf"
    outside.write_bytes(b"%PDF secret")
    os.replace(pdf, pdf.with_suffix(".bak"))
    pdf.symlink_to(outside)
    with pytest.raises(FilmFileRefused, match="outside the film folders"):
        services.jobs.film_file(job.job_id, 1)

    # retention purges the files: gone
    purge(srv.store, srv.spool, 0, now=datetime.now(timezone.utc))
    with pytest.raises(FilmFileMissing, match=r"\(purged\)"):
        services.jobs.film_file(job.job_id, 1, "preview")


@pytest.mark.parametrize("recorded", ["films/../../../outside.pdf", "{tmp}/outside.pdf",
                                      "films/link.pdf"])
def test_recorded_paths_leading_out_of_the_data_folder_are_refused(srv, services, tmp_path,
                                                                   recorded):
    outside = tmp_path / "outside.pdf"
    outside.write_bytes(b"%PDF secret")
    data_dir = srv.config.data_dir
    (data_dir / "films").mkdir(parents=True, exist_ok=True)
    (data_dir / "films" / "link.pdf").symlink_to(outside)
    assert (data_dir / "films/../../../outside.pdf").resolve() == outside
    stamp = datetime.now(timezone.utc).isoformat()
    srv.store.add(Job("j1", "1.2.3.4", JobState.QUEUED, "PRINTSCP", "CT", "PRINTSCP", "", "MED", 1,
                      1, stamp, stamp, "j1", ""))
    srv.store.claim_next("w")
    srv.store.complete("j1", "w", [FilmRecord("j1", 1, 1, (recorded.format(tmp=tmp_path),), "",
                                              100.0, 100.0, 25.0, 0.1)])
    with pytest.raises(FilmFileRefused):
        services.jobs.film_file("j1", 1)


# -- the manifest's form -----------------------------------------------------------------------

def test_manifests_are_checked_for_their_format_and_keys(srv):
    job = print_job(srv, fmt="STANDARD\\2,1")
    manifest = srv.spool.load_manifest(job)
    assert manifest_problem(manifest) is None
    assert check_manifest(manifest, job.job_id) is manifest

    def problem(change) -> str:
        broken = copy.deepcopy(manifest)
        change(broken)
        return manifest_problem(broken)

    assert problem(lambda m: m.pop("format")) == "has no format number"
    assert problem(lambda m: m.update(format="1")) == "has an unknown format '1'"
    assert problem(lambda m: m.pop("films")) == "lacks films"
    assert problem(lambda m: m["films"][0].pop("image_boxes")) == "films[1] lacks image_boxes"
    assert problem(lambda m: m["films"][0]["image_boxes"][1]["image"].pop("sha256")) == (
        "films[1].image_boxes[2].image lacks sha256")
    assert problem(lambda m: m["films"][0]["annotation_boxes"].append("x")) == (
        "films[1].annotation_boxes[1] is not an object")
    assert manifest_problem([]) == "is not a job manifest (not a JSON object)"
    with pytest.raises(SpoolError, match=f"job {job.job_id}: manifest lacks films"):
        check_manifest({"format": 1, **{k: v for k, v in manifest.items() if k != "films"}},
                       job.job_id)


def test_the_writer_refuses_a_manifest_readers_could_not_read(srv):
    job = print_job(srv, fmt="STANDARD\\1,1")
    manifest = srv.spool.load_manifest(job)
    manifest.pop("print_job_uid")
    stamp = datetime.now(timezone.utc).isoformat()
    row = Job("bad", "1.2.3.9", JobState.QUEUED, "PRINTSCP", "CT", "PRINTSCP", "", "MED", 1, 1,
              stamp, stamp, "bad", "")
    with pytest.raises(SpoolError, match="job bad: manifest lacks print_job_uid"):
        JobWriter(srv.spool, srv.store).submit(row, manifest, {})
    assert srv.store.get("bad") is None and not srv.spool.job_dir("bad").exists()
