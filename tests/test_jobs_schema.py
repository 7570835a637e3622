"""The job store's schema as an explicit, versioned step: Alembic revisions, ``printserver db
upgrade|status``, stores refused until upgraded, databases of earlier releases and revisions
migrated with their data, nodes upgrading at once, PostgreSQL's driver as an optional extra."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import event, text

from printserver.config import Config
from printserver.jobs import migrate
from printserver.jobs.database import Database
from printserver.jobs.migrate import HEAD, upgrade, upgrade_database
from printserver.jobs.model import Job, JobEventKind, JobState
from printserver.jobs.schema import jobs, metadata
import printserver.accounts.schema  # noqa: F401,E402  (the accounts' tables join the metadata)
from printserver.jobs.store import JobStoreError, open_job_store
from scp_fixtures import REPO

BACKENDS = ["sqlite", "postgresql"]


def _config(backend: str, tmp_path: Path, request) -> Config:
    """A configuration whose job store is an empty database of ``backend``."""
    if backend == "sqlite":
        return Config(data_dir=tmp_path)
    return Config(data_dir=tmp_path, database_url=request.getfixturevalue(
        "postgres").new_database())


def _alembic(connection):
    from alembic.config import Config as AlembicConfig

    alembic = AlembicConfig()
    alembic.set_main_option("script_location", str(Path(migrate.__file__).parent / "migrations"))
    alembic.attributes["connection"] = connection
    return alembic


def _job(job_id: str, state: JobState = JobState.QUEUED) -> dict:
    created = "2026-01-01T00:00:00.000+00:00"
    return Job(job_id=job_id, print_job_uid=f"1.2.{len(job_id)}.{ord(job_id[-1])}", state=state,
               printer="PRINTSCP", calling_ae="CT", called_ae="PRINTSCP", film_session_label="",
               print_priority="MED", film_count=1, copies=1, created_at=created,
               updated_at="2026-01-01T00:05:00.000+00:00", spool_dir=job_id,
               manifest_sha256="x").to_dict()


def test_head_is_the_newest_revision_file():
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_alembic(None))
    assert script.get_current_head() == HEAD
    assert [r.revision for r in script.walk_revisions()] == ["0005", "0004", "0003", "0002", "0001"]  # one line


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_store_is_refused_until_upgraded_and_the_error_says_what_to_run(backend, tmp_path,
                                                                          request):
    config = _config(backend, tmp_path, request)
    command = (f"printserver db upgrade --data-dir {tmp_path}" if backend == "sqlite"
               else "printserver db upgrade --config FILE")
    with pytest.raises(JobStoreError) as refused:
        open_job_store(config)
    assert command in str(refused.value)
    assert not config.sqlite_path.exists()  # a refused open creates nothing
    done = upgrade(config)
    assert (done.from_revision, done.to_revision, done.changed) == (None, HEAD, True)
    with open_job_store(config) as store:
        assert store.list() == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_upgrade_at_head_is_one_query_and_changes_nothing(backend, tmp_path, request):
    config = _config(backend, tmp_path, request)
    upgrade(config)
    statements: list[str] = []
    with Database.for_config(config) as database:
        event.listen(database.engine, "before_cursor_execute",
                     lambda _conn, _cursor, statement, *_: statements.append(statement))
        done = upgrade_database(database)
    assert not done.changed and done.from_revision == HEAD and "nothing to do" in str(done)
    assert len(statements) == 1, statements


FIRST_RELEASE = """
CREATE TABLE jobs (job_id TEXT PRIMARY KEY, print_job_uid TEXT NOT NULL UNIQUE, state TEXT NOT NULL,
    printer TEXT NOT NULL, calling_ae TEXT NOT NULL, called_ae TEXT NOT NULL,
    film_session_label TEXT NOT NULL, print_priority TEXT NOT NULL, film_count INTEGER NOT NULL,
    copies INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    spool_dir TEXT NOT NULL, manifest_sha256 TEXT NOT NULL, message TEXT NOT NULL DEFAULT '')
