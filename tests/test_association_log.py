"""The Print SCP's association records (scp/association_log.py, jobs/association_log.py): real
associations over loopback (released with a refused request, printing, rejected three ways,
aborted by the peer and by the SCP, over TLS) recorded in the job store; the background writer
never holding an association up, bounded when the job store hangs or fails; the store's pages,
filters and retention on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import logging
import ssl
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from pydicom.dataset import Dataset

from printserver.jobs.association_log import (AcceptedContext, AssociationFilter, AssociationLog,
                                              AssociationOutcome, AssociationRecord, Rejection,
                                              StatusRecord)
from printserver.jobs.database import Database
from printserver.jobs.retention import purge_associations
from printserver.jobs.schema import associations, stamp
from printserver.scp.association_log import AssociationRecorder, outcome_of
from scp_fixtures import (FILM_SESSION, PRINTER, PRINTER_INSTANCE, VERIFICATION, InProcessServer,
                          PrintSCU)
from test_scp_tls import _cert
from test_worker import print_job

CONFIG = """
[[printers]]
ae_title = "PRINTSCP"
resolution_dpi = { STANDARD = 25 }

[[printers]]
ae_title = "WARD"
calling_aets = ["CT1"]
"""


@pytest.fixture
def srv(tmp_path):
    server = InProcessServer(tmp_path / "srv", CONFIG)
    yield server
    server.stop()


def recorded(srv: InProcessServer, count: int = 1) -> list[AssociationRecord]:
    """The newest ``count`` records, once the SCP ended that many associations (after the
    release, when the peer closed the connection) and the recorder wrote them."""
    deadline = time.monotonic() + 15
    while True:
        assert srv.server.recorder.flush(10)
        records = srv.store.associations.page().records
        if len(records) >= count or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert len(records) == count, records
    return records


def local_port(scu: PrintSCU) -> int:
    return scu.assoc.dul.socket.socket.getsockname()[1]


# -- what an association leaves -----------------------------------------------------------------

def test_a_released_association_with_a_refused_request(srv):
    before = datetime.now(timezone.utc)
    with srv.scu() as scu:
        port = local_port(scu)
        assert scu.get(PRINTER, PRINTER_INSTANCE).status == 0
        ds = Dataset()
        ds.NumberOfCopies = 1
        assert scu.set(FILM_SESSION, "1.2.3.4", ds).status == 0x0112
    (record,) = recorded(srv)
    assert (record.calling_ae, record.called_ae, record.peer_host, record.peer_port) == (
        "TESTSCU", "PRINTSCP", "127.0.0.1", port)
    assert (record.outcome, record.reason, record.rejection) == (AssociationOutcome.RELEASED, "",
                                                                 None)
    assert (record.tls, record.tls_version, record.tls_cipher) == (False, "", "")
    assert (record.requests, record.failures, record.job_ids) == (2, 1, ())
    (status,) = record.statuses
    assert (status.operation, status.sop_class, status.sop_class_name, status.status) == (
        "N-SET", FILM_SESSION, "Basic Film Session", 0x0112)
    assert status.error_comment == "no such instance 1.2.3.4"
    assert status.to_dict()["status_hex"] == "0x0112"
    assert (status.meaning, status.category) == ("NO_SUCH_SOP_INSTANCE", "failure")
    meta = next(c for c in record.contexts if c.abstract_syntax == "1.2.840.10008.5.1.1.9")
    assert (meta.abstract_syntax_name, meta.transfer_syntax_name) == (
        "Basic Grayscale Print Management Meta", "Explicit VR Little Endian")
    assert "Verification" in {c.abstract_syntax_name for c in record.contexts}
    started = datetime.fromisoformat(record.started_at)
    assert before - timedelta(seconds=1) <= started <= datetime.fromisoformat(record.ended_at)
    assert 0 <= record.duration < 30
    assert srv.store.associations.get(record.id) == record


def test_an_association_that_prints_names_its_job_and_keeps_warnings(srv):
    job = print_job(srv, fmt="STANDARD\\1,2", size=(300, 300))  # 25 dpi: demagnified, B604
    (record,) = recorded(srv)
    assert record.job_ids == (job.job_id,)
    assert record.outcome is AssociationOutcome.RELEASED
    warnings = [s for s in record.statuses if s.status == 0xB604]
    assert len(warnings) == 2 and {s.category for s in warnings} == {"warning"}
    assert record.failures == len(record.statuses) == 2
    assert record.requests == 5  # film session, film box, two image boxes, print


def test_rejected_associations_are_recorded_with_result_source_and_reason(tmp_path):
    srv = InProcessServer(tmp_path / "srv", CONFIG + "\n[dicom.limits]\nmax_associations = 1\n")
    try:
        assert not PrintSCU(srv.port, called="NOBODY", calling="ANYONE").is_established
        assert not PrintSCU(srv.port, called="WARD", calling="MR9").is_established
        with srv.scu(calling="HOLDER"):
            assert not PrintSCU(srv.port, calling="LATE").is_established
        by_caller = {r.calling_ae: r for r in recorded(srv, 4)}
        assert by_caller["HOLDER"].outcome is AssociationOutcome.RELEASED
        late, not_allowed = by_caller["LATE"], by_caller["MR9"]
        unknown = next(r for r in by_caller.values() if r.called_ae == "NOBODY")
        assert {r.outcome for r in (late, not_allowed, unknown)} == {AssociationOutcome.REJECTED}
        assert (unknown.called_ae, unknown.rejection) == ("NOBODY", Rejection(1, 1, 7))
        assert "'NOBODY' is not a printer" in unknown.reason
        assert (not_allowed.calling_ae, not_allowed.rejection) == ("MR9", Rejection(1, 1, 3))
        assert (late.calling_ae, late.rejection) == ("LATE", Rejection(2, 3, 2))
        assert late.reason == "too many associations (max_associations)"
        for record in (late, not_allowed, unknown):
            assert (record.contexts, record.requests, record.duration) == ((), 0, 0.0)
            assert record.to_dict()["rejection"] == dataclasses.asdict(record.rejection)
    finally:
        srv.stop()


def test_aborted_by_the_peer_and_by_the_scp_for_idling(tmp_path):
    srv = InProcessServer(tmp_path / "srv", CONFIG + "\n[dicom.limits]\nnetwork_timeout = 1\n")
    try:
        scu = srv.scu(calling="ABORTER")
        assert scu.get(PRINTER, PRINTER_INSTANCE).status == 0
        scu.assoc.abort()
        idle = srv.scu(calling="IDLER")  # sends nothing: the SCP aborts it after 1 s
        deadline = time.monotonic() + 20
        while idle.assoc.is_established and time.monotonic() < deadline:
            time.sleep(0.05)
        assert idle.assoc.is_aborted
        by_us, by_peer = recorded(srv, 2)
        assert (by_peer.calling_ae, by_peer.outcome, by_peer.requests) == (
            "ABORTER", AssociationOutcome.ABORTED_BY_PEER, 1)
        assert (by_us.calling_ae, by_us.outcome, by_us.reason) == (
            "IDLER", AssociationOutcome.ABORTED_BY_US, "network timeout")
        assert by_us.duration >= 0.9  # idle for the network timeout, from just before
    finally:
        srv.stop()


def test_the_transports_words_for_an_end_map_to_outcomes():
    assert outcome_of("released") == (AssociationOutcome.RELEASED, "")
    assert outcome_of("aborted by the peer") == (AssociationOutcome.ABORTED_BY_PEER, "")
    assert outcome_of("connection closed") == (AssociationOutcome.CONNECTION_CLOSED, "")
    assert outcome_of("aborted (server stopping)") == (AssociationOutcome.ABORTED_BY_US,
                                                       "server stopping")
    assert outcome_of("aborted") == (AssociationOutcome.ABORTED_BY_US, "")


def test_a_tls_association_records_its_version_and_cipher(tmp_path):
    crt, key = _cert(tmp_path, "server")
    srv = InProcessServer(tmp_path / "srv",
                          f'[dicom.tls]\ncertificate = "{crt}"\nprivate_key = "{key}"\n')
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=crt)
        with PrintSCU(srv.port, contexts=(VERIFICATION,), tls=context) as scu:
            assert scu.assoc.send_c_echo().Status == 0
        (record,) = recorded(srv)
        assert record.tls and record.tls_version.startswith("TLSv1.") and record.tls_cipher
        assert (record.requests, record.failures) == (1, 0)
        assert record.to_dict()["tls"] is True
    finally:
        srv.stop()


# -- the writer: never in the associations' way, bounded ------------------------------------------

def echo(port: int, calling: str) -> None:
    with PrintSCU(port, contexts=(VERIFICATION,), calling=calling) as scu:
        assert scu.assoc.send_c_echo().Status == 0


def test_a_hung_job_store_holds_no_association_up_and_keeps_only_the_newest(tmp_path, caplog):
    release, written = threading.Event(), []

    def hung_write(records):
        release.wait(60)  # the database does not answer until the test lets it
        written.extend(r.calling_ae for r in records)

    srv = InProcessServer(tmp_path, recorder_of=lambda store: AssociationRecorder(
        hung_write, capacity=3, interval=0))
    server = srv.server
    try:
        for n in range(1, 11):
            echo(server.port, f"SCU{n}")  # each association ends while the writer hangs
        deadline = time.monotonic() + 10
        while server.recorder.pending + server.recorder.dropped < 10 and \
                time.monotonic() < deadline:
            time.sleep(0.02)
        assert not written and server.recorder.pending + server.recorder.dropped == 10
        # the queue's capacity, and the batch the writer took before it hung (at most as much)
        assert server.recorder.pending <= 2 * 3
        release.set()
        assert server.recorder.flush(10)
        assert written[-3:] == ["SCU8", "SCU9", "SCU10"]  # the newest are kept
        assert server.recorder.dropped == 10 - len(written) and len(set(written)) == len(written)
    finally:
        release.set()
        server.stop()


def test_the_job_store_refusing_records_is_logged_once_the_scp_prints_on(tmp_path, caplog):
    srv = InProcessServer(tmp_path, recorder_of=lambda store: AssociationRecorder(
        store.associations.add, capacity=2, interval=0, retry_delay=0.05))
    server = srv.server
    with server.store.db.write("dropping the associations table") as connection:
        associations.drop(connection)  # the database refuses every record from now on
    try:
        caplog.set_level(logging.INFO, logger="printserver.scp.association_log")
        for _ in range(3):
            print_job(srv, fmt="STANDARD\\1,1")  # printing goes on
        recorder = server.recorder
        deadline = time.monotonic() + 10
        while (recorder.failed_writes < 4 or recorder.pending + recorder.dropped < 3) and \
                time.monotonic() < deadline:
            time.sleep(0.02)
        errors = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert server.recorder.failed_writes >= 4 and len(errors) == 1
        assert "records cannot be written" in errors[0].getMessage()
        assert server.recorder.pending == 2 and server.recorder.dropped == 1
        with server.store.db.write("the table back") as connection:
            associations.create(connection)
        assert server.recorder.flush(10)
        assert len(server.store.associations.page().records) == 2
        assert any("records written again; 1 dropped" in r.getMessage() for r in caplog.records)
    finally:
        server.stop()


def test_an_unreachable_database_costs_a_log_line_and_a_bounded_stop(tmp_path, caplog):
    broken = AssociationLog(Database.for_url(f"sqlite:///{tmp_path}/no/such/folder/db.sqlite3"))
    server = InProcessServer(tmp_path, recorder_of=lambda store: AssociationRecorder(
        broken.add, retry_delay=0.05)).server
    try:
        for n in range(3):
            echo(server.port, f"SCU{n}")
        recorder = server.recorder
        deadline = time.monotonic() + 10
        while (recorder.failed_writes < 3 or recorder.pending < 3) and \
                time.monotonic() < deadline:
            time.sleep(0.02)
        assert recorder.failed_writes >= 3 and recorder.pending == 3
        assert [r.levelname for r in caplog.records
                if "records cannot be written" in r.getMessage()] == ["ERROR"]
    finally:
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 10
    assert any("3 record(s) not written" in r.getMessage() for r in caplog.records)


# -- the store: pages, filters, retention (both backends) ----------------------------------------

def _record(n: int, **changes) -> AssociationRecord:
    at = datetime(2026, 1, 5, 10, tzinfo=timezone.utc) + timedelta(minutes=n)
    values = dict(started_at=stamp(at), ended_at=stamp(at + timedelta(seconds=2)), duration=2.0,
                  calling_ae=f"CT{n % 3}", called_ae="PRINTSCP", peer_host=f"10.0.0.{n % 2}",
                  peer_port=40000 + n, outcome=AssociationOutcome.RELEASED, server="node1",
                  contexts=(AcceptedContext(1, "1.2.840.10008.1.1", "Verification",
                                            "1.2.840.10008.1.2", "Implicit VR Little Endian"),),
                  requests=3)
    values.update(changes)
    return AssociationRecord(**values)


def test_pages_filters_and_cursors(job_store):
    log = job_store.associations
    failed = StatusRecord("2026-01-05T10:04:01.000+00:00", "N-CREATE", "1.2.840.10008.5.1.1.2",
                          "Basic Film Box", 0x0106, "bad format")
    log.add([_record(n) for n in range(10) if n != 4] + [
        _record(4, failures=1, statuses=(failed,), job_ids=("j1",)),
        _record(10, outcome=AssociationOutcome.REJECTED, rejection=Rejection(1, 1, 7),
                reason="not a printer", requests=0, contexts=())])
    everything = log.page().records
    assert [r.peer_port for r in everything] == [40010 - n for n in range(11)]  # newest first
    seen, cursor = [], None
    while True:
        page = log.page(limit=4, cursor=cursor)
        seen += [r.peer_port for r in page.records]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == [r.peer_port for r in everything]
    assert [r.peer_port for r in log.page(AssociationFilter(calling_ae="CT1")).records] == [
        40010, 40007, 40004, 40001]
    assert {r.peer_host for r in log.page(AssociationFilter(peer_host="10.0.0.1")).records} == {
        "10.0.0.1"}
    (rejected,) = log.page(AssociationFilter(outcomes=(AssociationOutcome.REJECTED,))).records
    assert rejected.rejection == Rejection(1, 1, 7) and rejected.reason == "not a printer"
    (bad,) = log.page(AssociationFilter(failures_only=True)).records
    assert bad.statuses == (failed,) and bad.job_ids == ("j1",) and bad == log.get(bad.id)
    window = AssociationFilter(since=datetime(2026, 1, 5, 10, 2, tzinfo=timezone.utc),
                               until=datetime(2026, 1, 5, 10, 5, tzinfo=timezone.utc))
    assert [r.peer_port for r in log.page(window).records] == [40004, 40003, 40002]
    assert log.get(10_000) is None
    with pytest.raises(ValueError, match="cursor"):
        log.page(cursor="nonsense")


def test_retention_deletes_old_records(job_store):
    log = job_store.associations
    log.add([_record(n) for n in range(5)])
    now = datetime(2026, 2, 4, 10, 3, 30, tzinfo=timezone.utc)  # 30 days after the 4th
    assert purge_associations(job_store, 30, now=now) == 4
    assert [r.peer_port for r in log.page().records] == [40004]


def test_the_records_connection_does_not_wait_for_the_disk(job_store):
    """The SCP writes its association records on connections whose commits skip the fsync, so
    that a record never holds the write lock the SCP's job commits need for a disk's time."""
    from sqlalchemy import text

    with Database.for_url(job_store.url, durable=False) as records, \
            records.read("reading the setting") as connection:
        if records.dialect == "sqlite":
            assert connection.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
        else:
            assert connection.execute(text("SHOW synchronous_commit")).scalar() == "off"
    with job_store.db.read("reading the setting") as connection:
        if job_store.db.dialect == "sqlite":
            assert connection.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
