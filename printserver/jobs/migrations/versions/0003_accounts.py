"""Accounts for the web UI and the JSON API: users, API tokens, the audit log, settings.

* ``users``: name, role (admin, qa, viewer), argon2id password hash, disabled.
* ``api_tokens``: only the SHA-256 of a token, its user, label, times of creation, last use and
  revocation.
* ``audit_log``: who did what, when, from which address, with what outcome; indexes for the
  listing newest first on (at, id), alone or per user, action or address (the sign-in throttle
  counts failures per user name and per address through the same indexes).
* ``settings``: values every node sharing the database shares (the web's secret key, the hashes
  of first-run setup tokens).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    sortable = sa.Text(collation="C") if pg else sa.Text()

    op.create_table(
        "users",
        sa.Column("name", sortable, primary_key=True),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("created_at", sortable, nullable=False),
        sa.Column("updated_at", sortable, nullable=False),
        sa.Column("disabled", sa.Integer(), nullable=False, server_default="0"))

    op.create_table(
        "api_tokens",
        sa.Column("token_id", sortable, primary_key=True),
        sa.Column("user_name", sortable, sa.ForeignKey("users.name"), nullable=False),
        sa.Column("token_sha256", sa.Text(), nullable=False, unique=True),
        sa.Column("label", sa.Text(), nullable=False, server_default=""),
        sa.Column("created_at", sortable, nullable=False),
        sa.Column("last_used_at", sortable, nullable=False, server_default=""),
        sa.Column("revoked_at", sortable, nullable=False, server_default=""))
    op.create_index("api_tokens_user", "api_tokens", ["user_name"])

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", sortable, nullable=False),
        sa.Column("user_name", sortable, nullable=False),
        sa.Column("action", sortable, nullable=False),
        sa.Column("target", sa.Text(), nullable=False, server_default=""),
        sa.Column("address", sortable, nullable=False, server_default=""),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False, server_default=""))
    op.create_index("audit_log_at", "audit_log", ["at", "id"])
    op.create_index("audit_log_user", "audit_log", ["user_name", "at", "id"])
    op.create_index("audit_log_action", "audit_log", ["action", "at", "id"])
    op.create_index("audit_log_address", "audit_log", ["address", "at", "id"])

    op.create_table(
        "settings",
        sa.Column("key", sortable, primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sortable, nullable=False))


def downgrade() -> None:
    raise NotImplementedError("printserver upgrades only; restore a backup to go back")
