"""The jobs' timeline, the indexes of the job listing, who paused a printer, one ``nodes`` table.

* ``job_events``: one row per transition of a job (``JobStore.timeline``). Jobs already stored
  get the events their row tells: accepted (at ``created_at``, by the calling AE title) and, for a
  job past QUEUED, its current state (at ``updated_at``).
* indexes for listings newest first with keyset pagination on (created_at, job_id), alone or per
  printer or calling AE title.
* ``printers.paused_by``.
* ``nodes``: the leases as ISO 8601 UTC text on both backends (PostgreSQL had ``TIMESTAMPTZ``;
  values converted), ``started_at`` on SQLite too. Leases are still timed by the database's clock.
* SQLite: the primary keys of ``jobs``, ``printers`` and ``nodes`` NOT NULL, as declared on
  PostgreSQL (the releases before revisions left them nullable there).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

#: PostgreSQL TIMESTAMPTZ → the text of ``printserver.jobs.schema.stamp``
_PG_STAMP = """to_char({0} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"+00:00"')"""


def upgrade() -> None:
    bind = op.get_bind()
    pg = bind.dialect.name == "postgresql"
    sortable = sa.Text(collation="C") if pg else sa.Text()
    if not pg:
        _sqlite_keys_not_null(bind)

    op.create_table(
        "job_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("job_id", sortable, sa.ForeignKey("jobs.job_id"), nullable=False),
        sa.Column("at", sortable, nullable=False),
        sa.Column("event", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False, server_default=""),
        sa.Column("message", sa.Text(), nullable=False, server_default=""))
    op.create_index("job_events_job", "job_events", ["job_id", "id"])
    op.execute("INSERT INTO job_events (job_id, at, event, state, actor, message) "
               "SELECT job_id, created_at, 'accepted', 'QUEUED', calling_ae, '' FROM jobs "
               "ORDER BY created_at, job_id")
    op.execute("INSERT INTO job_events (job_id, at, event, state, actor, message) "
               "SELECT job_id, updated_at, CASE state WHEN 'RENDERING' THEN 'claimed' "
               "WHEN 'PRINTING' THEN 'printing' WHEN 'DONE' THEN 'done' "
               "WHEN 'FAILED' THEN 'failed' ELSE 'cancelled' END, state, claimed_by, message "
               "FROM jobs WHERE state <> 'QUEUED' ORDER BY created_at, job_id")

    op.drop_index("jobs_state", "jobs")  # job_id added: listings by state need no sort
    op.create_index("jobs_state", "jobs", ["state", "created_at", "job_id"])
    op.create_index("jobs_created", "jobs", ["created_at", "job_id"])
    op.create_index("jobs_printer", "jobs", ["printer", "created_at", "job_id"])
    op.create_index("jobs_calling_ae", "jobs", ["calling_ae", "created_at", "job_id"])

    op.add_column("printers", sa.Column("paused_by", sa.Text(), nullable=False,
                                        server_default=""))

    if pg:
        op.execute("ALTER TABLE nodes ALTER COLUMN started_at DROP DEFAULT, "
                   "ALTER COLUMN renewed_at DROP DEFAULT")
        op.execute("ALTER TABLE nodes " + ", ".join(
            f'ALTER COLUMN {name} TYPE TEXT COLLATE "C" USING {_PG_STAMP.format(name)}'
            for name in ("started_at", "renewed_at", "expires_at")))
        op.execute("ALTER TABLE nodes ALTER COLUMN started_at SET DEFAULT ''")
    else:
        op.add_column("nodes", sa.Column("started_at", sa.Text(), nullable=False,
                                         server_default=""))


def _sqlite_keys_not_null(bind: sa.engine.Connection) -> None:
    """SQLite lets a TEXT PRIMARY KEY hold NULL unless it is declared NOT NULL, which the tables
    of the releases before revisions were not: declare it (SQLite cannot alter a column: batch
    mode copies the table)."""
    for table, key in (("jobs", "job_id"), ("printers", "ae_title"), ("nodes", "node_id")):
        (column,) = [c for c in sa.inspect(bind).get_columns(table) if c["name"] == key]
        if column["nullable"]:
            with op.batch_alter_table(table) as batch:
                batch.alter_column(key, existing_type=sa.Text(), nullable=False)


def downgrade() -> None:
    raise NotImplementedError("printserver upgrades only; restore a backup to go back")
