"""Metric writes and reads of the SQL store, each inside a caller's transaction.

- :func:`store_points`: one batch (any runs, any keys) -> packed chunk rows + latest values;
- :func:`history`: every point of one metric as a pyarrow table, or a step range downsampled;
- :func:`sampled_series`: many (run, key) histories downsampled at once;
- :func:`compact`: merge a run's small chunks into large ones (when the run ends).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, and_, delete, insert, or_, select, update

from mlcore import _validation as check
from mlcore.stores import downsample
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

    from mlcore.types import SampledSeries

__all__ = [
    "SMALL_CHUNK_POINTS",
    "SQLITE_MMAP_BYTES",
    "PreparedBatch",
    "compact",
    "history",
    "release_free_pages",
    "run_pks",
    "sampled_series",
    "store_points",
]

logger = logging.getLogger(__name__)

#: compaction merges runs of consecutive chunks smaller than this; a larger chunk is left as
#: it is (its blobs' last, partly filled pages cost it under 1 byte a point)
SMALL_CHUNK_POINTS = 8_192

#: how much of a SQLite file history reads map into memory (address space, not memory)
SQLITE_MMAP_BYTES = 1 << 32

_META_COLUMNS = (
    metric_chunks.c.chunk_id,
    metric_chunks.c.key,
    metric_chunks.c.count,
    metric_chunks.c.min_step,
    metric_chunks.c.max_step,
    metric_chunks.c.is_sorted,
    # not batch_id: on SQLite it comes after the blobs in the row, and reading it walks their
    # overflow pages
)

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
            row, candidate = metric_codec.encode(chunk)
            row["batch_id"] = f"{batch_id}-{index}" if batch_id else None
            self.chunk_rows.append(row)
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


def _map_memory(conn: Connection) -> None:
    if conn.dialect.name == "sqlite" and not conn.info.get("mlcore_mmap"):
        # read blobs through a memory map instead of a read() per 4 KiB overflow page
        conn.exec_driver_sql(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
        conn.info["mlcore_mmap"] = True


def _in_range(min_step: int | None, max_step: int | None) -> list[Any]:
    """Conditions keeping the chunks whose step range meets ``[min_step, max_step]`` (the
    others are not read, let alone decoded)."""
    where = []
    if min_step is not None:
        where.append(metric_chunks.c.max_step >= min_step)
    if max_step is not None:
        where.append(metric_chunks.c.min_step <= max_step)
    return where


def history(
    conn: Connection,
    run_pk: int,
    key: str,
    max_points: int | None = None,
    min_step: int | None = None,
    max_step: int | None = None,
) -> pa.Table:
    """The points of one metric; with any option given, those of the step range downsampled
    beyond ``max_points`` (:func:`mlcore.stores.downsample.sample`)."""
    _map_memory(conn)
    rows = conn.execute(
        select(*_HISTORY_COLUMNS)
        .where(
            metric_chunks.c.run_pk == run_pk,
            metric_chunks.c.key == key,
            *_in_range(min_step, max_step),
        )
        .order_by(metric_chunks.c.chunk_id)
    ).all()
    table = metric_codec.to_table(rows)
    if max_points is None and min_step is None and max_step is None:
        return table
    return downsample.sample(table, max_points, min_step, max_step)


def sampled_series(
    conn: Connection,
    run_pks: dict[str, int],
    keys: list[str],
    max_points: int,
    min_step: int | None,
    max_step: int | None,
) -> list[SampledSeries]:
    """Every (run, key) history downsampled, runs first in the order given. One query per
    group of runs (not one per run: a chart of 100 runs is one round trip); each history is
    sampled as soon as its last chunk has been read, so only one is held whole at a time."""
    _map_memory(conn)
    by_pk = {pk: run_id for run_id, pk in run_pks.items()}
    found: dict[tuple[str, str], SampledSeries] = {}

    def finish(pk: int, key: str, rows: list[Any]) -> None:
        table = downsample.sample(metric_codec.to_table(rows), max_points, min_step, max_step)
        found[by_pk[pk], key] = downsample.to_series(by_pk[pk], key, table)

    for part in chunked(list(by_pk)):
        current: tuple[int, str] | None = None
        rows: list[Any] = []
        for row in conn.execute(
            select(metric_chunks.c.run_pk, metric_chunks.c.key, *_HISTORY_COLUMNS)
            .where(
                metric_chunks.c.run_pk.in_(part),
                metric_chunks.c.key.in_(keys),
                *_in_range(min_step, max_step),
            )
            .order_by(metric_chunks.c.run_pk, metric_chunks.c.key, metric_chunks.c.chunk_id)
        ):
            if (row.run_pk, row.key) != current:
                if current is not None:
                    finish(*current, rows)
                current, rows = (row.run_pk, row.key), []
            rows.append(row)
        if current is not None:
            finish(*current, rows)
    empty = metric_codec.to_table([])
    return [
        found.get((run_id, key))
        or downsample.to_series(
            run_id, key, downsample.sample(empty, max_points, min_step, max_step)
        )
        for run_id in run_pks
        for key in keys
    ]


def compact(conn: Connection, run_pk: int) -> int:
    """Merge runs of consecutive small chunks of each metric of a run; returns chunks removed.

    Only chunks under :data:`SMALL_CHUNK_POINTS` points are merged (a large one is left as it
    is, so ending a run that logged millions of points rewrites nothing), in chunk id order,
    into chunks of at most ``MAX_CHUNK_POINTS``; the merged chunk keeps the id of its first
    part, so reading order is unchanged. Merging joins the parts' blobs as they are: sortedness
    and the step range come from the parts' columns, no point is decoded.
    """
    chunks = conn.execute(
        select(*_META_COLUMNS)
        .where(metric_chunks.c.run_pk == run_pk)
        .order_by(metric_chunks.c.key, metric_chunks.c.chunk_id)
    ).all()
    removed = 0
    for group in _merge_groups(chunks):
        ids = [chunk.chunk_id for chunk in group]
        blobs = conn.execute(
            select(
                metric_chunks.c.steps_blob,
                metric_chunks.c.timestamps_blob,
                metric_chunks.c.values_blob,
                metric_chunks.c.batch_id,
            )
            .where(metric_chunks.c.chunk_id.in_(ids))
            .order_by(metric_chunks.c.chunk_id)
        ).all()
        is_sorted = all(chunk.is_sorted for chunk in group) and all(
            later.min_step >= earlier.max_step for earlier, later in itertools.pairwise(group)
        )
        conn.execute(delete(metric_chunks).where(metric_chunks.c.chunk_id.in_(ids[1:])))
        conn.execute(
            update(metric_chunks)
            .where(metric_chunks.c.chunk_id == ids[0])
            .values(
                count=sum(chunk.count for chunk in group),
                min_step=min(chunk.min_step for chunk in group),
                max_step=max(chunk.max_step for chunk in group),
                is_sorted=is_sorted,
                steps_blob=metric_codec.join_blobs([b.steps_blob for b in blobs]),
                timestamps_blob=metric_codec.join_blobs([b.timestamps_blob for b in blobs]),
                values_blob=metric_codec.join_blobs([b.values_blob for b in blobs]),
                # a retry of the last part's batch still finds it stored
                batch_id=blobs[-1].batch_id,
            )
        )
        removed += len(ids) - 1
    if removed and conn.dialect.name == "sqlite":
        release_free_pages(conn)
    return removed


def release_free_pages(conn: Connection) -> int:
    """Give a SQLite file's free pages back to the file system, in the caller's transaction;
    returns how many. Only a file made with ``auto_vacuum=INCREMENTAL`` (every store created
    since it was the default: see ``engine``) can; for an older one this does nothing.

    ``PRAGMA incremental_vacuum`` frees one page per step of its statement and Python's
    ``sqlite3`` steps a statement without result columns once, so it runs once per page
    (each moves at most one page from the file's end into a free slot).
    """
    cursor = conn.connection.cursor()
    try:
        if cursor.execute("PRAGMA auto_vacuum").fetchone()[0] != 2:  # 2: incremental
            return 0
        free = int(cursor.execute("PRAGMA freelist_count").fetchone()[0])
        for _ in range(free):
            cursor.execute("PRAGMA incremental_vacuum(1)")
        return free
    finally:
        cursor.close()


def _merge_groups(chunks: Sequence[Any]) -> list[list[Any]]:
    """Runs of at least two consecutive small chunks of one metric, each run holding at most
    ``MAX_CHUNK_POINTS`` points (``chunks`` in key, then chunk id order)."""
    groups: list[list[Any]] = []
    current: list[Any] = []
    total = 0
    for chunk in chunks:
        fits = (
            chunk.count < SMALL_CHUNK_POINTS
            and current
            and current[-1].key == chunk.key
            and total + chunk.count <= metric_codec.MAX_CHUNK_POINTS
        )
        if not fits:
            if len(current) > 1:
                groups.append(current)
            current, total = [], 0
            if chunk.count >= SMALL_CHUNK_POINTS:
                continue
        current.append(chunk)
        total += chunk.count
    if len(current) > 1:
        groups.append(current)
    return groups
