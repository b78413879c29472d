"""Packing metric points into column-wise binary chunks and reading them back with pyarrow.

A chunk holds the points of one metric of one run from one flush: three little-endian arrays
(int64 steps, int64 ms timestamps, float64 values). Reading turns each blob into an Arrow
buffer without copying it point by point.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlcore.errors import InvalidInputError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "MAX_CHUNK_POINTS",
    "Chunk",
    "decode",
    "empty_history",
    "encode",
    "group_points",
    "merge",
    "to_table",
]

#: A chunk is split beyond this many points (2 MiB per array).
MAX_CHUNK_POINTS = 262_144
_LITTLE = sys.byteorder == "little"


@dataclass
class Chunk:
    run_id: str
    key: str
    steps: array[int]
    timestamps: array[int]
    values: array[float]

    @property
    def count(self) -> int:
        return len(self.steps)

    def is_sorted(self) -> bool:
        steps = self.steps
        return len(steps) < 2 or steps.tolist() == sorted(steps)

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
        best = 0
        for i in range(1, len(steps)):
            if steps[i] > steps[best] or (
                steps[i] == steps[best] and timestamps[i] >= timestamps[best]
            ):
                best = i
        return best


def _bytes(values: array[Any]) -> bytes:
    if _LITTLE:
        return values.tobytes()
    swapped = array(values.typecode, values)
    swapped.byteswap()
    return swapped.tobytes()


def _array(typecode: str, blob: bytes) -> array[Any]:
    values = array(typecode)
    values.frombytes(blob)
    if not _LITTLE:
        values.byteswap()
    return values


def group_points(points: Iterable[tuple[str, str, float, int, int]]) -> list[Chunk]:
    """Group ``(run_id, key, value, timestamp, step)`` points into chunks, keeping order."""
    groups: dict[tuple[str, str], tuple[list[int], list[int], list[float]]] = {}
    for run_id, key, value, timestamp, step in points:
        group = groups.get((run_id, key))
        if group is None:
            group = groups[(run_id, key)] = ([], [], [])
        group[0].append(step)
        group[1].append(timestamp)
        group[2].append(value)
    chunks = []
    for (run_id, key), (steps, timestamps, values) in groups.items():
        for start in range(0, len(steps), MAX_CHUNK_POINTS):
            end = start + MAX_CHUNK_POINTS
            chunks.append(
                Chunk(
                    run_id,
                    key,
                    _packed("q", steps[start:end], "step", key),
                    _packed("q", timestamps[start:end], "timestamp", key),
                    _packed("d", values[start:end], "value", key),
                )
            )
    return chunks


def _packed(typecode: str, items: list[Any], field: str, key: str) -> array[Any]:
    """``array(typecode, items)``; InvalidInputError (not a store failure) for an item that
    does not fit: a step or timestamp beyond 64 bits, a value that is not a float."""
    try:
        return array(typecode, items)
    except (OverflowError, TypeError) as exc:
        raise InvalidInputError(
            f"metric {key!r}: a {field} cannot be stored ({exc}); steps and timestamps must "
            "fit in 64 bits and values must be floats",
            field=field,
        ) from None


def encode(chunk: Chunk, is_sorted: bool) -> dict[str, Any]:
    """The column values of a ``metric_chunks`` row (without ids)."""
    return {
        "run_id": chunk.run_id,
        "key": chunk.key,
        "count": chunk.count,
        "min_step": chunk.steps[0] if is_sorted else min(chunk.steps),
        "max_step": chunk.steps[-1] if is_sorted else max(chunk.steps),
        "is_sorted": is_sorted,
        "steps_blob": _bytes(chunk.steps),
        "timestamps_blob": _bytes(chunk.timestamps),
        "values_blob": _bytes(chunk.values),
    }


def decode(run_id: str, key: str, row: Any) -> Chunk:
    return Chunk(
        run_id,
        key,
        _array("q", bytes(row.steps_blob)),
        _array("q", bytes(row.timestamps_blob)),
        _array("d", bytes(row.values_blob)),
    )


def merge(chunks: Sequence[Chunk]) -> Chunk:
    """One chunk holding the points of ``chunks`` in order (for compaction)."""
    first = chunks[0]
    steps, timestamps, values = array("q"), array("q"), array("d")
    for chunk in chunks:
        steps.extend(chunk.steps)
        timestamps.extend(chunk.timestamps)
        values.extend(chunk.values)
    return Chunk(first.run_id, first.key, steps, timestamps, values)


def empty_history() -> pa.Table:
    import pyarrow as pa

    return pa.table(
        {
            "step": pa.array([], pa.int64()),
            "timestamp": pa.array([], pa.int64()),
            "value": pa.array([], pa.float64()),
        }
    )


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
        for name, blob, kind in (
            ("step", row.steps_blob, pa.int64()),
            ("timestamp", row.timestamps_blob, pa.int64()),
            ("value", row.values_blob, pa.float64()),
        ):
            data = bytes(blob)
            if not _LITTLE:
                data = _bytes(_array("q" if name != "value" else "d", data))
            columns[name].append(pa.Array.from_buffers(kind, n, [None, pa.py_buffer(data)]))
        if not row.is_sorted or (previous_max is not None and row.min_step < previous_max):
            ordered = False
        previous_max = row.max_step if previous_max is None else max(previous_max, row.max_step)
    table = pa.table({name: pa.chunked_array(parts) for name, parts in columns.items()})
    if not ordered:
        table = table.sort_by([("step", "ascending"), ("timestamp", "ascending")])
    return table
