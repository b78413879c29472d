"""Downsampling a metric history so that its extremes survive (M4).

The step range is cut into equal buckets; each bucket keeps its first and last point and
the points with its smallest and largest value (a bucket that holds a NaN also keeps its
first NaN). A single spike in a million points is kept whatever the range, the series'
overall min and max, first and last point are always kept, and the same input gives the
same rows. A range holding at most ``max_points`` points is returned as it is.

Works over the history's pyarrow columns with numpy: one pass per column, no Python per
point.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from mlcore.errors import InvalidInputError

if TYPE_CHECKING:
    import pyarrow as pa

    from mlcore.types import SampledSeries

__all__ = [
    "MAX_SAMPLED_POINTS",
    "MAX_SERIES",
    "TOTAL_POINTS",
    "check_range",
    "check_series_request",
    "sample",
    "select_range",
    "to_series",
    "total_points",
]

#: how many points one series of a ``sampled_histories`` call may ask for
MAX_SAMPLED_POINTS = 10_000
#: how many (run, key) series one ``sampled_histories`` call may ask for
MAX_SERIES = 1000
#: schema metadata of a sampled history: the points its range holds before sampling
TOTAL_POINTS = b"mlcore.total_points"


def _check_int(value: Any, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(f"{name} must be an integer, got {value!r:.40}", field=name)


def check_range(max_points: int | None, min_step: int | None, max_step: int | None) -> None:
    """InvalidInputError unless ``max_points`` is None or >= 1 and ``min_step <= max_step``."""
    if max_points is not None:
        _check_int(max_points, "max_points")
        if max_points <= 0:
            raise InvalidInputError(
                f"max_points must be at least 1, got {max_points}", field="max_points"
            )
    for name, value in (("min_step", min_step), ("max_step", max_step)):
        if value is not None:
            _check_int(value, name)
    if min_step is not None and max_step is not None and min_step > max_step:
        raise InvalidInputError(
            f"min_step ({min_step}) is greater than max_step ({max_step})", field="min_step"
        )


def check_series_request(series: int, max_points: int) -> None:
    """The limits of one ``sampled_histories`` call (InvalidInputError beyond them)."""
    _check_int(max_points, "max_points")
    if not 0 < max_points <= MAX_SAMPLED_POINTS:
        raise InvalidInputError(
            f"max_points must be in 1..{MAX_SAMPLED_POINTS}, got {max_points}",
            field="max_points",
        )
    if series > MAX_SERIES:
        raise InvalidInputError(
            f"{series} series (runs x keys) asked for at once; at most {MAX_SERIES}",
            field="keys",
        )


def select_range(table: pa.Table, min_step: int | None, max_step: int | None) -> pa.Table:
    """The rows of a history (sorted by step) with ``min_step <= step <= max_step``."""
    if (min_step is None and max_step is None) or table.num_rows == 0:
        return table
    start, stop = _bounds(_numpy(table, "step"), min_step, max_step)
    return table.slice(start, stop - start)


def _bounds(steps: Any, min_step: int | None, max_step: int | None) -> tuple[int, int]:
    import numpy as np

    start = 0 if min_step is None else int(np.searchsorted(steps, min_step, side="left"))
    stop = len(steps) if max_step is None else int(np.searchsorted(steps, max_step, "right"))
    return start, max(start, stop)


def _numpy(table: pa.Table, name: str) -> Any:
    """A column as one numpy array (no copy when it is one chunk)."""
    return table.column(name).to_numpy()


def sample(
    table: pa.Table,
    max_points: int | None,
    min_step: int | None = None,
    max_step: int | None = None,
) -> pa.Table:
    """A history (sorted by step) cut to ``[min_step, max_step]`` and, beyond ``max_points``
    points, downsampled by M4. The result's schema metadata holds the range's point count
    (:func:`total_points`)."""
    if table.num_rows == 0:
        return table.replace_schema_metadata({TOTAL_POINTS: b"0"})
    steps = _numpy(table, "step")
    start, stop = _bounds(steps, min_step, max_step)
    total = stop - start
    if max_points is not None and total > max_points:
        # numpy all the way: a pyarrow take over a chunked table would join every chunk
        import pyarrow as pa

        values = _numpy(table, "value")
        chosen = _m4_indices(steps[start:stop], values[start:stop], max_points) + start
        table = pa.table(
            {
                "step": pa.array(steps[chosen], pa.int64()),
                "timestamp": pa.array(_gather(table.column("timestamp"), chosen), pa.int64()),
                "value": pa.array(values[chosen], pa.float64()),
            }
        )
    else:
        table = table.slice(start, total)
        table = table.combine_chunks() if table.column("step").num_chunks > 1 else table
    return table.replace_schema_metadata({TOTAL_POINTS: str(total).encode()})


def _gather(column: Any, indices: Any) -> Any:
    """``column[indices]`` (sorted indices) chunk by chunk, without joining the chunks."""
    import numpy as np

    if column.num_chunks == 1:
        return column.chunk(0).to_numpy()[indices]
    lengths = [len(chunk) for chunk in column.chunks]
    bounds = np.searchsorted(indices, np.cumsum(lengths), side="left")
    parts, offset, first = [], 0, 0
    for chunk, length, last in zip(column.chunks, lengths, bounds.tolist(), strict=True):
        if last > first:
            parts.append(chunk.to_numpy()[indices[first:last] - offset])
        offset, first = offset + length, last
    return np.concatenate(parts) if parts else np.empty(0, np.int64)


def total_points(table: pa.Table) -> int:
    """How many points the range of a sampled history holds (its row count if not sampled)."""
    metadata = table.schema.metadata or {}
    found = metadata.get(TOTAL_POINTS)
    return int(found) if found is not None else table.num_rows


def _m4_indices(steps: Any, values: Any, max_points: int) -> Any:
    """The rows M4 keeps of ``steps`` (sorted) and ``values``, sorted.

    One argmin and one argmax per bucket (numpy over the bucket's slice, no copy): two passes
    over the values in all, where masks and repeated arrays would take several."""
    import numpy as np

    n = len(steps)
    per_bucket = 4
    if max_points < 5:  # fewer than a bucket with a NaN takes: NaN or not, decides _few
        nan = np.isnan(values)
        if nan.any() or max_points < per_bucket:
            return _few(values, nan, max_points)
    buckets = max_points // per_bucket
    starts = _bucket_starts(steps, buckets)
    ends = np.append(starts[1:], n)
    lows, highs = _bucket_extremes(values, starts.tolist(), ends.tolist())
    if lows is None:  # a NaN somewhere: five points per bucket, fewer buckets
        buckets = max_points // 5
        starts = _bucket_starts(steps, buckets)
        ends = np.append(starts[1:], n)
        lows, highs, first_nans = _bucket_extremes_nan(values, starts.tolist(), ends.tolist())
        picked = [starts, ends - 1, lows, highs, first_nans]
    else:
        picked = [starts, ends - 1, lows, highs]
    chosen = np.unique(np.concatenate(picked))
    return chosen[chosen >= 0]


def _bucket_starts(steps: Any, buckets: int) -> Any:
    """Where each of ``buckets`` equal step ranges starts (empty ones left out)."""
    import numpy as np

    n = len(steps)
    lo, hi = int(steps[0]), int(steps[-1])
    span = hi - lo + 1  # Python ints: no overflow whatever the steps
    edges = [lo + (k * span) // buckets for k in range(1, buckets)]
    starts = np.unique(np.searchsorted(steps, np.array(edges, dtype=np.int64), side="left"))
    return np.concatenate(([0], starts[(starts > 0) & (starts < n)])).astype(np.intp)


def _bucket_extremes(values: Any, starts: list[int], ends: list[int]) -> tuple[Any, Any]:
    """Per bucket the first index of its smallest and of its largest value; (None, None) as
    soon as a bucket holds a NaN (argmin and argmax stop at the first NaN)."""
    import numpy as np

    lows = np.empty(len(starts), np.intp)
    highs = np.empty(len(starts), np.intp)
    for i, (start, end) in enumerate(zip(starts, ends, strict=True)):
        bucket = values[start:end]
        low = int(bucket.argmin())
        if bucket[low] != bucket[low]:
            return None, None
        lows[i] = start + low
        highs[i] = start + int(bucket.argmax())
    return lows, highs


def _bucket_extremes_nan(values: Any, starts: list[int], ends: list[int]) -> tuple[Any, Any, Any]:
    """:func:`_bucket_extremes` where NaNs may be: extremes among the numbers (the first
    point when a bucket is all NaN) and the first NaN of each bucket (-1 when none)."""
    import numpy as np

    count = len(starts)
    lows, highs = np.empty(count, np.intp), np.empty(count, np.intp)
    first_nans = np.full(count, -1, np.intp)
    for i, (start, end) in enumerate(zip(starts, ends, strict=True)):
        bucket = values[start:end]
        low = int(bucket.argmin())
        if bucket[low] == bucket[low]:  # no NaN here
            lows[i], highs[i] = start + low, start + int(bucket.argmax())
            continue
        first_nans[i] = start + low
        low = int(np.where(np.isnan(bucket), math.inf, bucket).argmin())
        high = int(np.where(np.isnan(bucket), -math.inf, bucket).argmax())
        lows[i], highs[i] = start + low, start + high
    return lows, highs, first_nans


def _few(values: Any, nan: Any, max_points: int) -> Any:
    """Fewer points than one bucket takes: the largest and smallest value, then a NaN, then
    the first and last point, the first ``max_points`` distinct of those."""
    import numpy as np

    candidates: list[int] = []
    finite = np.flatnonzero(~nan)
    if len(finite):
        kept = values[finite]
        candidates += [int(finite[np.argmax(kept)]), int(finite[np.argmin(kept)])]
    if nan.any():
        candidates.append(int(np.flatnonzero(nan)[0]))
    candidates += [0, len(values) - 1]
    chosen = list(dict.fromkeys(candidates))[:max_points]
    return np.array(sorted(chosen), dtype=np.intp)


def to_series(run_id: str, key: str, table: pa.Table) -> SampledSeries:
    """A sampled history as the JSON-friendly :class:`~mlcore.types.SampledSeries`."""
    from mlcore.types import SampledSeries, build

    total = total_points(table)
    return build(
        SampledSeries,
        {
            "run_id": run_id,
            "key": key,
            "steps": table.column("step").to_pylist(),
            "values": table.column("value").to_pylist(),
            "timestamps": table.column("timestamp").to_pylist(),
            "total_points": total,
            "sampled": total > table.num_rows,
        },
    )
