"""The accounts' tables, in the job store's database (one :class:`~sqlalchemy.MetaData` with the
jobs' tables, :data:`printserver.jobs.schema.metadata`; created by revision 0003).

Times are text, ISO 8601 UTC with milliseconds, as everywhere in the job store
(:func:`printserver.jobs.schema.stamp`).
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, Table, Text

from printserver.jobs.schema import metadata, sortable

#: who may sign in (:class:`printserver.accounts.users.User`); ``disabled`` 0 / 1
users = Table(
    "users", metadata,
    Column("name", sortable(), primary_key=True),
    Column("role", Text, nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("created_at", sortable(), nullable=False),
    Column("updated_at", sortable(), nullable=False),
    Column("disabled", Integer, nullable=False, server_default="0"),
)

#: API tokens (:class:`printserver.accounts.tokens.ApiToken`): only the SHA-256 of a token is kept
api_tokens = Table(
    "api_tokens", metadata,
    Column("token_id", sortable(), primary_key=True),
    Column("user_name", sortable(), ForeignKey("users.name"), nullable=False),
    Column("token_sha256", Text, nullable=False, unique=True),
    Column("label", Text, nullable=False, server_default=""),
    Column("created_at", sortable(), nullable=False),
    Column("last_used_at", sortable(), nullable=False, server_default=""),
    Column("revoked_at", sortable(), nullable=False, server_default=""),
)
Index("api_tokens_user", api_tokens.c.user_name)

#: the audit log (:class:`printserver.accounts.audit.AuditRecord`): ``id`` orders records of the
#: same millisecond; listings are newest first with keyset pagination on (at, id)
audit_log = Table(
    "audit_log", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", sortable(), nullable=False),
    Column("user_name", sortable(), nullable=False),
    Column("action", sortable(), nullable=False),
    Column("target", Text, nullable=False, server_default=""),
    Column("address", sortable(), nullable=False, server_default=""),
    Column("outcome", Text, nullable=False),
    Column("detail", Text, nullable=False, server_default=""),
)
Index("audit_log_at", audit_log.c.at, audit_log.c.id)
Index("audit_log_user", audit_log.c.user_name, audit_log.c.at, audit_log.c.id)
Index("audit_log_action", audit_log.c.action, audit_log.c.at, audit_log.c.id)
Index("audit_log_address", audit_log.c.address, audit_log.c.at, audit_log.c.id)

#: settings shared by every node on the database: the web's secret key, setup tokens' hashes
settings = Table(
    "settings", metadata,
    Column("key", sortable(), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", sortable(), nullable=False),
)
