"""A private PostgreSQL server for the tests, and the ``job_store`` fixture over both backends.

The server is Debian's PostgreSQL (installed by scripts/test), never the system's cluster: its own
data folder (``initdb``) in a temporary folder, started with ``pg_ctl`` on 127.0.0.1 on a free
port, its socket in that folder, stopped and removed at the end of the session. PostgreSQL refuses
to run as root: as root it runs as the ``postgres`` system user (``runuser``). Each test gets a
database of its own (:meth:`PostgresServer.new_database`).
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from scp_fixtures import free_port

#: fsync is off: these tests are about the job store's semantics, not the disk's
SERVER_OPTIONS = ("-c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off "
                  "-c synchronous_commit=off -c max_connections=200")


def postgres_bin_dir() -> Path:
    """Folder of Debian's ``initdb`` / ``pg_ctl`` (newest version), or the ones on PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parent.parent.name)
                   if Path(p).parent.parent.name.isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb is None:
        pytest.fail("PostgreSQL's initdb not found: run the suite through scripts/test, which "
                    "installs Debian's postgresql")
    return Path(initdb).parent


@dataclass
class PostgresServer:
    """A running private PostgreSQL server (superuser ``postgres``, trust on 127.0.0.1)."""

    root: Path
    port: int
    bin_dir: Path
    user_prefix: list[str]
    _numbers: itertools.count = field(default_factory=lambda: itertools.count(1))

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        """Run a PostgreSQL tool as the server's user."""
        return subprocess.run([*self.user_prefix, *args], capture_output=True, text=True,
                              timeout=timeout, cwd=self.root)

    def new_database(self) -> str:
        """Create an empty database; return its URL."""
        import psycopg

        name = f"test_{os.getpid()}_{next(self._numbers)}"
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as db:
            db.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        self.run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w",
                 "stop", timeout=60)


def start_postgres() -> PostgresServer:
    """initdb + pg_ctl start in a new temporary folder; fails the test with the server's log."""
    bin_dir = postgres_bin_dir()
    root = Path(tempfile.mkdtemp(prefix="printserver-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:  # initdb and postgres refuse to run as root
        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    server = PostgresServer(root, free_port(), bin_dir, prefix)
    init = server.run(str(bin_dir / "initdb"), "-D", str(server.data), "-U", "postgres",
                      "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync", timeout=120)
    if init.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"initdb failed: {init.stdout}{init.stderr}")
    log = root / "server.log"
    start = server.run(str(bin_dir / "pg_ctl"), "-D", str(server.data), "-l", str(log), "-w",
                       "-t", "60", "-o", f"{SERVER_OPTIONS} -p {server.port} -k {root}", "start",
                       timeout=90)
    if start.returncode != 0:
        text = log.read_text(errors="replace") if log.exists() else ""
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"pg_ctl start failed: {start.stdout}{start.stderr}\n{text}")
    return server


@pytest.fixture(scope="session")
def postgres():
    """A private PostgreSQL server for the whole session (see the module docstring)."""
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)


def store_url(store) -> str:
    """The ``database_url`` that opens ``store``'s database from another process."""
    return store.url


@pytest.fixture(params=["sqlite", "postgresql"])
def job_store(request, tmp_path):
    """An empty job store (schema upgraded to the head), once on SQLite and once on PostgreSQL."""
    from store_helpers import open_upgraded

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres").new_database()
    with open_upgraded(url) as store:
        yield store
