"""The first schema: experiments, runs, params, tags, metrics, artifact index.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

LongText = sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")
Blob = sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# MySQL/MariaDB: an index key is at most 3072 bytes (768 utf8mb4 characters), and the default
# collation folds case; names, keys and paths are case-sensitive everywhere else.
ArtifactPath = sa.String(1024).with_variant(mysql.VARCHAR(760), "mysql", "mariadb")
MYSQL_TABLE: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}


def _create_table(name: str, *items: sa.schema.SchemaItem, **kw: Any) -> None:
    op.create_table(name, *items, **MYSQL_TABLE, **kw)


def _run_pk(table: str) -> list[sa.schema.SchemaItem]:
    return [
        sa.Column("run_pk", BigId, nullable=False, autoincrement=False),
        sa.ForeignKeyConstraint(
            ["run_pk"], ["runs.run_pk"], name=f"fk_{table}_run_pk_runs", ondelete="CASCADE"
        ),
    ]


def _value_indexes(table: str) -> None:
    dialect = op.get_bind().dialect.name
    if dialect in ("sqlite", "mysql", "mariadb"):
        op.create_index(
            f"ix_{table}_key_value", table, ["key", "value"], mysql_length={"value": 191}
        )
    elif dialect == "postgresql":
        op.create_index(f"ix_{table}_value_hash", table, ["value"], postgresql_using="hash")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    _create_table(
        "experiments",
        sa.Column("experiment_id", sa.Integer, autoincrement=True),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("artifact_location", sa.String(2048), nullable=False),
        sa.Column("lifecycle_stage", sa.String(16), nullable=False),
        sa.Column("description", LongText),
        sa.Column("creation_time", sa.BigInteger),
        sa.Column("last_update_time", sa.BigInteger),
        sa.PrimaryKeyConstraint("experiment_id", name="pk_experiments"),
        sa.UniqueConstraint("name", name="uq_experiments_name"),
    )
    _create_table(
        "experiment_tags",
        sa.Column("experiment_id", sa.Integer, nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("value", LongText, nullable=False),
        sa.PrimaryKeyConstraint("experiment_id", "key", name="pk_experiment_tags"),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.experiment_id"],
            name="fk_experiment_tags_experiment_id_experiments",
            ondelete="CASCADE",
        ),
        sqlite_with_rowid=False,
    )
    _create_table(
        "runs",
        sa.Column("run_pk", BigId, autoincrement=True),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("experiment_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("start_time", sa.BigInteger, nullable=False),
        sa.Column("end_time", sa.BigInteger),
        sa.Column("parent_run_id", sa.String(32)),
        sa.Column("user", sa.String(256)),
        sa.Column("artifact_uri", sa.String(2048), nullable=False),
        sa.Column("lifecycle_stage", sa.String(16), nullable=False),
        sa.Column("alive_until", sa.BigInteger),
        sa.Column("config", LongText, nullable=False),
        sa.Column("deleted_time", sa.BigInteger),
        sa.PrimaryKeyConstraint("run_pk", name="pk_runs"),
        sa.UniqueConstraint("run_id", name="uq_runs_run_id"),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.experiment_id"],
            name="fk_runs_experiment_id_experiments",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_runs_experiment_id_stage_start",
        "runs",
        ["experiment_id", "lifecycle_stage", "start_time"],
    )
    op.create_index("ix_runs_parent_run_id", "runs", ["parent_run_id"])
    op.create_index("ix_runs_name", "runs", ["name"])

    _create_table(
        "params",
        *_run_pk("params"),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("value_num", sa.Double),
        sa.PrimaryKeyConstraint("run_pk", "key", name="pk_params"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_params_key_value_num", "params", ["key", "value_num"])
    _value_indexes("params")

    _create_table(
        "tags",
        *_run_pk("tags"),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("value", LongText, nullable=False),
        sa.PrimaryKeyConstraint("run_pk", "key", name="pk_tags"),
        sqlite_with_rowid=False,
    )
    if dialect == "postgresql":
        op.create_index("ix_tags_key", "tags", ["key"])
    _value_indexes("tags")

    _create_table(
        "latest_metrics",
        *_run_pk("latest_metrics"),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("value", sa.Double),
        sa.Column("is_nan", sa.Boolean, nullable=False),
        sa.Column("step", sa.BigInteger, nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("run_pk", "key", name="pk_latest_metrics"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_latest_metrics_key_value", "latest_metrics", ["key", "value"])

    _create_table(
        "metric_chunks",
        sa.Column("chunk_id", BigId, autoincrement=True),
        *_run_pk("metric_chunks"),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("min_step", sa.BigInteger, nullable=False),
        sa.Column("max_step", sa.BigInteger, nullable=False),
        sa.Column("is_sorted", sa.Boolean, nullable=False),
        sa.Column("steps_blob", Blob, nullable=False),
        sa.Column("timestamps_blob", Blob, nullable=False),
        sa.Column("values_blob", Blob, nullable=False),
        sa.Column("batch_id", sa.String(48)),
        sa.PrimaryKeyConstraint("chunk_id", name="pk_metric_chunks"),
    )
    op.create_index("ix_metric_chunks_run_pk_key", "metric_chunks", ["run_pk", "key", "chunk_id"])
    op.create_index(
        "ix_metric_chunks_batch", "metric_chunks", ["run_pk", "key", "batch_id"], unique=True
    )

    _create_table(
        "artifact_files",
        *_run_pk("artifact_files"),
        sa.Column("path", ArtifactPath, nullable=False),
        sa.Column("size", sa.BigInteger),
        sa.Column("sha256", sa.String(64)),
        sa.Column("created", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("run_pk", "path", name="pk_artifact_files"),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    for table in (
        "artifact_files",
        "metric_chunks",
        "latest_metrics",
        "tags",
        "params",
        "runs",
        "experiment_tags",
        "experiments",
    ):
        op.drop_table(table)
