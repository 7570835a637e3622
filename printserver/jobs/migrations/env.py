"""Alembic's environment: run the revisions on the connection the caller passes.

:func:`printserver.jobs.migrate.upgrade_database` opens the transaction (and takes the schema
lock) before this runs; Alembic then works inside it (its own ``begin_transaction`` sees the
transaction and adds none). DDL is transactional on both backends (on SQLite thanks to the
explicit BEGIN of :class:`printserver.jobs.database.Database`): a failed upgrade leaves nothing
half done. SQLite alters tables in batch mode where it must. The target metadata is the whole database's:
the jobs' tables and the accounts' (:mod:`printserver.accounts.schema`).
"""

from alembic import context

import printserver.accounts.schema  # noqa: F401  (the accounts' tables, revision 0003)
from printserver.jobs.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, transactional_ddl=True,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
