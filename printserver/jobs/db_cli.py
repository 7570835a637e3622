"""``printserver db upgrade|status``: the job store's schema revision."""

from __future__ import annotations

import argparse

from printserver.config import load_config
from printserver.jobs import migrate
from printserver.jobs.database import Database


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("db", help="create or upgrade the job store's schema",
                       description="The job store's schema (SQLite in the data folder, or the "
                                   "database of database_url). `serve` upgrades it at start; other "
                                   "commands refuse a database that is not upgraded.")
    db = p.add_subparsers(dest="db_command", metavar="SUBCOMMAND", required=True)
    for name, helptext, func in (
            ("upgrade", "create the schema, or migrate it to this release's revision; prints "
                        "from which revision to which", run_upgrade),
            ("status", "the schema's revision and this release's; exit status 1 when an upgrade "
                       "is needed", run_status)):
        q = db.add_parser(name, help=helptext, description=helptext[0].upper() + helptext[1:])
        q.add_argument("--config", metavar="FILE", help="TOML configuration file")
        q.add_argument("--data-dir", metavar="DIR", help="data folder")
        q.set_defaults(func=func)


def run_upgrade(args: argparse.Namespace) -> int:
    config = load_config(args.config, data_dir=args.data_dir)
    with Database.for_config(config) as database:
        print(migrate.upgrade_database(database))
    return 0


def run_status(args: argparse.Namespace) -> int:
    where, current, head = migrate.status(load_config(args.config, data_dir=args.data_dir))
    state = "up to date" if current == head else "needs `printserver db upgrade`"
    print(f"job store {where}: revision {current or 'none'}, this release's {head}: {state}")
    return 0 if current == head else 1
