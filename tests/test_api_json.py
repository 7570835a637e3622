"""The JSON of the API (printserver/jobs/api_json.py), from jobs printed through the Print SCP over
loopback and rendered by a worker: DESIGN.md's keys, films with their files and URLs from the
web's url_for, the timeline, the film session and film boxes; the printer table."""

from __future__ import annotations

import json

import pytest

from printserver.jobs.api_json import (JOB_KEYS, job_detail_json, job_json, job_page_json,
                                       printers_json)
from printserver.jobs.query import parse_job_query
from printserver.jobs.services import Services
from printserver.jobs.worker import Worker
from scp_fixtures import InProcessServer
from test_worker import print_job

CONFIG = """
[[printers]]
ae_title = "PRINTSCP"
name = "film room"
resolution_dpi = { STANDARD = 25 }
"""
#: the eight keys DESIGN.md promises on every job object
DESIGN_JOB_KEYS = ["job_id", "state", "printer", "calling_ae", "created_at", "updated_at",
                   "film_count", "message"]


@pytest.fixture
def srv(tmp_path):
    server = InProcessServer(tmp_path / "srv", CONFIG)
    yield server
    server.stop()


@pytest.fixture
def services(srv):
    with Services.open(srv.config) as opened:
        yield opened


def url(job_id: str, film: int, kind: str, index: int) -> str:
    return f"/api/jobs/{job_id}/films/{film}/{kind}/{index}"


def test_a_rendered_job_in_the_list_and_in_detail(srv, services):
    queued = print_job(srv, fmt="STANDARD\\1,2", copies=2)
    done = print_job(srv, fmt="STANDARD\\1,1")
    assert Worker(srv.config, srv.store, srv.spool, "test:w").run_once().job_id == queued.job_id

    listing = job_page_json(services.jobs.find(parse_job_query({"limit": "1"})), url)
    assert list(listing) == ["jobs", "next"] and listing["next"]
    (newest,) = listing["jobs"]
    assert newest["job_id"] == done.job_id and newest["films"] == []
    assert list(newest)[:8] == DESIGN_JOB_KEYS
    assert list(newest) == [*JOB_KEYS, "purged", "films"]

    detail = job_detail_json(services.jobs.show(queued.job_id), url)
    assert (detail["state"], detail["printer"], detail["calling_ae"], detail["film_count"],
            detail["copies"]) == ("DONE", "PRINTSCP", "TESTSCU", 1, 2)
    (film,) = detail["films"]
    assert film["film"] == 1 and film["copies"] == 2
    assert [f["kind"] for f in film["files"]] == ["pdf"] * len(film["files"])
    assert film["files"][0]["url"] == f"/api/jobs/{queued.job_id}/films/1/pdf/0"
    assert all("/" not in f["name"] and f["name"].endswith(".pdf") for f in film["files"])
    assert film["preview"]["name"].endswith(".png")
    assert film["preview_url"] == f"/api/jobs/{queued.job_id}/films/1/preview/0"
    assert [e["event"] for e in detail["timeline"]] == ["accepted", "claimed", "done"]
    assert detail["film_session"]["NumberOfCopies"] == 2
    (box,) = detail["film_boxes"]
    assert box["image_display_format"] == "STANDARD\\1,2"
    assert [(b["position"], b["image"]["rows"]) for b in box["image_boxes"]] == [(1, 40),
                                                                                 (2, 40)]
    assert "manifest_error" not in detail
    json.dumps(detail)  # all of it is JSON

    no_urls = job_json(services.jobs.get(queued.job_id), services.store.films(queued.job_id))
    assert no_urls["films"][0]["files"][0]["url"] is None
    assert no_urls["films"][0]["preview_url"] is None


def test_a_job_whose_manifest_is_gone_says_so(srv, services):
    job = print_job(srv, fmt="STANDARD\\1,1")
    (srv.spool.job_dir(job) / "manifest.json").unlink()
    detail = job_detail_json(services.jobs.show(job.job_id))
    assert detail["film_session"] is None and detail["film_boxes"] == []
    assert detail["manifest_error"].startswith("manifest unreadable")


def test_the_printer_table(services):
    out = printers_json(services.printers.list())
    (printer,) = out["printers"]
    assert list(printer)[:7] == ["ae_title", "name", "status", "status_info", "queue_length",
                                 "output_kind", "paused"]
    assert (printer["ae_title"], printer["name"], printer["status"], printer["output_kind"]) == (
        "PRINTSCP", "film room", "NORMAL", "pdf")
    assert {"paused_by", "output_status", "message"} <= set(printer)
