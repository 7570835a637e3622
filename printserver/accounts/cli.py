"""``printserver users add|list|remove|passwd|token``: the web UI's users and their API tokens.

Thin: each sub-command parses its arguments, reads a password when it needs one, calls
:class:`printserver.accounts.Accounts` and prints what it returns. Changes are recorded in the
audit log as made by the operating-system user running the command (``alice (cli)``).

Passwords are read with ``getpass`` (twice, without echo) from a terminal, or with
``--password-stdin`` as the first line of standard input (for scripts); never from an argument,
which other users could read in the process list.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys

from printserver.accounts import Accounts, Actor, Role
from printserver.config import load_config
from printserver.errors import PrintserverError
from printserver.jobs.cli import actor


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("users", help="users of the web UI and their API tokens",
                       description="Users of the web UI and the JSON API (roles admin, qa, "
                                   "viewer) and their API tokens, kept in the job store.")
    users = p.add_subparsers(dest="users_command", metavar="SUBCOMMAND", required=True)

    q = users.add_parser("add", help="add a user", description="Add a user; the password is "
                         "asked twice on the terminal, or read from standard input.")
    q.add_argument("name", metavar="NAME")
    q.add_argument("--role", required=True, choices=[r.value for r in Role],
                   help="admin: everything; qa: display QC and reading jobs; viewer: read-only")
    _password_stdin(q)
    _common(q, run_add)

    q = users.add_parser("list", help="list the users with their roles and API tokens")
    q.add_argument("--json", action="store_true", help="JSON output")
    _common(q, run_list)

    q = users.add_parser("remove", help="remove a user and its API tokens (not the last admin)")
    q.add_argument("name", metavar="NAME")
    _common(q, run_remove)

    q = users.add_parser("passwd", help="set a user's password (its web sessions end)")
    q.add_argument("name", metavar="NAME")
    _password_stdin(q)
    _common(q, run_passwd)

    q = users.add_parser("token", help="make an API token (printed once, alone on the last "
                         "line), list or revoke tokens",
                         description="Make a new API token for NAME: it is printed once, alone "
                                     "on the last line of the output, and only its SHA-256 is "
                                     "kept. Use it as 'Authorization: Bearer TOKEN'.")
    q.add_argument("name", metavar="NAME")
    q.add_argument("--label", default="", metavar="TEXT", help="what the token is for")
    what = q.add_mutually_exclusive_group()
    what.add_argument("--revoke", metavar="TOKEN_ID", help="revoke this token of NAME instead")
    what.add_argument("--revoke-all", action="store_true", help="revoke every token of NAME")
    what.add_argument("--list", action="store_true", help="list NAME's tokens instead")
    _common(q, run_token)


def _password_stdin(q: argparse.ArgumentParser) -> None:
    q.add_argument("--password-stdin", action="store_true",
                   help="read the password from the first line of standard input")


def _common(q: argparse.ArgumentParser, func) -> None:
    q.add_argument("--config", metavar="FILE", help="TOML configuration file")
    q.add_argument("--data-dir", metavar="DIR", help="data folder")
    q.set_defaults(func=func)


def _accounts(args: argparse.Namespace) -> Accounts:
    return Accounts.open(load_config(args.config, data_dir=args.data_dir))


def _by() -> Actor:
    return Actor(actor())


def read_password(from_stdin: bool) -> str:
    """The new password: the first line of standard input, or asked twice on the terminal.

    Raises
    ------
    PrintserverError
        No terminal to ask on and no ``--password-stdin``, or the two entries differ.
    """
    if from_stdin:
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    if not sys.stdin.isatty():
        raise PrintserverError("no terminal to ask for the password: pass --password-stdin and "
                               "give the password on standard input")
    first = getpass.getpass("New password: ")
    if getpass.getpass("New password again: ") != first:
        raise PrintserverError("the two passwords differ; nothing changed")
    return first


def run_add(args: argparse.Namespace) -> int:
    password = read_password(args.password_stdin)
    with _accounts(args) as accounts:
        user = accounts.users.add(args.name, args.role, password, _by())
    print(f"user {user.name} added ({user.role.value})")
    return 0


def run_list(args: argparse.Namespace) -> int:
    with _accounts(args) as accounts:
        users = accounts.users.list()
        tokens = accounts.tokens.list()
    valid = {u.name: sum(1 for t in tokens if t.user == u.name and not t.revoked) for u in users}
    if args.json:
        print(json.dumps([{**u.to_dict(), "api_tokens": valid[u.name]} for u in users], indent=1))
        return 0
    print(f"{'NAME':24} {'ROLE':7} {'STATE':8} {'TOKENS':>6}  CREATED")
    for u in users:
        print(f"{u.name:24} {u.role.value:7} {'disabled' if u.disabled else 'enabled':8} "
              f"{valid[u.name]:6d}  {u.created_at}")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    with _accounts(args) as accounts:
        accounts.users.remove(args.name, _by())
    print(f"user {args.name} removed")
    return 0


def run_passwd(args: argparse.Namespace) -> int:
    password = read_password(args.password_stdin)
    with _accounts(args) as accounts:
        user = accounts.users.set_password(args.name, password, _by())
    print(f"password of {user.name} changed; its web sessions have ended")
    return 0


def run_token(args: argparse.Namespace) -> int:
    with _accounts(args) as accounts:
        if args.list:
            tokens = accounts.tokens.list(accounts.users.get(args.name).name)
            print(f"{'TOKEN ID':12} {'CREATED':29} {'LAST USED':29} {'REVOKED':29} LABEL")
            for t in tokens:
                print(f"{t.token_id:12} {t.created_at:29} {t.last_used_at or '-':29} "
                      f"{t.revoked_at or '-':29} {t.label}")
            return 0
        if args.revoke:
            token = accounts.tokens.revoke(args.revoke, _by(), user=accounts.users.get(args.name).name)
            print(f"API token {token.token_id} of {token.user} revoked")
            return 0
        if args.revoke_all:
            count = accounts.tokens.revoke_all(args.name, _by())
            print(f"{count} API token{'s' if count != 1 else ''} of {args.name} revoked")
            return 0
        issued = accounts.tokens.issue(args.name, _by(), label=args.label)
    print(f"API token {issued.token.token_id} for {issued.token.user}; shown once, keep it now "
          "(use it as 'Authorization: Bearer TOKEN'):")
    print(issued.secret)
    return 0
