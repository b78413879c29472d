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
    import numpy as np

    steps = table.column("step").to_numpy()
    start = 0 if min_step is None else int(np.searchsorted(steps, min_step, side="left"))
    stop = len(steps) if max_step is None else int(np.searchsorted(steps, max_step, "right"))
    return table.slice(start, max(0, stop - start))


def sample(
    table: pa.Table,
    max_points: int | None,
    min_step: int | None = None,
    max_step: int | None = None,
) -> pa.Table:
    """A history (sorted by step) cut to ``[min_step, max_step]`` and, beyond ``max_points``
    points, downsampled by M4. The result's schema metadata holds the range's point count
    (:func:`total_points`)."""
    table = select_range(table, min_step, max_step)
    total = table.num_rows
    if max_points is not None and total > max_points:
        table = table.take(_m4_indices(table, max_points))
    else:
        table = table.combine_chunks() if table.column("step").num_chunks > 1 else table
    return table.replace_schema_metadata({TOTAL_POINTS: str(total).encode()})


def total_points(table: pa.Table) -> int:
    """How many points the range of a sampled history holds (its row count if not sampled)."""
    metadata = table.schema.metadata or {}
    found = metadata.get(TOTAL_POINTS)
    return int(found) if found is not None else table.num_rows


def _m4_indices(table: pa.Table, max_points: int) -> Any:
    import numpy as np

    steps = table.column("step").to_numpy()
    values = table.column("value").to_numpy()
    n = len(steps)
    nan = np.isnan(values)
    has_nan = bool(nan.any())
    per_bucket = 5 if has_nan else 4
    if max_points < per_bucket:
        return _few(values, nan, max_points)
    buckets = max_points // per_bucket
    lo, hi = int(steps[0]), int(steps[-1])
    span = hi - lo + 1  # Python ints: no overflow whatever the steps
    edges = [lo + (k * span) // buckets for k in range(1, buckets)]
    starts = np.unique(np.searchsorted(steps, np.array(edges, dtype=np.int64), side="left"))
    starts = np.concatenate(([0], starts[(starts > 0) & (starts < n)])).astype(np.intp)
    ends = np.append(starts[1:], n)
    picked = [starts, ends - 1]
    for reduce, fill in ((np.fmin, math.inf), (np.fmax, -math.inf)):
        masked = np.where(nan, fill, values) if has_nan else values
        extreme = reduce.reduceat(masked, starts)
        picked.append(_first_in_segments(masked == np.repeat(extreme, ends - starts), starts, ends))
    if has_nan:
        picked.append(_first_in_segments(nan, starts, ends))
    chosen = np.unique(np.concatenate(picked))
    return chosen[chosen >= 0]


def _first_in_segments(mask: Any, starts: Any, ends: Any) -> Any:
    """Per segment ``[start, end)``: the first index where ``mask`` holds, else -1."""
    import numpy as np

    hits = np.flatnonzero(mask)
    if len(hits) == 0:
        return np.full(len(starts), -1, dtype=np.intp)
    pos = np.searchsorted(hits, starts, side="left")
    found = hits[np.minimum(pos, len(hits) - 1)]
    return np.where((pos < len(hits)) & (found < ends), found, -1)


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
