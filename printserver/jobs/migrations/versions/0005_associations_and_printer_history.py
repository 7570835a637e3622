"""What the admin pages read: the Print SCP's associations, the printers' status history, and an
index for the dashboard.

* ``associations``: one row per association the Print SCP accepted or rejected, written when it
  ended (``printserver.jobs.association_log``); indexes for the Associations page, newest first
  with keyset pagination on (started_at, id), alone or per calling AE title, peer or outcome.
* ``printer_events``: one row per pause, resume and change of an output device's status, with
  the printer's stored state after it. A printer that is paused, or whose output is not NORMAL,
  when this revision runs gets one row telling that state (at its ``paused_at`` /
  ``updated_at``), so that its history does not start in the middle of a condition.
* ``jobs_printer_state`` (printer, state, created_at, job_id): a printer's queue, its newest
  FAILED job and the job list filtered by printer and state, each one index range.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    sortable = sa.Text(collation="C") if pg else sa.Text()
    double = sa.Double() if pg else sa.REAL()

    op.create_index("jobs_printer_state", "jobs", ["printer", "state", "created_at", "job_id"])

    op.create_table(
        "printer_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("ae_title", sortable, nullable=False),
        sa.Column("at", sortable, nullable=False),
        sa.Column("event", sa.Text(), nullable=False),
        sa.Column("paused", sa.Integer(), nullable=False),
        sa.Column("output_status", sa.Text(), nullable=False),
        sa.Column("output_status_info", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False, server_default=""),
        sa.Column("actor", sa.Text(), nullable=False, server_default=""))
    op.create_index("printer_events_printer", "printer_events", ["ae_title", "id"])
    op.execute("INSERT INTO printer_events (ae_title, at, event, paused, output_status, "
               "output_status_info, message, actor) "
               "SELECT ae_title, CASE WHEN paused = 1 AND paused_at <> '' THEN paused_at "
               "ELSE updated_at END, CASE WHEN paused = 1 THEN 'paused' ELSE 'output' END, "
               "paused, output_status, output_status_info, message, "
               "CASE WHEN paused = 1 THEN paused_by ELSE '' END FROM printers "
               "WHERE paused = 1 OR output_status <> 'NORMAL' ORDER BY ae_title")

    op.create_table(
        "associations",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("started_at", sortable, nullable=False),
        sa.Column("ended_at", sortable, nullable=False),
        sa.Column("duration", double, nullable=False),
        sa.Column("server", sa.Text(), nullable=False, server_default=""),
        sa.Column("calling_ae", sortable, nullable=False),
        sa.Column("called_ae", sa.Text(), nullable=False),
        sa.Column("peer_host", sortable, nullable=False),
        sa.Column("peer_port", sa.Integer(), nullable=False),
        sa.Column("tls_version", sa.Text(), nullable=False, server_default=""),
        sa.Column("tls_cipher", sa.Text(), nullable=False, server_default=""),
        sa.Column("outcome", sortable, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False, server_default=""),
        sa.Column("reject_result", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("reject_source", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("reject_reason", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("contexts", sa.Text(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("statuses", sa.Text(), nullable=False),
        sa.Column("job_ids", sa.Text(), nullable=False))
    op.create_index("associations_started", "associations", ["started_at", "id"])
    op.create_index("associations_calling_ae", "associations", ["calling_ae", "started_at", "id"])
    op.create_index("associations_peer", "associations", ["peer_host", "started_at", "id"])
    op.create_index("associations_outcome", "associations", ["outcome", "started_at", "id"])


def downgrade() -> None:
    raise NotImplementedError("printserver upgrades only; restore a backup to go back")
