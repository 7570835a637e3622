"""QC records: displays and their QC sessions, printer calibrations and the step wedges printed
for them, film constancy baselines and measurements; ``films.calibration``.

* ``displays``, ``qc_sessions``: the display registry and its QC history (issue 11);
* ``printer_calibrations`` (one row per version of a printer's measured curve), ``step_wedges``
  (the uncalibrated wedges printed to measure it);
* ``film_baselines``, ``film_constancy``: film printer constancy;
* ``films.calibration``: which printer calibration a film was rendered through (empty for the films
  already stored: they were rendered without one).

New tables only, plus one column with a default: nothing stored is changed.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    sortable = sa.Text(collation="C") if pg else sa.Text()
    double = sa.Double() if pg else sa.REAL()

    op.add_column("films", sa.Column("calibration", sa.Text(), nullable=False, server_default=""))

    op.create_table(
        "displays",
        sa.Column("display_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sortable, nullable=False, unique=True),
        sa.Column("workstation", sa.Text(), nullable=False, server_default=""),
        sa.Column("location", sa.Text(), nullable=False, server_default=""),
        sa.Column("display_class", sa.Text(), nullable=False),
        sa.Column("target_lmax", double, nullable=True),
        sa.Column("target_luminance_ratio", double, nullable=True),
        sa.Column("limits", sa.Text(), nullable=False, server_default="{}"),
        sa.Column("notes", sa.Text(), nullable=False, server_default=""),
        sa.Column("retired", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", sortable, nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False, server_default=""),
        sa.Column("updated_at", sortable, nullable=False))

    op.create_table(
        "qc_sessions",
        sa.Column("session_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("display_id", sa.Integer(), sa.ForeignKey("displays.display_id"),
                  nullable=False),
        sa.Column("measured_at", sortable, nullable=False),
        sa.Column("recorded_at", sortable, nullable=False),
        sa.Column("measured_by", sa.Text(), nullable=False),
        sa.Column("photometer_model", sa.Text(), nullable=False, server_default=""),
        sa.Column("photometer_serial", sa.Text(), nullable=False, server_default=""),
        sa.Column("ambient", double, nullable=False),
        sa.Column("display_class", sa.Text(), nullable=False),
        sa.Column("level_set", sa.Text(), nullable=False),
        sa.Column("readings", sa.Text(), nullable=False),
        sa.Column("uniformity", sa.Text(), nullable=False),
        sa.Column("visual", sa.Text(), nullable=False),
        sa.Column("results", sa.Text(), nullable=False),
        sa.Column("passed", sa.Integer(), nullable=False),
        sa.Column("lmax_prime", double, nullable=False),
        sa.Column("luminance_ratio", double, nullable=False),
        sa.Column("max_abs_kappa", double, nullable=False),
        sa.Column("notes", sa.Text(), nullable=False, server_default=""))
    op.create_index("qc_sessions_display", "qc_sessions",
                    ["display_id", "measured_at", "session_id"])

    op.create_table(
        "printer_calibrations",
        sa.Column("printer", sortable, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sortable, nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("wedge_id", sa.Text(), nullable=False, server_default=""),
        sa.Column("readings", sa.Text(), nullable=False),
        sa.Column("curve", sa.Text(), nullable=False),
        sa.Column("illumination", double, nullable=False),
        sa.Column("ambient", double, nullable=False),
        sa.Column("dmin", double, nullable=False),
        sa.Column("dmax", double, nullable=False),
        sa.Column("lut", sa.Text(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("printer", "version"))

    op.create_table(
        "step_wedges",
        sa.Column("wedge_id", sortable, primary_key=True),
        sa.Column("printer", sortable, nullable=False),
        sa.Column("requested_at", sortable, nullable=False),
        sa.Column("requested_by", sa.Text(), nullable=False),
        sa.Column("bits", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Text(), nullable=False, server_default=""))

    op.create_table(
        "film_baselines",
        sa.Column("baseline_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("printer", sortable, nullable=False),
        sa.Column("set_at", sortable, nullable=False),
        sa.Column("set_by", sa.Text(), nullable=False),
        sa.Column("measurement_id", sa.Integer(), nullable=True),
        sa.Column("low_step", sa.Integer(), nullable=False),
        sa.Column("mid_step", sa.Integer(), nullable=False),
        sa.Column("high_step", sa.Integer(), nullable=False),
        sa.Column("base_fog", double, nullable=False),
        sa.Column("mid_density", double, nullable=False),
        sa.Column("density_difference", double, nullable=False),
        sa.Column("limits", sa.Text(), nullable=False))
    op.create_index("film_baselines_printer", "film_baselines", ["printer", "baseline_id"])

    op.create_table(
        "film_constancy",
        sa.Column("measurement_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("printer", sortable, nullable=False),
        sa.Column("measured_at", sortable, nullable=False),
        sa.Column("measured_by", sa.Text(), nullable=False),
        sa.Column("baseline_id", sa.Integer(), sa.ForeignKey("film_baselines.baseline_id"),
                  nullable=False),
        sa.Column("readings", sa.Text(), nullable=False),
        sa.Column("base_fog", double, nullable=False),
        sa.Column("mid_density", double, nullable=False),
        sa.Column("density_difference", double, nullable=False),
        sa.Column("results", sa.Text(), nullable=False),
        sa.Column("passed", sa.Integer(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False, server_default=""))
    op.create_index("film_constancy_printer", "film_constancy",
                    ["printer", "measured_at", "measurement_id"])


def downgrade() -> None:
    raise NotImplementedError("printserver upgrades only; restore a backup to go back")
