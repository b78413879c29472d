"""Runs as a ``pyarrow.Table``: one row per run, ``params.*``, ``metrics.*``, ``tags.*``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

    from mlcore.types import Run

__all__ = ["runs_to_table"]


def runs_to_table(runs: Sequence[Run]) -> pa.Table:
    """Columns: run_id, run_name, experiment_id, status, start_time, end_time (timestamps),
    parent_run_id, user, then ``params.<k>`` (string), ``metrics.<k>`` (float64, latest value)
    and ``tags.<k>`` (string) for every key any run has (null where a run lacks it)."""
    import pyarrow as pa

    infos = [run.info for run in runs]
    columns: dict[str, pa.Array[Any]] = {
        "run_id": pa.array([i.run_id for i in infos], pa.string()),
        "run_name": pa.array([i.name for i in infos], pa.string()),
        "experiment_id": pa.array([i.experiment_id for i in infos], pa.string()),
        "status": pa.array([i.status.value for i in infos], pa.string()),
        "start_time": pa.array([i.start_time for i in infos], pa.timestamp("ms")),
        "end_time": pa.array([i.end_time for i in infos], pa.timestamp("ms")),
        "parent_run_id": pa.array([i.parent_run_id for i in infos], pa.string()),
        "user": pa.array([i.user for i in infos], pa.string()),
    }
    for prefix, attribute, kind in (
        ("params", "params", pa.string()),
        ("metrics", "metrics", pa.float64()),
        ("tags", "tags", pa.string()),
    ):
        maps = [getattr(run.data, attribute) for run in runs]
        keys = sorted({key for mapping in maps for key in mapping})
        for key in keys:
            columns[f"{prefix}.{key}"] = pa.array([m.get(key) for m in maps], kind)
    return pa.table(columns)
