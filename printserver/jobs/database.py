"""The job store's database: an SQLAlchemy engine, its transactions, and what differs per backend.

:class:`Database` is all the job store knows about connections. The store writes its queries once
(SQLAlchemy Core over :mod:`printserver.jobs.schema`); what SQLite and PostgreSQL do differently
sits in two small classes of hooks here:

* **SQLite** (one file, one ``serve``): WAL journal and ``synchronous=FULL`` (a committed job
  survives power loss), a busy timeout of 30 s; a write transaction starts with ``BEGIN
  IMMEDIATE`` (it takes the write lock at once, so writers queue instead of failing on a lock
  upgrade).
* **PostgreSQL** (several nodes, ``postgresql+psycopg``): ``READ COMMITTED`` write transactions;
  claims take their row with ``FOR UPDATE SKIP LOCKED``, so that two workers never take the same
  job nor wait for each other; leases are timed by the server's clock; the schema upgrade holds
  an advisory lock; a connection the server dropped is noticed when taken from the pool and
  replaced (``pool_pre_ping``).

Transactions are explicit on both, after SQLAlchemy's recipe for the ``sqlite3`` driver
("Serializable isolation / Savepoints / Transactional DDL"): the drivers run in autocommit and the
``begin`` event emits the BEGIN a piece of work needs (:meth:`_SQLite.begin`,
:meth:`_PostgreSQL.begin`): a write, a read of several statements that must see one snapshot, or
none for a read of one statement (no BEGIN / ROLLBACK round trips on the SCP's hot path). DDL is
transactional too (a schema upgrade is all or nothing).

Every failure of the database, reads included, leaves as a
:class:`~printserver.jobs.errors.JobStoreError` that names the database and the work.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Select, Table, create_engine, event, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.sql.dml import Insert

from printserver.config import Config
from printserver.errors import ConfigError
from printserver.jobs.errors import JobStoreError

#: execution option: the statement that begins the connection's transaction (None: no BEGIN)
_BEGIN = "printserver_begin"


class _SQLite:
    """Hooks of an SQLite file: one node; writers serialised by the database's write lock."""

    name = "sqlite"
    shared = False
    #: seconds a statement waits for another connection's lock before failing
    busy_timeout = 30.0

    def __init__(self, path: Path, synchronous: str = "FULL") -> None:
        self.path = path
        self.synchronous = synchronous

    def engine(self) -> Engine:
        engine = create_engine(URL.create("sqlite", database=str(self.path)),
                               connect_args={"timeout": self.busy_timeout})
        synchronous = self.synchronous

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # the driver emits no BEGIN of its own
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute(f"PRAGMA synchronous={synchronous}")
            finally:
                cursor.close()

        return engine

    @staticmethod
    def begin(write: bool, snapshot: bool) -> str | None:
        """A write takes the write lock at once; a read of several statements sees one snapshot;
        a read of one statement is a transaction by itself."""
        return "BEGIN IMMEDIATE" if write else "BEGIN" if snapshot else None

    def exists(self) -> bool:
        return self.path.exists()

    def prepare(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def claim(query: Select) -> Select:
        return query  # BEGIN IMMEDIATE: no other writer runs meanwhile

    @staticmethod
    def lock(query: Select) -> Select:
        return query

    @staticmethod
    def clock(connection: Connection) -> datetime:
        return datetime.now(timezone.utc)  # one machine: its clock is the database's

    @staticmethod
    def insert(table: Table) -> Insert:
        return sqlite.insert(table)

    @staticmethod
    def lock_schema(connection: Connection) -> None:
        """Nothing: the write transaction (BEGIN IMMEDIATE) already excludes other writers."""


class _PostgreSQL:
    """Hooks of a PostgreSQL database shared by several nodes."""

    name = "postgresql"
    shared = True
    #: advisory lock key held while the schema is upgraded ("printsrv" in ASCII)
    schema_lock_key = 0x7072696E74737276

    def __init__(self, url: URL, connect_timeout: int = 10, durable: bool = True) -> None:
        self.url = url.set(drivername="postgresql+psycopg")
        self.connect_timeout = connect_timeout
        self.durable = durable

    def engine(self) -> Engine:
        try:
            import psycopg  # noqa: F401  (the driver SQLAlchemy loads: a clear error if absent)
        except ImportError as exc:
            raise ConfigError(
                f"database_url names a PostgreSQL database but the PostgreSQL driver (psycopg) is "
                f"not installed: pip install 'printserver[postgresql]' ({exc})") from None
        connect_args: dict[str, Any] = {"connect_timeout": self.connect_timeout,
                                        "application_name": "printserver"}
        if not self.durable:  # a commit does not wait for the WAL to reach the disk
            connect_args["options"] = "-c synchronous_commit=off"
        return create_engine(self.url, isolation_level="AUTOCOMMIT", pool_pre_ping=True,
                             connect_args=connect_args)

    @staticmethod
    def begin(write: bool, snapshot: bool) -> str | None:
        """A write in READ COMMITTED (the claims lock their rows); a read of several statements
        in one snapshot; a read of one statement is a transaction by itself."""
        return ("BEGIN" if write else
                "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" if snapshot else None)

    @staticmethod
    def exists() -> bool:
        return True  # the server says otherwise when connecting

    @staticmethod
    def prepare() -> None:
        """Nothing: the database itself is created by its administrator."""

    @staticmethod
    def claim(query: Select) -> Select:
        return query.with_for_update(skip_locked=True)

    @staticmethod
    def lock(query: Select) -> Select:
        return query.with_for_update()

    @staticmethod
    def clock(connection: Connection) -> datetime:
        return connection.execute(select(func.now())).scalar_one()  # the server's: one for all nodes

    @staticmethod
    def insert(table: Table) -> Insert:
        return postgresql.insert(table)

    def lock_schema(self, connection: Connection) -> None:
        connection.execute(select(func.pg_advisory_xact_lock(self.schema_lock_key)))


def _begin(connection: Connection) -> None:
    """The ``begin`` event: emit the BEGIN the connection's work asked for (see the module)."""
    begin = connection.get_execution_options().get(_BEGIN)
    if begin:
        connection.exec_driver_sql(begin)


def _redacted(url: URL) -> str:
    return url.render_as_string(hide_password=True)


class Database:
    """The job store's database: engine, transactions, dialect hooks, one error type.

    Open one with :meth:`for_config` or :meth:`for_url`; :meth:`close` disposes of its pool.

    Attributes
    ----------
    url : str
        The URL as configured (``sqlite:///PATH`` for SQLite), to open the same database again.
    where : str
        The database for messages: the SQLite file, or the PostgreSQL URL without its password.
    shared : bool
        Several nodes may share it (PostgreSQL).
    """

    def __init__(self, url: str, where: str, backend: _SQLite | _PostgreSQL) -> None:
        self.url = url
        self.where = where
        self.backend = backend
        self.shared = backend.shared
        self.engine = backend.engine()
        event.listen(self.engine, "begin", _begin)
        self._read_options = {snapshot: {_BEGIN: backend.begin(False, snapshot)}
                              for snapshot in (False, True)}
        self._write_options = {_BEGIN: backend.begin(True, False)}

    @classmethod
    def for_config(cls, config: Config, durable: bool = True) -> Database:
        """The database of a configuration: ``database_url`` or SQLite in ``data_dir``."""
        if not config.database_url:
            return cls.for_url(f"sqlite:///{config.sqlite_path}", durable)
        return cls.for_url(config.database_url, durable)

    @classmethod
    def for_url(cls, url: str, durable: bool = True) -> Database:
        """``sqlite:///PATH``, or ``postgresql://user[:password]@host[:port]/database`` (also
        ``postgres://``; libpq's environment, ``PGPASSWORD``, ``~/.pgpass`` …, applies).

        ``durable`` False: for records that may be lost in a power failure (the association
        records): a commit does not wait for the disk (SQLite ``synchronous=NORMAL`` in WAL mode,
        PostgreSQL ``synchronous_commit=off``), so the write lock is held for microseconds, not
        an fsync; what is committed stays consistent, and the durable commits of other
        connections take it to the disk with them."""
        if url.startswith("sqlite:///"):
            path = Path(url[len("sqlite:///"):])
            # PRAGMA synchronous 2 = FULL, 1 = NORMAL (in WAL mode: no fsync at commit)
            return cls(url, str(path), _SQLite(path, "FULL" if durable else "1"))
        if url.startswith(("postgresql://", "postgres://")):
            try:
                parsed = make_url(url)
            except ArgumentError as exc:
                raise ConfigError(f"database_url: {exc}") from None
            return cls(url, _redacted(parsed), _PostgreSQL(parsed, durable=durable))
        raise ConfigError(f"database_url {url.split('@')[-1]!r}: expected sqlite:///PATH or "
                          "postgresql://user@host:port/database")

    # -- transactions ------------------------------------------------------------------------------
    @contextmanager
    def read(self, work: str, snapshot: bool = False) -> Iterator[Connection]:
        """A connection for reads; ``work`` says what is read, for the :class:`JobStoreError` of a
        failure. With ``snapshot`` its statements see one state of the database (one
        transaction); without, each statement sees its own."""
        try:
            with self.engine.connect() as connection:
                connection.execution_options(**self._read_options[snapshot])
                yield connection
        except SQLAlchemyError as exc:
            raise JobStoreError(self._message(work, exc)) from exc

    @contextmanager
    def write(self, work: str,
              integrity: type[JobStoreError] = JobStoreError) -> Iterator[Connection]:
        """A connection in one write transaction, committed when the block ends without an
        exception (any exception rolls it back). A violated constraint raises ``integrity``, any
        other failure :class:`JobStoreError`."""
        try:
            with self.engine.connect() as connection:
                connection.execution_options(**self._write_options)
                with connection.begin():
                    yield connection
        except IntegrityError as exc:
            raise integrity(self._message(work, exc)) from exc
        except SQLAlchemyError as exc:
            raise JobStoreError(self._message(work, exc)) from exc

    def _message(self, work: str, exc: Exception) -> str:
        reason = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
        return f"{self.where}: {work}: {str(reason).strip()}"

    # -- dialect hooks -----------------------------------------------------------------------------
    def claim(self, query: Select) -> Select:
        """``query`` selecting rows to claim, skipping rows another transaction holds."""
        return self.backend.claim(query)

    def lock(self, query: Select) -> Select:
        """``query`` locking the rows it selects until the transaction ends."""
        return self.backend.lock(query)

    def clock(self, connection: Connection) -> datetime:
        """Now by the database's clock (the same for every node sharing it)."""
        return self.backend.clock(connection)

    def insert(self, table: Table) -> Insert:
        """The dialect's INSERT for ``table`` (with ``on_conflict_do_nothing`` / ``_do_update``)."""
        return self.backend.insert(table)

    def lock_schema(self, connection: Connection) -> None:
        """Exclude other nodes' schema upgrades until the transaction ends."""
        self.backend.lock_schema(connection)

    def exists(self) -> bool:
        """False for an SQLite file not created yet (nothing to open, nothing created)."""
        return self.backend.exists()

    def prepare(self) -> None:
        """Make the database creatable (SQLite: its folder)."""
        self.backend.prepare()

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.backend.name

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