"""


#: the schema the stores of the last release before revisions created (and migrated) at open;
#: {C} is ' COLLATE "C"' on PostgreSQL
LAST_RELEASE = """
CREATE TABLE jobs (job_id TEXT{C} PRIMARY KEY, print_job_uid TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL, printer TEXT NOT NULL, calling_ae TEXT NOT NULL, called_ae TEXT NOT NULL,
    film_session_label TEXT NOT NULL, print_priority TEXT NOT NULL, film_count INTEGER NOT NULL,
    copies INTEGER NOT NULL, created_at TEXT{C} NOT NULL, updated_at TEXT{C} NOT NULL,
    spool_dir TEXT NOT NULL, manifest_sha256 TEXT NOT NULL, message TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0, claimed_by TEXT NOT NULL DEFAULT '',
    claimed_at TEXT{C} NOT NULL DEFAULT '', finished_at TEXT{C} NOT NULL DEFAULT '',
    retry_at TEXT{C} NOT NULL DEFAULT '', retries INTEGER NOT NULL DEFAULT 0,
    output_ref TEXT NOT NULL DEFAULT '', printing_at TEXT NOT NULL DEFAULT '',
    cancel_requested INTEGER NOT NULL DEFAULT 0, purged_at TEXT NOT NULL DEFAULT '');
CREATE INDEX jobs_state ON jobs (state, created_at);
CREATE TABLE films (job_id TEXT{C} NOT NULL REFERENCES jobs (job_id), film INTEGER NOT NULL,
    copies INTEGER NOT NULL, pdf_files TEXT NOT NULL, preview TEXT NOT NULL,
    width_mm {REAL} NOT NULL, height_mm {REAL} NOT NULL, dpi {REAL} NOT NULL,
    render_seconds {REAL} NOT NULL, warnings TEXT NOT NULL, PRIMARY KEY (job_id, film));
CREATE TABLE printers (ae_title TEXT{C} PRIMARY KEY, paused INTEGER NOT NULL DEFAULT 0,
    paused_at TEXT NOT NULL DEFAULT '', output_status TEXT NOT NULL DEFAULT 'NORMAL',
    output_status_info TEXT NOT NULL DEFAULT 'NORMAL', message TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL DEFAULT '');
CREATE TABLE nodes (node_id TEXT PRIMARY KEY, {NODES});
INSERT INTO jobs (job_id, print_job_uid, state, printer, calling_ae, called_ae,
    film_session_label, print_priority, film_count, copies, created_at, updated_at, spool_dir,
    manifest_sha256) VALUES ('last1', '1.2.8', 'QUEUED', 'PRINTSCP', 'CT', 'PRINTSCP', '', 'MED',
    1, 1, '2026-01-01T00:00:00.000+00:00', '2026-01-01T00:00:00.000+00:00', 'last1', 'x');
