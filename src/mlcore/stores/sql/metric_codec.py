"""Packing metric points into column-wise binary chunks and reading them back with pyarrow.

A chunk holds the points of one metric of one run from one flush: three little-endian arrays
(int64 steps, int64 ms timestamps, float64 values). Packing works a column at a time with C
built-ins (``struct``, ``map``, slices, ``sorted``), never a Python statement per point;
reading turns each blob into an Arrow buffer without copying it point by point; merging
chunks (compaction) concatenates their blobs as they are.
"""

from __future__ import annotations

import struct
import sys
from array import array
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from mlcore.errors import InvalidInputError
from mlcore.stores.flat_points import FlatPoints

if TYPE_CHECKING:
    import pyarrow as pa

    from mlcore.stores.records import MetricPoint

__all__ = [
    "MAX_CHUNK_POINTS",
    "Chunk",
    "empty_history",
    "encode",
    "group_points",
    "join_blobs",
    "to_table",
]

#: A chunk is split beyond this many points (2 MiB per array).
MAX_CHUNK_POINTS = 262_144
_LITTLE = sys.byteorder == "little"
_RUN, _KEY, _VALUE, _TIMESTAMP, _STEP = (itemgetter(i) for i in range(5))


@dataclass
class Chunk:
    """The points of one metric of one run, column by column, in logging order."""

    run_id: str
    key: str
    steps: list[int]
    timestamps: list[int]
    values: list[float]

    @property
    def count(self) -> int:
        return len(self.steps)

    def is_sorted(self) -> bool:
        steps = self.steps
        return len(steps) < 2 or steps == sorted(steps)

    def latest_index(self, is_sorted: bool) -> int:
        """Index of the point that is "latest": max step, then max timestamp, then last."""
        steps, timestamps = self.steps, self.timestamps
        if is_sorted:  # the candidates are the tail of equal, maximal steps
            best = i = len(steps) - 1
            while i > 0 and steps[i - 1] == steps[-1]:
                i -= 1
                if timestamps[i] > timestamps[best]:
                    best = i
            return best
        return max(zip(steps, timestamps, range(len(steps))))[2]


def group_points(points: Sequence[MetricPoint]) -> list[Chunk]:
    """Group ``(run_id, key, value, timestamp, step)`` points into chunks of at most
    :data:`MAX_CHUNK_POINTS`, in order of each metric's first point, keeping logging order
    within a metric."""
    count = len(points)
    if not count:
        return []
    if isinstance(points, FlatPoints):  # from the batching writer: columns are slices
        runs, keys = points.column(0), points.column(1)
        # list.count compares by identity first: C speed for one run's one key
        if runs.count(runs[0]) == count and keys.count(keys[0]) == count:
            return _split(runs[0], keys[0], points.column(4), points.column(3), points.column(2))
        points = list(points)
    if len(set(map(_RUN, points))) == 1 and len(set(map(_KEY, points))) == 1:  # the usual
        groups: list[tuple[tuple[str, str], Sequence[MetricPoint]]] = [
            ((points[0][0], points[0][1]), points)
        ]
    else:  # a stable sort by (run, key) in order of first appearance
        pairs = list(zip(map(_RUN, points), map(_KEY, points)))
        rank = {pair: i for i, pair in enumerate(dict.fromkeys(pairs))}
        codes = list(map(rank.__getitem__, pairs))
        ordered = list(map(points.__getitem__, sorted(range(count), key=codes.__getitem__)))
        sizes = Counter(codes)
        groups = []
        start = 0
        for pair, code in rank.items():
            groups.append((pair, ordered[start : start + sizes[code]]))
            start += sizes[code]
    chunks = []
    for (run_id, key), members in groups:
        chunks.extend(
            _split(
                run_id,
                key,
                list(map(_STEP, members)),
                list(map(_TIMESTAMP, members)),
                list(map(_VALUE, members)),
            )
        )
    return chunks


