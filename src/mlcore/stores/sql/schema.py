"""Tables of the SQL store (SQLAlchemy Core; the runtime view of the schema).

The schema's history lives in Alembic migrations (``migrations/versions``); a test checks
that migrating an empty database to head gives exactly these tables.

Metrics are stored in two forms:

- ``metric_chunks``: every point, packed column-wise into binary arrays, one row per run,
  key and flush (int64 steps, int64 ms timestamps, float64 values, little-endian). 24 bytes a
  point, and a history of a million points is a handful of rows read without per-row work.
- ``latest_metrics``: the last value of each metric of a run (max step, then timestamp),
  what search and ``Run.data.metrics`` read.

Runs have an integer surrogate key (``run_pk``) that every per-run table references; the
32-hex ``run_id`` users see is a unique column of ``runs``. Integer keys make the id sets a
search builds, the joins and the indexes several times cheaper than text keys would. On
SQLite the per-run tables are clustered by ``(run_pk, key)`` (``WITHOUT ROWID``).

Value indexes differ by dialect: PostgreSQL cannot B-tree-index values of several KB (params
may hold 8,000 characters), so it gets hash indexes for equality; SQLite gets covering
``(key, value)`` indexes; MySQL prefix indexes.
"""

from __future__ import annotations

import math
import sys
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects import mysql

__all__ = [
    "DIALECT_INDEXES",
    "MAX_MYSQL_ARTIFACT_PATH",
    "MYSQL_DIALECTS",
    "MYSQL_TABLE",
    "NAMING",
    "SCHEMA_REVISION",
    "mysql_finite",
    "mysql_infinite",
]

#: The Alembic revision this code reads and writes; a test checks it is the script head.
SCHEMA_REVISION = "0003_runs_end_time_index"

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)

# MySQL's TEXT/BLOB stop at 64 KiB; widen them there.
LongText = Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")
Blob = LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")
# SQLite only auto-increments an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")
# MySQL/MariaDB: an index key is at most 3072 bytes (768 utf8mb4 characters), so artifact
# paths (part of a primary key) stop at 760 characters there; and tables use a binary collation,
# since names, keys and paths are case-sensitive on every other backend.
MAX_MYSQL_ARTIFACT_PATH = 760
ArtifactPath = String(1024).with_variant(mysql.VARCHAR(MAX_MYSQL_ARTIFACT_PATH), "mysql", "mariadb")
MYSQL_TABLE: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}

MYSQL_DIALECTS = ("mysql", "mariadb")
# MySQL's DOUBLE has no infinities: +-inf is stored as the largest finite double and read back
# as +-inf (the history keeps the exact value in its columnar blobs either way).
_DBL_MAX = sys.float_info.max


def mysql_finite(value: float) -> float:
    return max(-_DBL_MAX, min(_DBL_MAX, value))


def mysql_infinite(value: float) -> float:
    """Undo :func:`mysql_finite` on a value read back from MySQL."""
    if abs(value) == _DBL_MAX:
        return math.copysign(math.inf, value)
    return value


def _table(name: str, meta: MetaData, *items: Any, **kw: Any) -> Table:
    return Table(name, meta, *items, **MYSQL_TABLE, **kw)


