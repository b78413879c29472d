"""Turning rows into entities, and loading a page of runs with its params, metrics and tags.

Entities are built with ``model_construct``: the rows come from our own schema, so 10,000
runs cost no validation.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, select

from mlcore.stores.sql.schema import (
    experiment_tags,
    experiments,
    latest_metrics,
    params,
    runs,
    tags,
)
from mlcore.types import (
    Experiment,
    LifecycleStage,
    Run,
    RunData,
    RunInfo,
    RunStatus,
)

_IN_CHUNK = 500  # ids per IN (...) list: below SQLite's and every server's parameter limit

RUN_COLUMNS = (
    runs.c.run_id,
    runs.c.experiment_id,
    runs.c.name,
    runs.c.status,
    runs.c.start_time,
    runs.c.end_time,
    runs.c.parent_run_id,
    runs.c.user,
    runs.c.artifact_uri,
    runs.c.lifecycle_stage,
    runs.c.alive_until,
    runs.c.config,
)
_STATUS = {s.value: s for s in RunStatus}
_STAGE = {s.value: s for s in LifecycleStage}


def chunked(items: Sequence[Any], size: int = _IN_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def run_status(row: Any, now_ms: int) -> RunStatus:
    status = row.status
    if status == "RUNNING" and row.alive_until is not None and row.alive_until < now_ms:
        return RunStatus.CRASHED
    return _STATUS[status]


def run_info(row: Any, now_ms: int) -> RunInfo:
    return RunInfo.model_construct(
        run_id=row.run_id,
        experiment_id=str(row.experiment_id),
        name=row.name,
        status=run_status(row, now_ms),
        start_time=row.start_time,
        end_time=row.end_time,
        parent_run_id=row.parent_run_id,
        artifact_uri=row.artifact_uri,
        lifecycle_stage=_STAGE[row.lifecycle_stage],
        user=row.user,
    )


def experiment_entity(row: Any, tag_rows: Iterable[Any]) -> Experiment:
    return Experiment.model_construct(
        experiment_id=str(row.experiment_id),
        name=row.name,
        artifact_location=row.artifact_location,
        lifecycle_stage=_STAGE[row.lifecycle_stage],
        tags={t.key: t.value for t in tag_rows},
        description=row.description,
        creation_time=row.creation_time,
        last_update_time=row.last_update_time,
    )


def load_experiments(conn: Connection, where: Any) -> list[Experiment]:
    rows = conn.execute(
        select(experiments).where(where).order_by(experiments.c.experiment_id)
    ).all()
    if not rows:
        return []
    ids = [r.experiment_id for r in rows]
    tag_map: dict[int, list[Any]] = {}
    for part in chunked(ids):
        for t in conn.execute(
            select(experiment_tags).where(experiment_tags.c.experiment_id.in_(part))
        ):
            tag_map.setdefault(t.experiment_id, []).append(t)
    return [experiment_entity(r, tag_map.get(r.experiment_id, ())) for r in rows]


def metric_value(row: Any) -> float:
    return math.nan if row.is_nan else float(row.value)


def load_runs(conn: Connection, rows: Sequence[Any], now_ms: int) -> list[Run]:
    """Entities for ``rows`` (selected with RUN_COLUMNS), with params, metrics and tags."""
    if not rows:
        return []
    ids = [r.run_id for r in rows]
    param_map: dict[str, dict[str, str]] = {i: {} for i in ids}
    metric_map: dict[str, dict[str, float]] = {i: {} for i in ids}
    tag_map: dict[str, dict[str, str]] = {i: {} for i in ids}
    for part in chunked(ids):
        for run_id, key, value in conn.execute(
            select(params.c.run_id, params.c.key, params.c.value).where(params.c.run_id.in_(part))
        ):
            param_map[run_id][key] = value
        for m in conn.execute(
            select(
                latest_metrics.c.run_id,
                latest_metrics.c.key,
                latest_metrics.c.value,
                latest_metrics.c.is_nan,
            ).where(latest_metrics.c.run_id.in_(part))
        ):
            metric_map[m.run_id][m.key] = metric_value(m)
        for run_id, key, value in conn.execute(
            select(tags.c.run_id, tags.c.key, tags.c.value).where(tags.c.run_id.in_(part))
        ):
            tag_map[run_id][key] = value
    return [
        Run.model_construct(
            info=run_info(r, now_ms),
            data=RunData.model_construct(
                params=param_map[r.run_id], metrics=metric_map[r.run_id], tags=tag_map[r.run_id]
            ),
            config=json.loads(r.config),
        )
        for r in rows
    ]
