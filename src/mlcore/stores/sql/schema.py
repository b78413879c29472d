"""Tables of the SQL store (SQLAlchemy Core; the runtime view of the schema).

The schema's history lives in Alembic migrations (``migrations/versions``); a test checks
that migrating an empty database to head gives exactly these tables.

Metrics are stored in two forms:

- ``metric_chunks``: every point, packed column-wise into binary arrays, one row per run,
  key and flush (int64 steps, int64 ms timestamps, float64 values, little-endian). 24 bytes a
  point, and a history of a million points is a handful of rows read without per-row work.
- ``latest_metrics``: the last value of each metric of a run (max step, then timestamp),
  what search and ``Run.data.metrics`` read.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects import mysql

#: The Alembic revision this code reads and writes; a test checks it is the script head.
SCHEMA_REVISION = "0001_initial"

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

experiments = Table(
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

experiment_tags = Table(
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
)

runs = Table(
    "runs",
    metadata,
    Column("run_id", String(32), primary_key=True),
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
    Index("ix_runs_experiment_id_start_time", "experiment_id", "start_time"),
    Index("ix_runs_parent_run_id", "parent_run_id"),
    Index("ix_runs_name", "name"),
)


def _run_fk() -> ForeignKey:
    return ForeignKey("runs.run_id", ondelete="CASCADE")


params = Table(
    "params",
    metadata,
    Column("run_id", String(32), _run_fk(), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
    # the numeric reading of value (NULL when not a number), for params.x > 0.1
    Column("value_num", Double),
    Index("ix_params_key_value_num", "key", "value_num"),
)

tags = Table(
    "tags",
    metadata,
    Column("run_id", String(32), _run_fk(), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", LongText, nullable=False),
)

latest_metrics = Table(
    "latest_metrics",
    metadata,
    Column("run_id", String(32), _run_fk(), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Double),  # NULL when the value is NaN (SQLite cannot store NaN)
    Column("is_nan", Boolean, nullable=False),
    Column("step", BigInteger, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Index("ix_latest_metrics_key_value", "key", "value"),
)

metric_chunks = Table(
    "metric_chunks",
    metadata,
    Column("chunk_id", BigId, primary_key=True, autoincrement=True),
    Column("run_id", String(32), _run_fk(), nullable=False),
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
    Index("ix_metric_chunks_run_id_key", "run_id", "key", "chunk_id"),
    Index("ix_metric_chunks_batch", "run_id", "key", "batch_id", unique=True),
)

artifact_files = Table(
    "artifact_files",
    metadata,
    Column("run_id", String(32), _run_fk(), primary_key=True),
    Column("path", String(1024), primary_key=True),
    Column("size", BigInteger),
    Column("sha256", String(64)),
    Column("created", BigInteger, nullable=False),
)
