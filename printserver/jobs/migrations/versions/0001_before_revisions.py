"""The schema of the releases before revisions, as their stores created it at every open.

It creates the tables in an empty database, and completes the database of any earlier release
(tables there, no ``alembic_version``): the first release's ``jobs`` lacked the columns of
:data:`LATER_JOB_COLUMNS`, which its successors added when missing; what is already there is kept
as it is. PostgreSQL and SQLite differed in the ``nodes`` table (leases as ``TIMESTAMPTZ`` on
PostgreSQL, text on SQLite), as recorded here; revision 0002 makes them one.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

#: columns added to ``jobs`` after the first release: (name, type, default)
LATER_JOB_COLUMNS = (
    ("attempts", "int", "0"),
    ("claimed_by", "text", ""),
    ("claimed_at", "sortable", ""),
    ("finished_at", "sortable", ""),
    ("retry_at", "sortable", ""),
    ("retries", "int", "0"),
    ("output_ref", "text", ""),
    ("printing_at", "text", ""),
    ("cancel_requested", "int", "0"),
    ("purged_at", "text", ""),
)


def _types(dialect: str) -> dict[str, sa.types.TypeEngine]:
    """The column types of that time per dialect (times and ids ``COLLATE "C"`` on PostgreSQL)."""
    pg = dialect == "postgresql"
    return {"int": sa.Integer(), "text": sa.Text(),
            "sortable": sa.Text(collation="C") if pg else sa.Text(),
            "real": postgresql.DOUBLE_PRECISION() if pg else sa.REAL()}


def upgrade() -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    t = _types(dialect)
    have = set(sa.inspect(bind).get_table_names())

    def col(name: str, kind: str, **kw: object) -> sa.Column:
        return sa.Column(name, t[kind], nullable=False, **kw)

    if "jobs" not in have:
        op.create_table(
            "jobs",
            col("job_id", "sortable", primary_key=True),
            col("print_job_uid", "text", unique=True),
            col("state", "text"), col("printer", "text"), col("calling_ae", "text"),
            col("called_ae", "text"), col("film_session_label", "text"),
            col("print_priority", "text"), col("film_count", "int"), col("copies", "int"),
            col("created_at", "sortable"), col("updated_at", "sortable"),
            col("spool_dir", "text"), col("manifest_sha256", "text"),
            col("message", "text", server_default=""))
    present = {c["name"] for c in sa.inspect(bind).get_columns("jobs")}
    for name, kind, default in LATER_JOB_COLUMNS:
        if name not in present:
            op.add_column("jobs", col(name, kind, server_default=default))
    if "jobs_state" not in {i["name"] for i in sa.inspect(bind).get_indexes("jobs")}:
        op.create_index("jobs_state", "jobs", ["state", "created_at"])

    if "films" not in have:
        op.create_table(
            "films",
            sa.Column("job_id", t["sortable"], sa.ForeignKey("jobs.job_id"), nullable=False),
            col("film", "int"), col("copies", "int"), col("pdf_files", "text"),
            col("preview", "text"), col("width_mm", "real"), col("height_mm", "real"),
            col("dpi", "real"), col("render_seconds", "real"), col("warnings", "text"),
            sa.PrimaryKeyConstraint("job_id", "film"))
    if "printers" not in have:
        op.create_table(
            "printers",
            col("ae_title", "sortable", primary_key=True),
            col("paused", "int", server_default="0"),
            col("paused_at", "text", server_default=""),
            col("output_status", "text", server_default="NORMAL"),
            col("output_status_info", "text", server_default="NORMAL"),
            col("message", "text", server_default=""),
            col("updated_at", "text", server_default=""))
    if "nodes" not in have:
        if dialect == "postgresql":
            stamp = postgresql.TIMESTAMP(timezone=True)
            op.create_table(
                "nodes",
                sa.Column("node_id", sa.Text(), primary_key=True),
                sa.Column("started_at", stamp, nullable=False, server_default=sa.func.now()),
                sa.Column("renewed_at", stamp, nullable=False, server_default=sa.func.now()),
                sa.Column("expires_at", stamp, nullable=False))
        else:
            op.create_table("nodes", col("node_id", "text", primary_key=True),
                            col("renewed_at", "text"), col("expires_at", "text"))


def downgrade() -> None:
    raise NotImplementedError("the schema of the releases before revisions is the first one")
