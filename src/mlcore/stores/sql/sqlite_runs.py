"""Starting and ending runs on SQLite through its own driver (``sqlite3``), one transaction
each, with statements compiled once: SQLAlchemy's per-statement execution cost was most of a
run's start and end (and of a pipeline step's) otherwise.

The statements are compiled from the same tables as :mod:`mlcore.stores.sql.store`'s, and the
checks and errors are the same: the store conformance suite runs this path on SQLite and the
SQLAlchemy one on PostgreSQL.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, func, insert, literal_column, null, select, update
from sqlalchemy.dialects import sqlite

from mlcore._validation import numeric_or_none
from mlcore.errors import AlreadyExistsError, InvalidInputError, NotFoundError
from mlcore.stores.records import RunUpdate
from mlcore.stores.sql.metric_ops import SMALL_CHUNK_POINTS
from mlcore.stores.sql.rows import RUN_COLUMNS
from mlcore.stores.sql.schema import experiments, metric_chunks, runs
from mlcore.stores.sql.schema import params as params_table
from mlcore.stores.sql.schema import tags as tags_table

__all__ = [
    "RUN_FIELDS",
    "apply_updates",
    "end_run",
    "experiment_location",
    "insert_run",
    "insert_runs",
    "require_run",
]

#: the columns of a new run, in the order :func:`insert_run` takes their values
RUN_FIELDS = (
    "run_id",
    "experiment_id",
    "name",
    "status",
    "start_time",
    "end_time",
    "parent_run_id",
    "user",
    "artifact_uri",
    "lifecycle_stage",
    "alive_until",
    "config",
)


@functools.cache
def _sql() -> dict[str, str]:
    dialect = sqlite.dialect()

    def text(statement: Any, **kw: Any) -> str:
        return str(statement.compile(dialect=dialect, **kw))

    tag_insert = sqlite.insert(tags_table)
    return {
        "experiment": text(
            select(experiments.c.artifact_location, experiments.c.lifecycle_stage).where(
                experiments.c.experiment_id == bindparam("experiment_id")
            )
        ),
        "run_pk": text(select(runs.c.run_pk).where(runs.c.run_id == bindparam("run_id"))),
        "insert_run": text(insert(runs), column_keys=list(RUN_FIELDS)),
        "insert_tags": text(insert(tags_table), column_keys=["run_pk", "key", "value"]),
        "insert_params": text(
            insert(params_table), column_keys=["run_pk", "key", "value", "value_num"]
        ),
        "end_run": text(
            update(runs)
            .where(runs.c.run_id == bindparam("target_run_id"))
            .values(
                status=bindparam("status"),
                end_time=bindparam("end_time"),
                alive_until=null(),
            )
            .returning(*RUN_COLUMNS)
        ),
        "upsert_tags": text(
            tag_insert.on_conflict_do_update(
                index_elements=["run_pk", "key"], set_={"value": tag_insert.excluded.value}
            ),
            column_keys=["run_pk", "key", "value"],
        ),
        "needs_compacting": text(
            select(metric_chunks.c.key)
            .where(
                metric_chunks.c.run_pk == bindparam("pk"),
                metric_chunks.c.count < literal_column(str(int(SMALL_CHUNK_POINTS))),
            )
            .group_by(metric_chunks.c.key)
            .having(func.count() > literal_column("1"))
        ),
    }


def experiment_location(cursor: Any, experiment_id: int) -> str:
    """The artifact location of an active experiment; NotFoundError / InvalidInputError."""
    row = cursor.execute(_sql()["experiment"], (experiment_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"experiment {str(experiment_id)!r} not found")
    if row[1] != "active":
        raise InvalidInputError(
            f"experiment {str(experiment_id)!r} is deleted; restore it before adding runs",
            field="experiment_id",
        )
    return str(row[0])


def require_run(cursor: Any, run_id: str, what: str = "run") -> int:
    row = cursor.execute(_sql()["run_pk"], (run_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"{what} {run_id!r} not found")
    return int(row[0])


def insert_run(
    cursor: Any, values: tuple[Any, ...], tags: dict[str, str], params: dict[str, str]
) -> None:
    """Insert a run (``values`` in :data:`RUN_FIELDS` order) with its tags and params."""
    import sqlite3

    sql = _sql()
    try:
        cursor.execute(sql["insert_run"], values)
    except sqlite3.IntegrityError:
        raise AlreadyExistsError(f"run {values[0]!r} already exists") from None
    pk = cursor.lastrowid
    if tags:
        cursor.executemany(sql["insert_tags"], [(pk, k, v) for k, v in tags.items()])
    if params:  # a new run: nothing to conflict with
        cursor.executemany(
            sql["insert_params"], [(pk, k, v, numeric_or_none(v)) for k, v in params.items()]
        )


def insert_runs(
    cursor: Any, runs: list[tuple[tuple[Any, ...], dict[str, str], dict[str, str]]]
) -> None:
    """Insert runs (values in :data:`RUN_FIELDS` order, tags, params), tags and params of
    them all in one batch each."""
    import sqlite3

    sql = _sql()
    tag_rows: list[tuple[Any, ...]] = []
    param_rows: list[tuple[Any, ...]] = []
    try:
        for values, tags, params in runs:
            pk = cursor.execute(sql["insert_run"], values).lastrowid
            tag_rows += [(pk, k, v) for k, v in tags.items()]
            param_rows += [(pk, k, v, numeric_or_none(v)) for k, v in params.items()]
    except sqlite3.IntegrityError:
        raise AlreadyExistsError("a run with one of these ids already exists") from None
    if tag_rows:
        cursor.executemany(sql["insert_tags"], tag_rows)
    if param_rows:
        cursor.executemany(sql["insert_params"], param_rows)


# a status given ends the run's heartbeat (unless RUNNING); a None leaves a column as it is
_UPDATE_RUN = """UPDATE runs SET status = coalesce(:status, status),
 end_time = coalesce(:end_time, end_time),
 alive_until = CASE WHEN :status IS NULL OR :status = 'RUNNING' THEN alive_until END
 WHERE run_id = :run_id RETURNING run_pk"""


def apply_updates(cursor: Any, updates: Sequence[RunUpdate]) -> None:
    """Status, end time and tags of runs (NotFoundError for an unknown run)."""
    sql = _sql()
    tag_rows: list[tuple[Any, ...]] = []
    for change in updates:
        params = {"status": change.status, "end_time": change.end_time, "run_id": change.run_id}
        row = cursor.execute(_UPDATE_RUN, params).fetchone()
        if row is None:
            raise NotFoundError(f"run {change.run_id!r} not found")
        tag_rows += [(row[0], k, v) for k, v in change.tags.items()]
    if tag_rows:
        cursor.executemany(sql["upsert_tags"], tag_rows)


def end_run(
    cursor: Any, run_id: str, status: str, end_time: int, tags: dict[str, str]
) -> tuple[Any, bool]:
    """Set a run's final status, end time (no liveness deadline) and tags; returns its row
    (:data:`~mlcore.stores.sql.rows.RUN_COLUMNS`) and whether a metric needs compacting."""
    sql = _sql()
    row = cursor.execute(sql["end_run"], (status, end_time, run_id)).fetchone()
    if row is None:
        raise NotFoundError(f"run {run_id!r} not found")
    pk = row[0]
    if tags:
        cursor.executemany(sql["upsert_tags"], [(pk, k, v) for k, v in tags.items()])
    compact = cursor.execute(sql["needs_compacting"], (pk,)).fetchone() is not None
    return row, compact
