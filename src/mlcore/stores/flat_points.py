"""Metric points kept flat: ``[run_id, key, value, timestamp, step, run_id, key, ...]``.

The batching writer buffers points this way: appending a point is one ``list.extend`` of a
5-tuple that dies at once (no object per point survives for the garbage collector to walk),
and a store takes a column with one C-speed slice (``items[4::5]`` are the steps) instead of a
Python step per point. :class:`FlatPoints` is such a list seen as a ``Sequence[MetricPoint]``,
so every store takes it as it takes a list of tuples.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, overload

from mlcore.errors import InvalidInputError
from mlcore.stores.records import MetricPoint

__all__ = ["WIDTH", "FlatPoints", "flatten"]

#: items per point: run_id, key, value, timestamp_ms, step
WIDTH = 5


class FlatPoints(Sequence[MetricPoint]):
    """A read-only view of ``items`` (``WIDTH`` items a point) as ``MetricPoint`` tuples."""

    __slots__ = ("items",)

    def __init__(self, items: list[Any]) -> None:
        if len(items) % WIDTH:
            raise ValueError(f"a flat point list holds {WIDTH} items a point")
        self.items = items

    def __len__(self) -> int:
        return len(self.items) // WIDTH

    @overload
    def __getitem__(self, index: int) -> MetricPoint: ...

    @overload
    def __getitem__(self, index: slice) -> FlatPoints: ...

    def __getitem__(self, index: int | slice) -> MetricPoint | FlatPoints:
        if isinstance(index, slice):
            start, stop, stride = index.indices(len(self))
            if stride != 1:
                return FlatPoints([item for i in range(start, stop, stride) for item in self[i]])
            return FlatPoints(self.items[start * WIDTH : max(start, stop) * WIDTH])
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("point index out of range")
        at = index * WIDTH
        return tuple(self.items[at : at + WIDTH])

    def __iter__(self) -> Iterator[MetricPoint]:
        items = iter(self.items)
        return zip(items, items, items, items, items)

    def column(self, field: int) -> list[Any]:
        """Every point's item ``field`` (0 run_id, 1 key, 2 value, 3 timestamp, 4 step)."""
        return self.items[field::WIDTH]

    def __repr__(self) -> str:
        return f"FlatPoints({len(self)} points)"


def flatten(points: Sequence[MetricPoint]) -> list[Any]:
    """``points`` as one flat list (a :class:`FlatPoints`' own list as it is)."""
    if isinstance(points, FlatPoints):
        return points.items
    items = [item for point in points for item in point]
    if len(items) != WIDTH * len(points):
        raise InvalidInputError(
            f"a metric point is a {WIDTH}-tuple (run_id, key, value, timestamp, step)",
            field="points",
        )
    return items
