"""The job store's schema as an explicit, versioned step: ``printserver db upgrade``.

Revisions are Alembic's (``printserver/jobs/migrations/versions/``), run programmatically (no
``alembic.ini``). :func:`upgrade` creates the schema in an empty database and moves an older one
to :data:`HEAD`, also a database of a release before revisions existed (its tables there, no
``alembic_version``). Two nodes upgrading at once do not race: on PostgreSQL the upgrade holds an
advisory lock, on SQLite the file's write lock; the one that comes second finds the work done.

Opening a store runs no DDL: :func:`check` (one query) refuses a database that is not at
:data:`HEAD`, saying what to run. ``printserver serve`` upgrades at start.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Column, Connection, MetaData, String, Table, inspect, select

from printserver.config import Config
from printserver.jobs.database import Database
from printserver.jobs.errors import JobStoreError

log = logging.getLogger(__name__)

#: the revision this release's code needs (the newest file in migrations/versions/; a test checks)
HEAD = "0005"

#: Alembic's own table: the revision a database is at
_VERSION = Table("alembic_version", MetaData(), Column("version_num", String(32)))


@dataclass(frozen=True)
class Upgrade:
    """What :func:`upgrade` did: ``from_revision`` None for a database without revisions (empty,
    or made by a release before them)."""

    where: str
    from_revision: str | None
    to_revision: str

    @property
    def changed(self) -> bool:
        return self.from_revision != self.to_revision

    def __str__(self) -> str:
        if not self.changed:
            return f"job store {self.where}: at revision {self.to_revision} (head), nothing to do"
        return (f"job store {self.where}: upgraded from revision {self.from_revision or 'none'} "
                f"to {self.to_revision} (head)")


def _revision(connection: Connection) -> str | None:
    """The revision of the database on ``connection`` (None: no ``alembic_version`` table)."""
    if not inspect(connection).has_table(_VERSION.name):
        return None
    return connection.execute(select(_VERSION.c.version_num)).scalar()


def current_revision(database: Database) -> str | None:
    """The database's revision; None when it has none (empty, or older than revisions).

    One query when the database has revisions (the case of every open)."""
    if not database.exists():
        return None
    try:
        with database.read("reading the schema revision") as connection:
            return connection.execute(select(_VERSION.c.version_num)).scalar()
    except JobStoreError:
        with database.read("reading the schema revision") as connection:
            return _revision(connection)  # no such table: None; else the failure again


def upgrade_command(config: Config) -> str:
    """The command that upgrades the database of ``config``."""
    if config.database_url:
        return ("printserver db upgrade --config FILE (the configuration file whose "
                "database_url names this database)")
    return f"printserver db upgrade --data-dir {config.data_dir}"


def check(database: Database, config: Config) -> None:
    """Raise :class:`JobStoreError` unless the database is at :data:`HEAD`; the message says what
    to run."""
    revision = current_revision(database)
    if revision == HEAD:
        return
    if not database.exists():
        raise JobStoreError(f"{database.where}: no job store here yet: run "
                            f"`{upgrade_command(config)}` to create it")
    raise JobStoreError(f"{database.where}: the job store's schema is at revision "
                        f"{revision or 'none'}, this release needs {HEAD}: run "
                        f"`{upgrade_command(config)}`")


def upgrade_database(database: Database) -> Upgrade:
    """Create or migrate the schema of ``database`` to :data:`HEAD`; one query when it is there.

    Raises :class:`JobStoreError` when the database fails or is at a revision this release does
    not know (made by a newer one)."""
    before = current_revision(database)
    if before == HEAD:
        return Upgrade(database.where, HEAD, HEAD)
    database.prepare()
    with database.write("upgrading the schema") as connection:
        database.lock_schema(connection)
        before = _revision(connection)  # again, now that no other node upgrades
        if before != HEAD:
            _run_alembic(database, connection)
    return Upgrade(database.where, before, HEAD)


def upgrade(config: Config) -> Upgrade:
    """Create or migrate the job store of a configuration (:func:`upgrade_database`); logs what
    it did (``serve`` calls this at start)."""
    with Database.for_config(config) as database:
        done = upgrade_database(database)
    log.info("%s", done)
    return done


def status(config: Config) -> tuple[str, str | None, str]:
    """(where, current revision or None, :data:`HEAD`) of a configuration's job store."""
    with Database.for_config(config) as database:
        return database.where, current_revision(database), HEAD


def _run_alembic(database: Database, connection: Connection) -> None:
    """``alembic upgrade head`` on ``connection``, inside its transaction."""
    from alembic import command
    from alembic.config import Config as AlembicConfig
    from alembic.util import CommandError

    alembic = AlembicConfig()
    alembic.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    alembic.attributes["connection"] = connection
    try:
        command.upgrade(alembic, "head")
    except CommandError as exc:  # e.g. a revision of a newer release
        raise JobStoreError(f"{database.where}: cannot upgrade the schema: {exc}") from exc
