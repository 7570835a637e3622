"""Shared pytest fixtures."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def require_tool(name: str) -> str:
    """Path of a command-line tool the test needs; fail (not skip) when scripts/test should have
    installed it, so that a missing dependency never turns into a silently green run."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not found: run the suite through scripts/test, which installs it")
    return path



# --- Print SCP fixtures (helpers in tests/scp_fixtures.py) ------------------------------------

@pytest.fixture
def print_scp_factory(tmp_path_factory):
    """Start ``printserver serve`` subprocesses on 127.0.0.1; all are stopped at teardown.

    ``start(config_toml=None, data_dir=None, port=None)`` returns a started
    :class:`scp_fixtures.ServerProcess` with ``host``, ``port``, ``ae_title`` (the first configured
    printer), ``data_dir``, ``log_path``, ``store()`` (a JobStore over its data folder), ``stop()``,
    ``kill()`` (kill -9) and ``restart()`` (same data folder, port and configuration)::

        def test_x(print_scp_factory):
            scp = print_scp_factory('[dicom]\nstrict_attributes = true\n')
    """
    from scp_fixtures import ServerProcess, free_port

    servers: list = []

    def start(config_toml: str | None = None, data_dir=None, port: int | None = None):
        base = tmp_path_factory.mktemp("print_scp")
        cfg = None
        ae = "PRINTSCP"
        if config_toml is not None:
            import tomllib

            cfg = base / "printserver.toml"
            cfg.write_text(config_toml)
            printers = tomllib.loads(config_toml).get("printers") or [{}]
            ae = printers[0].get("ae_title", "PRINTSCP")
        srv = ServerProcess("127.0.0.1", port or free_port(), ae, Path(data_dir or base / "data"),
                            cfg, base / "server.log")
        servers.append(srv)
        return srv.start()

    yield start
    for srv in servers:
        srv.stop()


@pytest.fixture
def print_scp(print_scp_factory):
    """A running ``printserver serve`` with the default configuration (see print_scp_factory)."""
    return print_scp_factory()


# --- job store on SQLite and on a private PostgreSQL server (tests/pg_fixtures.py) -------------

from pg_fixtures import job_store, postgres  # noqa: E402,F401  (fixtures)


# --- web UI and JSON API (tests/web_fixtures.py) and browsers (tests/browser_fixtures.py) --------

from web_fixtures import _users_database, client_as, web_app, web_clock, web_config  # noqa: E402,F401
from browser_fixtures import browser, new_page, screenshot, web_serve  # noqa: E402,F401