def _split(
    run_id: str, key: str, steps: list[int], timestamps: list[int], values: list[float]
) -> list[Chunk]:
    """One metric's columns as chunks of at most :data:`MAX_CHUNK_POINTS` points."""
    if len(steps) <= MAX_CHUNK_POINTS:
        return [Chunk(run_id, key, steps, timestamps, values)]
    return [
        Chunk(
            run_id,
            key,
            steps[start : start + MAX_CHUNK_POINTS],
            timestamps[start : start + MAX_CHUNK_POINTS],
            values[start : start + MAX_CHUNK_POINTS],
        )
        for start in range(0, len(steps), MAX_CHUNK_POINTS)
    ]


def _packed(typecode: str, items: list[Any], field: str, key: str) -> bytes:
    """``items`` as little-endian bytes (``struct``: a C loop, faster than ``array`` and
    byte order fixed); InvalidInputError (not a store failure) for an item that does not
    fit: a step or timestamp beyond 64 bits, a value that is not a float."""
    try:
        return struct.pack(f"<{len(items)}{typecode}", *items)
    except (struct.error, OverflowError, TypeError) as exc:
        raise InvalidInputError(
            f"metric {key!r}: a {field} cannot be stored ({exc}); steps and timestamps must "
            "fit in 64 bits and values must be floats",
            field=field,
        ) from None


def encode(chunk: Chunk) -> tuple[dict[str, Any], tuple[int, int, float]]:
    """The column values of a ``metric_chunks`` row (without ids), and the chunk's latest
    point as ``(step, timestamp, value)``."""
    key, steps = chunk.key, chunk.steps
    row: dict[str, Any] = {
        "run_id": chunk.run_id,
        "key": key,
        "count": chunk.count,
        "steps_blob": _packed("q", steps, "step", key),
        "timestamps_blob": _packed("q", chunk.timestamps, "timestamp", key),
        "values_blob": _packed("d", chunk.values, "value", key),
    }
    # after packing, which refused anything that is not a 64-bit integer or a float
    is_sorted = chunk.is_sorted()
    row["min_step"] = int(steps[0] if is_sorted else min(steps))
    row["max_step"] = int(steps[-1] if is_sorted else max(steps))
    row["is_sorted"] = is_sorted
    i = chunk.latest_index(is_sorted)
    return row, (int(steps[i]), int(chunk.timestamps[i]), float(chunk.values[i]))


def join_blobs(blobs: Sequence[Any]) -> bytes:
    """The blobs of consecutive chunks as one (little-endian arrays concatenate as bytes)."""
    return b"".join(bytes(blob) for blob in blobs)


def empty_history() -> pa.Table:
    import pyarrow as pa

    return pa.table(
        {
            "step": pa.array([], pa.int64()),
            "timestamp": pa.array([], pa.int64()),
            "value": pa.array([], pa.float64()),
        }
    )


def _native(blob: Any, typecode: str) -> bytes:
    data = bytes(blob)
    if _LITTLE:
        return data
    values = array(typecode)
    values.frombytes(data)
    values.byteswap()
    return values.tobytes()


def to_table(rows: Sequence[Any]) -> pa.Table:
    """A ``pyarrow.Table(step, timestamp, value)`` from chunk rows, sorted by step.

    Rows must come in chunk id order and carry ``count``, ``min_step``, ``max_step``,
    ``is_sorted`` and the three blobs. When every chunk is sorted and chunks do not overlap
    (the usual case) no sort is needed.
    """
    import pyarrow as pa

    if not rows:
        return empty_history()
    columns: dict[str, list[pa.Array[Any]]] = {"step": [], "timestamp": [], "value": []}
    ordered = True
    previous_max: int | None = None
    for row in rows:
        n = row.count
        for name, blob, kind, typecode in (
            ("step", row.steps_blob, pa.int64(), "q"),
            ("timestamp", row.timestamps_blob, pa.int64(), "q"),
            ("value", row.values_blob, pa.float64(), "d"),
        ):
            buffer = pa.py_buffer(_native(blob, typecode))
            columns[name].append(pa.Array.from_buffers(kind, n, [None, buffer]))
        if not row.is_sorted or (previous_max is not None and row.min_step < previous_max):
            ordered = False
        previous_max = row.max_step if previous_max is None else max(previous_max, row.max_step)
    table = pa.table({name: pa.chunked_array(parts) for name, parts in columns.items()})
    if not ordered:
        table = table.sort_by([("step", "ascending"), ("timestamp", "ascending")])
    return table