experiments = _table(
    "experiments",
    metadata,
    Column("experiment_id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(256), nullable=False, unique=True),
    Column("artifact_location", String(2048), nullable=False),
    Column("lifecycle_stage", String(16), nullable=False),
    Column("description", LongText),
    Column("creation_time", BigInteger),
    Column("last_update_time", BigInteger),
)

experiment_tags = _table(
    "experiment_tags",
    metadata,
    Column(
        "experiment_id",
        Integer,
        ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("key", String(250), primary_key=True),
    Column("value", LongText, nullable=False),
    sqlite_with_rowid=False,
)

runs = _table(
    "runs",
    metadata,
    Column("run_pk", BigId, primary_key=True, autoincrement=True),
    Column("run_id", String(32), nullable=False, unique=True),
    Column(
        "experiment_id",
        Integer,
        ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("name", String(256), nullable=False),
    Column("status", String(16), nullable=False),
    Column("start_time", BigInteger, nullable=False),
    Column("end_time", BigInteger),
    Column("parent_run_id", String(32)),
    Column("user", String(256)),
    Column("artifact_uri", String(2048), nullable=False),
    Column("lifecycle_stage", String(16), nullable=False),
    # ms deadline set by the heartbeat; RUNNING past it reads as CRASHED (NULL = not tracked)
    Column("alive_until", BigInteger),
    Column("config", LongText, nullable=False),
    Column("deleted_time", BigInteger),
    Index("ix_runs_experiment_id_stage_start", "experiment_id", "lifecycle_stage", "start_time"),
    # an experiment's last activity: max(end_time) is one lookup (experiment summaries)
    Index("ix_runs_experiment_id_stage_end", "experiment_id", "lifecycle_stage", "end_time"),
    Index("ix_runs_parent_run_id", "parent_run_id"),
    Index("ix_runs_name", "name"),
)


def _run_pk(primary_key: bool = True) -> Column[int]:
    return Column(
        "run_pk",
        BigId,
        ForeignKey("runs.run_pk", ondelete="CASCADE"),
        primary_key=primary_key,
        nullable=False,
        autoincrement=False,
    )


def _value_indexes(table: str) -> list[Index]:
    # The PostgreSQL index is a hash index (``USING hash``, made so by the migration). It is
    # not written ``postgresql_using="hash"`` here: SQLAlchemy would import its PostgreSQL
    # dialect (and asyncio drivers) to check that keyword, at every first open of any store.
    return [
        Index(f"ix_{table}_key_value", "key", "value", mysql_length={"value": 191}).ddl_if(
            dialect=("sqlite", "mysql", "mariadb"),  # type: ignore[arg-type]  # tuples work
        ),
        Index(f"ix_{table}_value_hash", "value", info={"postgresql_using": "hash"}).ddl_if(
            dialect="postgresql"
        ),
    ]


params = _table(
    "params",
    metadata,
    _run_pk(),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
    # the numeric reading of value (NULL when not a number), for params.x > 0.1
    Column("value_num", Double),
    Index("ix_params_key_value_num", "key", "value_num"),
    *_value_indexes("params"),
    sqlite_with_rowid=False,
)

tags = _table(
    "tags",
    metadata,
    _run_pk(),
    Column("key", String(250), primary_key=True),
    Column("value", LongText, nullable=False),
    Index("ix_tags_key", "key").ddl_if(dialect="postgresql"),
    *_value_indexes("tags"),
    sqlite_with_rowid=False,
)

latest_metrics = _table(
    "latest_metrics",
    metadata,
    _run_pk(),
    Column("key", String(250), primary_key=True),
    Column("value", Double),  # NULL when the value is NaN (SQLite cannot store NaN)
    Column("is_nan", Boolean, nullable=False),
    Column("step", BigInteger, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Index("ix_latest_metrics_key_value", "key", "value"),
    sqlite_with_rowid=False,
)

metric_chunks = _table(
    "metric_chunks",
    metadata,
    Column("chunk_id", BigId, primary_key=True, autoincrement=True),
    _run_pk(primary_key=False),
    Column("key", String(250), nullable=False),
    Column("count", Integer, nullable=False),
    Column("min_step", BigInteger, nullable=False),
    Column("max_step", BigInteger, nullable=False),
    Column("is_sorted", Boolean, nullable=False),  # steps non-decreasing within the chunk
    Column("steps_blob", Blob, nullable=False),
    Column("timestamps_blob", Blob, nullable=False),
    Column("values_blob", Blob, nullable=False),
    # set by the writer per flush: storing the same batch twice (a retry after a lost commit
    # acknowledgement) stores it once
    Column("batch_id", String(48)),
    Index("ix_metric_chunks_run_pk_key", "run_pk", "key", "chunk_id"),
    Index("ix_metric_chunks_batch", "run_pk", "key", "batch_id", unique=True),
)

artifact_files = _table(
    "artifact_files",
    metadata,
    _run_pk(),
    Column("path", ArtifactPath, primary_key=True),
    Column("size", BigInteger),
    Column("sha256", String(64)),
    Column("created", BigInteger, nullable=False),
    sqlite_with_rowid=False,
)

# -- model registry (revision 0002) ---------------------------------------------------------------
registered_models = _table(
    "registered_models",
    metadata,
    Column("model_pk", BigId, primary_key=True, autoincrement=True),
    Column("name", String(256), nullable=False, unique=True),
    Column("description", LongText),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_update_time", BigInteger, nullable=False),
)


def _model_pk(primary_key: bool = True) -> Column[int]:
    return Column(
        "model_pk",
        BigId,
        ForeignKey("registered_models.model_pk", ondelete="CASCADE"),
        primary_key=primary_key,
        nullable=False,
        autoincrement=False,
    )


registered_model_tags = _table(
    "registered_model_tags",
    metadata,
    _model_pk(),
    Column("key", String(250), primary_key=True),
    Column("value", LongText, nullable=False),
    sqlite_with_rowid=False,
)

model_versions = _table(
    "model_versions",
    metadata,
    _model_pk(),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("source", String(2048), nullable=False),
    Column("run_id", String(32)),  # the external id: a version outlives a purged run
    Column("status", String(32), nullable=False),
    Column("stage", String(20), nullable=False),
    Column("description", LongText),
    Column("manifest_sha256", String(64)),
    Column("user", String(256)),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_update_time", BigInteger, nullable=False),
    Index("ix_model_versions_run_id", "run_id"),
    Index("ix_model_versions_model_pk_stage", "model_pk", "stage"),
    sqlite_with_rowid=False,
)


def _version_fk(table: str) -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["model_pk", "version"],
        ["model_versions.model_pk", "model_versions.version"],
        name=f"fk_{table}_model_pk_model_versions",
        ondelete="CASCADE",
    )


model_version_tags = _table(
    "model_version_tags",
    metadata,
    Column("model_pk", BigId, primary_key=True, autoincrement=False),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("key", String(250), primary_key=True),
    Column("value", LongText, nullable=False),
    _version_fk("model_version_tags"),
    sqlite_with_rowid=False,
)

model_aliases = _table(
    "model_aliases",
    metadata,
    Column("model_pk", BigId, primary_key=True, autoincrement=False),
    Column("alias", String(255), primary_key=True),
    Column("version", Integer, nullable=False),
    _version_fk("model_aliases"),
    sqlite_with_rowid=False,
)

# -- versioned artifacts (revision 0002) -----------------------------------------------------------
artifact_collections = _table(
    "artifact_collections",
    metadata,
    Column("collection_pk", BigId, primary_key=True, autoincrement=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("type", String(64), nullable=False),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_update_time", BigInteger, nullable=False),
)


def _collection_pk() -> Column[int]:
    return Column(
        "collection_pk",
        BigId,
        ForeignKey("artifact_collections.collection_pk", ondelete="CASCADE"),
        primary_key=True,
        nullable=False,
        autoincrement=False,
    )


artifact_versions = _table(
    "artifact_versions",
    metadata,
    _collection_pk(),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("digest", String(64), nullable=False),
    Column("description", LongText),
    Column("metadata", LongText, nullable=False),
    Column("producer_run_id", String(32)),
    Column("size", BigInteger, nullable=False),
    Column("file_count", Integer, nullable=False),
    Column("creation_time", BigInteger, nullable=False),
    Index("ix_artifact_versions_digest", "collection_pk", "digest", unique=True),
    Index("ix_artifact_versions_producer_run_id", "producer_run_id"),
    sqlite_with_rowid=False,
)


def _artifact_version_fk(table: str) -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["collection_pk", "version"],
        ["artifact_versions.collection_pk", "artifact_versions.version"],
        name=f"fk_{table}_collection_pk_artifact_versions",
        ondelete="CASCADE",
    )


artifact_version_files = _table(
    "artifact_version_files",
    metadata,
    Column("collection_pk", BigId, primary_key=True, autoincrement=False),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("path", ArtifactPath, primary_key=True),
    Column("sha256", String(64)),
    Column("size", BigInteger),
    Column("ref", String(2048)),
    _artifact_version_fk("artifact_version_files"),
    sqlite_with_rowid=False,
)

artifact_aliases = _table(
    "artifact_aliases",
    metadata,
    Column("collection_pk", BigId, primary_key=True, autoincrement=False),
    Column("alias", String(255), primary_key=True),
    Column("version", Integer, nullable=False),
    _artifact_version_fk("artifact_aliases"),
    sqlite_with_rowid=False,
)

# which runs produced ("produced": logged it, also when the content already existed) and
# used ("used") each version: the edges of the lineage graph
artifact_links = _table(
    "artifact_links",
    metadata,
    Column("collection_pk", BigId, primary_key=True, autoincrement=False),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("run_id", String(32), primary_key=True),
    Column("relation", String(16), primary_key=True),
    Column("link_time", BigInteger, nullable=False),
    Index("ix_artifact_links_run_id", "run_id"),
    _artifact_version_fk("artifact_links"),
    sqlite_with_rowid=False,
)

#: indexes that exist only on some dialects: name -> dialects
DIALECT_INDEXES = {
    index.name: index._ddl_if.dialect
    for table in metadata.tables.values()
    for index in table.indexes
    if index._ddl_if is not None and index.name is not None
}