INSERT INTO printers (ae_title) VALUES ('PRINTSCP');
"""


def _last_release(dialect: str) -> list[str]:
    pg = dialect == "postgresql"
    ddl = LAST_RELEASE.format(
        C=' COLLATE "C"' if pg else "", REAL="DOUBLE PRECISION" if pg else "REAL",
        NODES=("started_at TIMESTAMPTZ NOT NULL DEFAULT now(), renewed_at TIMESTAMPTZ NOT NULL "
               "DEFAULT now(), expires_at TIMESTAMPTZ NOT NULL") if pg else
              "renewed_at TEXT NOT NULL, expires_at TEXT NOT NULL")
    return [statement for statement in ddl.split(";") if statement.strip()]


@pytest.mark.parametrize("before", ["empty", "first-release", "last-release"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_the_upgraded_schema_is_the_schema_module(backend, before, tmp_path, request):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    config = _config(backend, tmp_path, request)
    statements = {"empty": [], "first-release": [FIRST_RELEASE],
                  "last-release": _last_release(backend)}[before]
    with Database.for_config(config) as database:
        database.prepare()
        with database.write("an earlier release") as connection:
            for statement in statements:
                connection.exec_driver_sql(statement)
    upgrade(config)
    with Database.for_config(config) as database, database.read("comparing") as connection:
        assert compare_metadata(MigrationContext.configure(connection), metadata) == []
    if before == "last-release":
        with open_job_store(config) as store:
            assert store.get("last1").state is JobState.QUEUED
            assert store.printer_state("PRINTSCP").paused is False
            assert [e.event for e in store.timeline("last1")] == [JobEventKind.ACCEPTED]


@pytest.mark.parametrize("backend", BACKENDS)
def test_revision_0002_keeps_what_a_database_at_0001_holds(backend, tmp_path, request):
    from alembic import command

    config = _config(backend, tmp_path, request)
    lease = ("now() + interval '1 hour'" if backend == "postgresql"
             else "'2999-01-01T00:00:00.000+00:00'")
    with Database.for_config(config) as database:
        database.prepare()
        with database.write("the schema at 0001, with data") as connection:
            command.upgrade(_alembic(connection), "0001")
            connection.execute(jobs.insert(), [_job("old1"), _job("old2", JobState.DONE)])
            connection.execute(text("INSERT INTO printers (ae_title, paused, paused_at) "
                                    "VALUES ('PAPER', 1, '2026-01-01T00:00:00.000+00:00')"))
            if backend == "postgresql":
                connection.execute(text(f"INSERT INTO nodes (node_id, expires_at) "
                                        f"VALUES ('n1', {lease})"))
            else:
                connection.execute(text(f"INSERT INTO nodes (node_id, renewed_at, expires_at) "
                                        f"VALUES ('n1', '2026-01-01T00:00:00.000+00:00', {lease})"))
    done = upgrade(config)
    assert (done.from_revision, done.to_revision) == ("0001", HEAD)
    with open_job_store(config) as store:
        assert [(e.event, e.state, e.actor, e.at) for e in store.timeline("old1")] == [
            (JobEventKind.ACCEPTED, JobState.QUEUED, "CT", "2026-01-01T00:00:00.000+00:00")]
        assert [(e.event, e.at) for e in store.timeline("old2")] == [
            (JobEventKind.ACCEPTED, "2026-01-01T00:00:00.000+00:00"),
            (JobEventKind.DONE, "2026-01-01T00:05:00.000+00:00")]
        paper = store.printer_state("PAPER")
        assert paper.paused and paper.paused_by == ""
        assert store.live_nodes() == ["n1"]
        assert store.heartbeat("n1", 30) is True  # the lease carried over, unbroken
        assert store.claim_next("w1").job_id == "old1"


@pytest.mark.parametrize("backend", BACKENDS)
def test_nodes_upgrading_at_once_do_not_race(backend, tmp_path, request):
    config = _config(backend, tmp_path, request)
    url = config.database_url or f"sqlite:///{config.sqlite_path}"
    code = ("import sys\nfrom printserver.config import Config\n"
            "from printserver.jobs.migrate import upgrade\n"
            "print(upgrade(Config(database_url=sys.argv[1])))")
    procs = [subprocess.Popen([sys.executable, "-c", code, url], cwd=REPO, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(3)]
    results = [(p.wait(60), *p.communicate()) for p in procs]
    assert [rc for rc, _out, _err in results] == [0, 0, 0], results
    said = sorted("upgraded from revision none" in out for _rc, out, _err in results)
    assert said == [False, False, True], results  # one upgraded; the others found it done
    with open_job_store(Config(database_url=url)) as store:
        assert store.list() == []


def _cli(*args: str, python_code: str | None = None) -> subprocess.CompletedProcess:
    launch = ["-c", python_code] if python_code else ["-m", "printserver"]
    return subprocess.run([sys.executable, *launch, *args], cwd=REPO, capture_output=True,
                          text=True, timeout=60)


def test_printserver_db_upgrade_and_status(tmp_path):
    data = str(tmp_path / "data")
    status = _cli("db", "status", "--data-dir", data)
    assert status.returncode == 1 and "revision none" in status.stdout
    assert "printserver db upgrade" in status.stdout
    done = _cli("db", "upgrade", "--data-dir", data)
    assert done.returncode == 0, done.stderr
    assert f"upgraded from revision none to {HEAD}" in done.stdout
    again = _cli("db", "upgrade", "--data-dir", data)
    assert again.returncode == 0 and "nothing to do" in again.stdout
    status = _cli("db", "status", "--data-dir", data)
    assert status.returncode == 0 and "up to date" in status.stdout
    listed = _cli("jobs", "list", "--data-dir", str(tmp_path / "elsewhere"))
    assert listed.returncode == 2
    assert f"printserver db upgrade --data-dir {tmp_path / 'elsewhere'}" in listed.stderr


def test_a_postgresql_url_without_psycopg_names_the_extra(tmp_path):
    config = tmp_path / "printserver.toml"
    config.write_text('database_url = "postgresql://printserver@127.0.0.1:1/printserver"\n')
    without_psycopg = ("import sys\n"
                       "sys.modules['psycopg'] = None  # import psycopg fails: as if not installed\n"
                       "from printserver.cli import main\n"
                       "sys.exit(main(sys.argv[1:]))")
    for args in (("db", "upgrade"), ("jobs", "list"), ("serve", "--dicom-port", "0")):
        ran = _cli(*args, "--config", str(config), "--data-dir", str(tmp_path),
                   python_code=without_psycopg)
        assert ran.returncode == 2, (args, ran.stderr)
        assert "pip install 'printserver[postgresql]'" in ran.stderr, ran.stderr
