"""Model registry (models, versions, tags, aliases) and versioned artifacts with lineage.

Revision ID: 0002_registry_artifacts
Revises: 0001_initial
Create Date: 2026-11-24
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0002_registry_artifacts"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

LongText = sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# MySQL/MariaDB: an index key is at most 3072 bytes (768 utf8mb4 characters), and the default
# collation folds case; names, keys and paths are case-sensitive everywhere else.
ArtifactPath = sa.String(1024).with_variant(mysql.VARCHAR(760), "mysql", "mariadb")
MYSQL_TABLE: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}


def _create_table(name: str, *items: sa.schema.SchemaItem, **kw: Any) -> None:
    op.create_table(name, *items, **MYSQL_TABLE, **kw)


def _fk(table: str, columns: list[str], target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        columns,
        [f"{target}.{c}" for c in columns],
        name=f"fk_{table}_{columns[0]}_{target}",
        ondelete="CASCADE",
    )


def upgrade() -> None:
    _create_table(
        "registered_models",
        sa.Column("model_pk", BigId, autoincrement=True),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("description", LongText),
        sa.Column("creation_time", sa.BigInteger, nullable=False),
        sa.Column("last_update_time", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("model_pk", name="pk_registered_models"),
        sa.UniqueConstraint("name", name="uq_registered_models_name"),
    )
    _create_table(
        "registered_model_tags",
        sa.Column("model_pk", BigId, nullable=False, autoincrement=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("value", LongText, nullable=False),
        sa.PrimaryKeyConstraint("model_pk", "key", name="pk_registered_model_tags"),
        _fk("registered_model_tags", ["model_pk"], "registered_models"),
        sqlite_with_rowid=False,
    )
    _create_table(
        "model_versions",
        sa.Column("model_pk", BigId, nullable=False, autoincrement=False),
        sa.Column("version", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("source", sa.String(2048), nullable=False),
        sa.Column("run_id", sa.String(32)),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.Column("description", LongText),
        sa.Column("manifest_sha256", sa.String(64)),
        sa.Column("user", sa.String(256)),
        sa.Column("creation_time", sa.BigInteger, nullable=False),
        sa.Column("last_update_time", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("model_pk", "version", name="pk_model_versions"),
        _fk("model_versions", ["model_pk"], "registered_models"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_model_versions_run_id", "model_versions", ["run_id"])
    op.create_index("ix_model_versions_model_pk_stage", "model_versions", ["model_pk", "stage"])
    _create_table(
        "model_version_tags",
        sa.Column("model_pk", BigId, nullable=False, autoincrement=False),
        sa.Column("version", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("value", LongText, nullable=False),
        sa.PrimaryKeyConstraint("model_pk", "version", "key", name="pk_model_version_tags"),
        _fk("model_version_tags", ["model_pk", "version"], "model_versions"),
        sqlite_with_rowid=False,
    )
    _create_table(
        "model_aliases",
        sa.Column("model_pk", BigId, nullable=False, autoincrement=False),
        sa.Column("alias", sa.String(255), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("model_pk", "alias", name="pk_model_aliases"),
        _fk("model_aliases", ["model_pk", "version"], "model_versions"),
        sqlite_with_rowid=False,
    )

    _create_table(
        "artifact_collections",
        sa.Column("collection_pk", BigId, autoincrement=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("creation_time", sa.BigInteger, nullable=False),
        sa.Column("last_update_time", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("collection_pk", name="pk_artifact_collections"),
        sa.UniqueConstraint("name", name="uq_artifact_collections_name"),
    )
    _create_table(
        "artifact_versions",
        sa.Column("collection_pk", BigId, nullable=False, autoincrement=False),
        sa.Column("version", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("description", LongText),
        sa.Column("metadata", LongText, nullable=False),
        sa.Column("producer_run_id", sa.String(32)),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("file_count", sa.Integer, nullable=False),
        sa.Column("creation_time", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("collection_pk", "version", name="pk_artifact_versions"),
        _fk("artifact_versions", ["collection_pk"], "artifact_collections"),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_artifact_versions_digest",
        "artifact_versions",
        ["collection_pk", "digest"],
        unique=True,
    )
    op.create_index(
        "ix_artifact_versions_producer_run_id", "artifact_versions", ["producer_run_id"]
    )
    _create_table(
        "artifact_version_files",
        sa.Column("collection_pk", BigId, nullable=False, autoincrement=False),
        sa.Column("version", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("path", ArtifactPath, nullable=False),
        sa.Column("sha256", sa.String(64)),
        sa.Column("size", sa.BigInteger),
        sa.Column("ref", sa.String(2048)),
        sa.PrimaryKeyConstraint(
            "collection_pk", "version", "path", name="pk_artifact_version_files"
        ),
        _fk("artifact_version_files", ["collection_pk", "version"], "artifact_versions"),
        sqlite_with_rowid=False,
    )
    _create_table(
        "artifact_aliases",
        sa.Column("collection_pk", BigId, nullable=False, autoincrement=False),
        sa.Column("alias", sa.String(255), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("collection_pk", "alias", name="pk_artifact_aliases"),
        _fk("artifact_aliases", ["collection_pk", "version"], "artifact_versions"),
        sqlite_with_rowid=False,
    )
    _create_table(
        "artifact_links",
        sa.Column("collection_pk", BigId, nullable=False, autoincrement=False),
        sa.Column("version", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("relation", sa.String(16), nullable=False),
        sa.Column("link_time", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint(
            "collection_pk", "version", "run_id", "relation", name="pk_artifact_links"
        ),
        _fk("artifact_links", ["collection_pk", "version"], "artifact_versions"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_artifact_links_run_id", "artifact_links", ["run_id"])


def downgrade() -> None:
    for table in (
        "artifact_links",
        "artifact_aliases",
        "artifact_version_files",
        "artifact_versions",
        "artifact_collections",
        "model_aliases",
        "model_version_tags",
        "model_versions",
        "registered_model_tags",
        "registered_models",
    ):
        op.drop_table(table)
