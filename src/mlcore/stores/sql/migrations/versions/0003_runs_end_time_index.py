"""An index on runs' end times per experiment, so that an experiment's last activity is one
index lookup instead of a read of every run (the UI's experiment list).

Revision ID: 0003_runs_end_time_index
Revises: 0002_registry_artifacts
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0003_runs_end_time_index"
down_revision = "0002_registry_artifacts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_runs_experiment_id_stage_end", "runs", ["experiment_id", "lifecycle_stage", "end_time"]
    )


def downgrade() -> None:
    op.drop_index("ix_runs_experiment_id_stage_end", table_name="runs")
