"""Settings every node on one database shares: a small key → text table.

The web's secret key lives here (:meth:`Settings.secret_key`): made once by whichever node asks
first, then read by all, so that a session cookie signed by one ``serve`` is good on every other
``serve`` of the same PostgreSQL store (behind one load balancer).
"""

from __future__ import annotations

import secrets

from sqlalchemy import Connection, delete, select

from printserver.accounts.model import Clock, utc_now
from printserver.accounts.schema import settings
from printserver.jobs.database import Database
from printserver.jobs.schema import stamp

#: the key of the web's secret key (Flask's SECRET_KEY: sessions and CSRF tokens are signed with it)
SECRET_KEY = "web.secret_key"


class Settings:
    """Shared settings in the job store's database."""

    def __init__(self, database: Database, clock: Clock = utc_now) -> None:
        self.db = database
        self.clock = clock

    def get(self, key: str) -> str | None:
        """The value of ``key``, or None."""
        with self.db.read(f"reading setting {key}") as connection:
            return connection.execute(select(settings.c.value)
                                      .where(settings.c.key == key)).scalar()

    def put(self, key: str, value: str) -> None:
        """Set ``key`` to ``value`` (insert or replace)."""
        with self.db.write(f"setting {key} not stored") as connection:
            self.upsert(connection, key, value)

    def upsert(self, connection: Connection, key: str, value: str) -> None:
        """Set ``key`` on ``connection``, in its transaction."""
        at = stamp(self.clock())
        insert = self.db.insert(settings).values(key=key, value=value, updated_at=at)
        connection.execute(insert.on_conflict_do_update(
            index_elements=[settings.c.key], set_={"value": value, "updated_at": at}))

    def setdefault(self, key: str, value: str) -> str:
        """The value of ``key``; when it has none, ``value`` is stored first. Two nodes asking at
        once get the same value (the first insert wins, the second finds it)."""
        with self.db.write(f"setting {key} not stored") as connection:
            connection.execute(self.db.insert(settings).values(
                key=key, value=value, updated_at=stamp(self.clock()))
                .on_conflict_do_nothing(index_elements=[settings.c.key]))
            return connection.execute(select(settings.c.value)
                                      .where(settings.c.key == key)).scalar_one()

    def delete(self, connection: Connection, prefix: str,
               value_below: str | None = None) -> dict[str, str]:
        """Delete every key starting with ``prefix`` (and whose value sorts before
        ``value_below``, when given) on ``connection``; the deleted key → value. On PostgreSQL a
        concurrent transaction deleting the same rows waits for this one and then deletes none
        of them (what makes a setup token single-use)."""
        query = delete(settings).where(settings.c.key.startswith(prefix, autoescape=True))
        if value_below is not None:
            query = query.where(settings.c.value < value_below)
        rows = connection.execute(query.returning(settings.c.key, settings.c.value)).all()
        return {row.key: row.value for row in rows}

    def secret_key(self) -> str:
        """The web's secret key: 32 random bytes, hex, made once for the database."""
        return self.setdefault(SECRET_KEY, secrets.token_hex(32))
