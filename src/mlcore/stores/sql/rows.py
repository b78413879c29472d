"""Turning rows into entities, and loading a page of runs with its params, metrics and tags.

Entities are built with :func:`mlcore.types.build`: the rows come from our own schema, so
10,000 runs cost no validation.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, select

from mlcore.stores.sql.schema import (
    MYSQL_DIALECTS,
    experiment_tags,
    experiments,
    mysql_infinite,
    runs,
)
from mlcore.types import (
    Experiment,
    LifecycleStage,
    Run,
    RunData,
    RunInfo,
    RunStatus,
    build,
)

__all__ = [
    "RUN_COLUMNS",
    "chunked",
    "experiment_entity",
    "load_experiments",
    "load_runs",
    "new_run",
    "run_info",
]

_IN_CHUNK = 500  # ids per IN (...) list: below SQLite's and every server's parameter limit

RUN_COLUMNS = (
    runs.c.run_pk,
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
_NAN = math.nan


def chunked(items: Sequence[Any], size: int = _IN_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def run_info(row: Any, now_ms: int) -> RunInfo:
    """RunInfo of a row selected with RUN_COLUMNS (unpacked by position: a search builds
    thousands of these, and positional access is several times cheaper than by name)."""
    (
        _,
        run_id,
        experiment_id,
        name,
        status,
        start,
        end,
        parent,
        user,
        uri,
        stage,
        alive,
        _config,
    ) = row
    if status == "RUNNING" and alive is not None and alive < now_ms:
        status = "CRASHED"
    return build(
        RunInfo,
        {
            "run_id": run_id,
            "experiment_id": str(experiment_id),
            "name": name,
            "status": _STATUS[status],
            "start_time": start,
            "end_time": end,
            "parent_run_id": parent,
            "artifact_uri": uri,
            "lifecycle_stage": _STAGE[stage],
            "user": user,
        },
    )


def experiment_entity(row: Any, tag_rows: Iterable[Any]) -> Experiment:
    return build(
        Experiment,
        {
            "experiment_id": str(row.experiment_id),
            "name": row.name,
            "artifact_location": row.artifact_location,
            "lifecycle_stage": _STAGE[row.lifecycle_stage],
            "tags": {t.key: t.value for t in tag_rows},
            "description": row.description,
            "creation_time": row.creation_time,
            "last_update_time": row.last_update_time,
        },
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


_PAGE_QUERIES = {
    # ``key`` is a reserved word in MySQL: quoted the dialect's way at run time
    "params": "SELECT run_pk, {key}, value FROM params WHERE run_pk IN ({marks})",
    "metrics": "SELECT run_pk, {key}, value, is_nan FROM latest_metrics WHERE run_pk IN ({marks})",
    "tags": "SELECT run_pk, {key}, value FROM tags WHERE run_pk IN ({marks})",
}


def _rows_for(conn: Connection, kind: str, pks: Sequence[int]) -> list[Any]:
    """Rows of one per-run table for the given run keys.

    Runs at the DBAPI level with one bound placeholder per key: the statement text depends
    only on how many keys there are, never on values, and skips SQLAlchemy's per-call
    compilation (the hot spot of a search returning a thousand runs).
    """
    style = conn.dialect.paramstyle
    mark = "?" if style == "qmark" else "%s" if style in ("format", "pyformat") else None
    if mark is None:  # pragma: no cover - every dialect mlcore supports has one of the above
        raise NotImplementedError(f"paramstyle {style}")
    key = conn.dialect.identifier_preparer.quote_identifier("key")
    found: list[Any] = []
    for part in chunked(pks):
        sql = _PAGE_QUERIES[kind].format(key=key, marks=", ".join([mark] * len(part)))
        found.extend(conn.exec_driver_sql(sql, tuple(part)).all())
    return found


def new_run(values: dict[str, Any], tags: dict[str, str], params: dict[str, str]) -> Run:
    """The entity of a run just inserted with ``values`` (no read-back)."""
    config = values["config"]
    return build(
        Run,
        {
            "info": build(
                RunInfo,
                {
                    "run_id": values["run_id"],
                    "experiment_id": str(values["experiment_id"]),
                    "name": values["name"],
                    "status": _STATUS["RUNNING"],
                    "start_time": values["start_time"],
                    "end_time": None,
                    "parent_run_id": values["parent_run_id"],
                    "artifact_uri": values["artifact_uri"],
                    "lifecycle_stage": _STAGE["active"],
                    "user": values["user"],
                },
            ),
            "data": build(RunData, {"params": dict(params), "metrics": {}, "tags": dict(tags)}),
            "config": json.loads(config) if config != "{}" else {},
        },
    )


def load_runs(conn: Connection, rows: Sequence[Any], now_ms: int) -> list[Run]:
    """Entities for ``rows`` (selected with RUN_COLUMNS), with params, metrics and tags."""
    if not rows:
        return []
    pks = [r[0] for r in rows]
    param_map: dict[int, dict[str, str]] = {pk: {} for pk in pks}
    metric_map: dict[int, dict[str, float]] = {pk: {} for pk in pks}
    tag_map: dict[int, dict[str, str]] = {pk: {} for pk in pks}
    for pk, key, value in _rows_for(conn, "params", pks):
        param_map[pk][key] = value
    unclamp = mysql_infinite if conn.dialect.name in MYSQL_DIALECTS else None
    for pk, key, value, is_nan in _rows_for(conn, "metrics", pks):
        metric_map[pk][key] = _NAN if is_nan else unclamp(value) if unclamp else value
    for pk, key, value in _rows_for(conn, "tags", pks):
        tag_map[pk][key] = value
    loads = json.loads
    return [
        build(
            Run,
            {
                "info": run_info(r, now_ms),
                "data": build(
                    RunData,
                    {"params": param_map[r[0]], "metrics": metric_map[r[0]], "tags": tag_map[r[0]]},
                ),
                "config": loads(r[-1]) if r[-1] != "{}" else {},
            },
        )
        for r in rows
    ]
