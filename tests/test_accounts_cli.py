"""``printserver users …`` as an operator runs it: subprocesses on a data folder, passwords from
standard input or a terminal (a pseudo-terminal here), the API token alone on the last line and
only its hash in the database, errors on one line, every change in the audit log."""

from __future__ import annotations

import fcntl
import getpass
import hashlib
import json
import os
import select as fd_select
import subprocess
import sys
import termios
import time

import pytest
from sqlalchemy import select

from accounts_helpers import PASSWORD
from printserver.accounts import Accounts, AuditFilter
from printserver.accounts.schema import api_tokens
from printserver.config import Config
from printserver.jobs.migrate import upgrade
from scp_fixtures import REPO


def _users(data, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "printserver", "users", *args, "--data-dir",
                           str(data)], cwd=REPO, capture_output=True, text=True, timeout=60,
                          input=stdin if stdin is not None else "", )


@pytest.fixture
def data(tmp_path):
    upgrade(Config(data_dir=tmp_path))
    return tmp_path


def _accounts(data) -> Accounts:
    return Accounts.open(Config(data_dir=data))


def _one_line_error(ran: subprocess.CompletedProcess, words: str) -> None:
    assert ran.returncode == 2, ran
    assert ran.stderr.count("\n") == 1 and ran.stderr.startswith("printserver: error: "), ran.stderr
    assert words in ran.stderr and "Traceback" not in ran.stderr


def test_add_list_passwd_remove(data):
    added = _users(data, "add", "alice", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    assert added.returncode == 0 and added.stdout == "user alice added (admin)\n", added.stderr
    assert _users(data, "add", "bob", "--role", "viewer", "--password-stdin",
                  stdin=PASSWORD).returncode == 0
    listed = _users(data, "list")
    assert listed.returncode == 0
    rows = [line.split()[:4] for line in listed.stdout.splitlines()[1:]]
    assert rows == [["alice", "admin", "enabled", "0"], ["bob", "viewer", "enabled", "0"]]
    as_json = json.loads(_users(data, "list", "--json").stdout)
    assert [(u["name"], u["role"], u["api_tokens"]) for u in as_json] == [
        ("alice", "admin", 0), ("bob", "viewer", 0)]
    assert "password" not in json.dumps(as_json)

    changed = _users(data, "passwd", "bob", "--password-stdin", stdin="a different password\n")
    assert changed.returncode == 0 and "web sessions have ended" in changed.stdout
    with _accounts(data) as accounts:
        assert accounts.users.authenticate("bob", PASSWORD) is None
        assert accounts.users.authenticate("bob", "a different password") is not None

    assert _users(data, "remove", "bob").stdout == "user bob removed\n"
    _one_line_error(_users(data, "remove", "alice"), "alice is the last admin")
    _one_line_error(_users(data, "remove", "carol"), "no user named 'carol'")
    _one_line_error(_users(data, "add", "alice", "--role", "qa", "--password-stdin", stdin=PASSWORD),
                    "exists already")
    _one_line_error(_users(data, "add", "dave", "--role", "qa", "--password-stdin", stdin="short"),
                    "password: at least 10 characters")
    _one_line_error(_users(data, "passwd", "alice", "--password-stdin", stdin="\n"),
                    "password: a password is required")

    me = f"{getpass.getuser()} (cli)"
    with _accounts(data) as accounts:
        records = accounts.audit.page(AuditFilter(user=me)).records
    assert [(r.action, r.target) for r in reversed(records)] == [
        ("user.add", "alice"), ("user.add", "bob"), ("user.password", "bob"),
        ("user.remove", "bob")]
    assert all(PASSWORD not in r.detail for r in records)


def test_without_a_terminal_or_password_stdin_nothing_is_asked(data):
    _one_line_error(_users(data, "add", "alice", "--role", "admin"),
                    "no terminal to ask for the password: pass --password-stdin")
    with _accounts(data) as accounts:
        assert accounts.users.list() == []


def _on_a_terminal(data, args: list[str], answers: list[str]) -> tuple[int, str]:
    """Run ``printserver users ARGS`` with a pseudo-terminal as its controlling terminal, typing
    each answer when the program asks; (exit status, everything it wrote)."""
    primary, secondary = os.openpty()

    def own_terminal() -> None:
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)  # standard input, the pseudo-terminal

    process = subprocess.Popen([sys.executable, "-m", "printserver", "users", *args,
                                "--data-dir", str(data)], cwd=REPO, stdin=secondary,
                               stdout=secondary, stderr=secondary, preexec_fn=own_terminal)
    os.close(secondary)
    output = b""
    deadline = time.monotonic() + 60
    pending = list(answers)
    while time.monotonic() < deadline:
        if not fd_select.select([primary], [], [], 1)[0]:
            continue
        try:
            chunk = os.read(primary, 4096)
        except OSError:  # the program ended: its terminal is gone
            break
        if not chunk:
            break
        output += chunk
        if pending and output.endswith(b": "):  # a prompt, waiting for its answer
            os.write(primary, pending.pop(0).encode() + b"\n")
    os.close(primary)
    return process.wait(30), output.decode(errors="replace")


def test_on_a_terminal_the_password_is_asked_twice(data):
    status, output = _on_a_terminal(data, ["add", "alice", "--role", "qa"], [PASSWORD, PASSWORD])
    assert status == 0 and "New password again:" in output and "user alice added (qa)" in output
    assert PASSWORD not in output  # not echoed
    status, output = _on_a_terminal(data, ["passwd", "alice"], [PASSWORD + "1", PASSWORD + "2"])
    assert status == 2 and "the two passwords differ; nothing changed" in output
    with _accounts(data) as accounts:
        assert accounts.users.authenticate("alice", PASSWORD) is not None


def test_a_token_is_printed_once_alone_on_the_last_line_and_only_its_hash_kept(data):
    _users(data, "add", "alice", "--role", "viewer", "--password-stdin", stdin=PASSWORD)
    made = _users(data, "token", "alice", "--label", "monitoring")
    assert made.returncode == 0, made.stderr
    lines = made.stdout.splitlines()
    secret = lines[-1]
    assert len(lines) == 2 and secret == secret.strip() and len(secret) >= 43
    assert "shown once" in lines[0]
    token_id = lines[0].split()[2]
    with _accounts(data) as accounts:
        assert accounts.tokens.authenticate(secret)[0].name == "alice"
        with accounts.db.read("test") as connection:
            row = connection.execute(select(api_tokens)).one()
    assert row.token_id == token_id and row.label == "monitoring"
    assert row.token_sha256 == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in (data / "printserver.sqlite3").read_bytes().decode("latin-1")
    assert _users(data, "list").stdout.splitlines()[1].split()[3] == "1"

    listed = _users(data, "token", "alice", "--list")
    assert token_id in listed.stdout and secret not in listed.stdout
    revoked = _users(data, "token", "alice", "--revoke", token_id)
    assert revoked.stdout == f"API token {token_id} of alice revoked\n"
    _one_line_error(_users(data, "token", "alice", "--revoke", "nope"), "no API token 'nope'")
    second, third = (_users(data, "token", "alice").stdout.splitlines()[-1] for _ in range(2))
    assert _users(data, "token", "alice", "--revoke-all").stdout == "2 API tokens of alice revoked\n"
    with _accounts(data) as accounts:
        assert all(accounts.tokens.authenticate(s) is None for s in (secret, second, third))
        actions = [r.action for r in accounts.audit.page(AuditFilter()).records]
    assert actions.count("token.create") == 3 and actions.count("token.revoke") == 2
    _one_line_error(_users(data, "token", "nobody"), "no user named 'nobody'")
