"""What a list of experiments and a runs table ask of the SQL store, each in few queries.

- :func:`experiment_summaries`: experiments with their run count and last activity (one
  ``GROUP BY`` over runs, then the experiments' tags);
- :func:`run_columns`: the distinct param, metric and tag keys of the runs of experiments.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from mlcore.stores.sql.rows import chunked
from mlcore.stores.sql.schema import (
    experiment_tags,
    experiments,
    latest_metrics,
    params,
    runs,
    tags,
)
from mlcore.types import ExperimentSummary, LifecycleStage, RunColumns, build

__all__ = ["experiment_summaries", "run_columns"]


def experiment_summaries(
    conn: Connection, experiment_ids: list[int] | None, include_deleted: bool
) -> list[ExperimentSummary]:
    counts = (
        select(
            runs.c.experiment_id,
            func.count().label("run_count"),
            func.max(runs.c.start_time).label("last_start"),
            func.max(runs.c.end_time).label("last_end"),
        )
        .where(runs.c.lifecycle_stage == "active")
        .group_by(runs.c.experiment_id)
    )
    e = experiments.c
    if experiment_ids is not None:
        counts = counts.where(runs.c.experiment_id.in_(experiment_ids))
    sub = counts.subquery()
    query = (
        select(
            e.experiment_id,
            e.name,
            e.lifecycle_stage,
            e.description,
            e.creation_time,
            e.last_update_time,
            sub.c.run_count,
            sub.c.last_start,
            sub.c.last_end,
        )
        .outerjoin(sub, sub.c.experiment_id == e.experiment_id)
        .order_by(e.experiment_id)
    )
    if experiment_ids is not None:
        query = query.where(e.experiment_id.in_(experiment_ids))
    if not include_deleted:
        query = query.where(e.lifecycle_stage == "active")
    rows = conn.execute(query).all()
    tag_map: dict[int, dict[str, str]] = {}
    for part in chunked([row.experiment_id for row in rows]):
        for tag in conn.execute(
            select(experiment_tags).where(experiment_tags.c.experiment_id.in_(part))
        ):
            tag_map.setdefault(tag.experiment_id, {})[tag.key] = tag.value
    return [_summary(row, tag_map.get(row.experiment_id, {})) for row in rows]


def _summary(row: Any, tag_values: dict[str, str]) -> ExperimentSummary:
    times = [t for t in (row.last_start, row.last_end, row.last_update_time) if t is not None]
    return build(
        ExperimentSummary,
        {
            "experiment_id": str(row.experiment_id),
            "name": row.name,
            "lifecycle_stage": LifecycleStage(row.lifecycle_stage),
            "tags": tag_values,
            "description": row.description,
            "creation_time": row.creation_time,
            "last_update_time": row.last_update_time,
            "run_count": int(row.run_count or 0),
            "last_activity": int(max(times)) if times else None,
        },
    )


def run_columns(conn: Connection, experiment_ids: list[int]) -> RunColumns:
    keys: dict[str, list[str]] = {}
    for name, table in (("params", params), ("metrics", latest_metrics), ("tags", tags)):
        found: set[str] = set()
        for part in chunked(experiment_ids):
            run_pks = select(runs.c.run_pk).where(
                runs.c.experiment_id.in_(part), runs.c.lifecycle_stage == "active"
            )
            found.update(
                conn.execute(select(table.c.key).where(table.c.run_pk.in_(run_pks)).distinct())
                .scalars()
                .all()
            )
        keys[name] = sorted(found)
    return build(RunColumns, keys)
