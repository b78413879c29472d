"""Metric writes and reads of the SQL store, each inside a caller's transaction.

- :func:`store_points`: one batch (any runs, any keys) -> packed chunk rows + latest values;
- :func:`history`: every point of one metric as a pyarrow table;
- :func:`compact`: merge a run's many small chunks into few large ones.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, and_, delete, func, insert, or_, select

from mlcore import _validation as check
from mlcore.stores.base import MetricPoint
from mlcore.stores.sql import metric_codec
from mlcore.stores.sql.rows import chunked
from mlcore.stores.sql.schema import (
    MYSQL_DIALECTS,
    latest_metrics,
    metric_chunks,
    mysql_finite,
    runs,
)
from mlcore.stores.sql.upsert import insert_ignore, upsert

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["COMPACT_THRESHOLD", "PreparedBatch", "compact", "history", "run_pks", "store_points"]

logger = logging.getLogger(__name__)

#: compaction merges a metric's chunks once a run has more than this many of them
COMPACT_THRESHOLD = 16

_HISTORY_COLUMNS = (
    metric_chunks.c.count,
    metric_chunks.c.min_step,
    metric_chunks.c.max_step,
    metric_chunks.c.is_sorted,
    metric_chunks.c.steps_blob,
    metric_chunks.c.timestamps_blob,
    metric_chunks.c.values_blob,
)


class PreparedBatch:
    """A batch encoded once, outside the transaction (so a retry does not redo the work).

    A point the store cannot hold (a key that is not a valid metric key, a step or timestamp
    beyond 64 bits, a value that is not a float) raises InvalidInputError for the batch, so
    the caller knows it is the input, not the store, and can split the batch to find it.
    """

    def __init__(self, points: Sequence[MetricPoint], batch_id: str | None) -> None:
        self.chunk_rows: list[dict[str, Any]] = []
        self.latest: dict[tuple[str, str], tuple[int, int, float]] = {}
        for index, chunk in enumerate(metric_codec.group_points(points)):
            check.check_key(chunk.key, "metric key")  # once per chunk: cheap
            ordered = chunk.is_sorted()
            row = metric_codec.encode(chunk, ordered)
            row["batch_id"] = f"{batch_id}-{index}" if batch_id else None
            self.chunk_rows.append(row)
            i = chunk.latest_index(ordered)
            candidate = (chunk.steps[i], chunk.timestamps[i], chunk.values[i])
            previous = self.latest.get((chunk.run_id, chunk.key))
            if previous is None or candidate[:2] >= previous[:2]:
                self.latest[(chunk.run_id, chunk.key)] = candidate
        self.run_ids = sorted({row["run_id"] for row in self.chunk_rows})
        self.idempotent = batch_id is not None


def run_pks(conn: Connection, run_ids: Sequence[str]) -> dict[str, int]:
    """Map run ids to their integer keys (unknown ids are absent)."""
    found: dict[str, int] = {}
    for part in chunked(list(run_ids)):
        found.update(
            (row.run_id, row.run_pk)
            for row in conn.execute(
                select(runs.c.run_id, runs.c.run_pk).where(runs.c.run_id.in_(part))
            )
        )
    return found


def store_points(conn: Connection, batch: PreparedBatch) -> None:
    pks = run_pks(conn, batch.run_ids)
    if len(pks) != len(batch.run_ids):
        logger.warning(
            "dropping metric points of unknown runs %s", sorted(set(batch.run_ids) - set(pks))
        )
    rows = []
    for row in batch.chunk_rows:
        pk = pks.get(row["run_id"])
        if pk is not None:
            rows.append({**{k: v for k, v in row.items() if k != "run_id"}, "run_pk": pk})
    if not rows:
        return
    if batch.idempotent:
        insert_ignore(conn, metric_chunks, rows, ["run_pk", "key", "batch_id"])
    else:
        conn.execute(insert(metric_chunks), rows)
    clamp = mysql_finite if conn.dialect.name in MYSQL_DIALECTS else float
    upsert(
        conn,
        latest_metrics,
        [
            {
                "run_pk": pks[run_id],
                "key": key,
                "value": None if value != value else clamp(value),
                "is_nan": value != value,
                "step": step,
                "timestamp": timestamp,
            }
            for (run_id, key), (step, timestamp, value) in batch.latest.items()
            if run_id in pks
        ],
        ["run_pk", "key"],
        ["value", "is_nan", "timestamp", "step"],
        where=lambda new, table: or_(
            new.step > table.c.step,
            and_(new.step == table.c.step, new.timestamp >= table.c.timestamp),
        ),
    )


def history(conn: Connection, run_pk: int, key: str) -> pa.Table:
    rows = conn.execute(
        select(*_HISTORY_COLUMNS)
        .where(metric_chunks.c.run_pk == run_pk, metric_chunks.c.key == key)
        .order_by(metric_chunks.c.chunk_id)
    ).all()
    return metric_codec.to_table(rows)


def compact(conn: Connection, run_pk: int, run_id: str) -> int:
    """Merge the chunks of each metric of a run that has many; returns chunks removed."""
    keys = (
        conn.execute(
            select(metric_chunks.c.key)
            .where(metric_chunks.c.run_pk == run_pk)
            .group_by(metric_chunks.c.key)
            .having(func.count() > COMPACT_THRESHOLD)
        )
        .scalars()
        .all()
    )
    removed = 0
    for key in keys:
        rows = conn.execute(
            select(metric_chunks)
            .where(metric_chunks.c.run_pk == run_pk, metric_chunks.c.key == key)
            .order_by(metric_chunks.c.chunk_id)
        ).all()
        merged = metric_codec.merge([metric_codec.decode(run_id, key, r) for r in rows])
        points = zip(
            [run_id] * merged.count,
            [key] * merged.count,
            merged.values,
            merged.timestamps,
            merged.steps,
        )
        for part in metric_codec.group_points(points):
            row = metric_codec.encode(part, part.is_sorted())
            del row["run_id"]
            conn.execute(insert(metric_chunks).values(run_pk=run_pk, batch_id=None, **row))
        conn.execute(
            delete(metric_chunks).where(metric_chunks.c.chunk_id.in_([r.chunk_id for r in rows]))
        )
        removed += len(rows)
    return removed
