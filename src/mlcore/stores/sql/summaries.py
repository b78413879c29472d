"""What a list of experiments and a runs table ask of the SQL store, each in few queries.

- :func:`experiment_summaries`: experiments with their run count and last activity (per
  experiment: a count over its index range and two index lookups; then the experiments' tags);
- :func:`run_columns`: the distinct param, metric and tag keys of the runs of experiments
  (a skip-scan of the key indexes and a check per key, not a read of every run's keys).
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

from sqlalchemy import Connection, Integer, Select, Table, bindparam, func, literal, select

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
    e = experiments.c

    def of_experiment(column: Any) -> Any:
        # per experiment: count walks its index range; max(start/end) is one index lookup each
        r = runs.alias("r")
        return (
            select(column(r.c))
            .where(r.c.experiment_id == e.experiment_id, r.c.lifecycle_stage == "active")
            .scalar_subquery()
        )

    query = select(
        e.experiment_id,
        e.name,
        e.lifecycle_stage,
        e.description,
        e.creation_time,
        e.last_update_time,
        of_experiment(lambda c: func.count()).label("run_count"),
        of_experiment(lambda c: func.max(c.start_time)).label("last_start"),
        of_experiment(lambda c: func.max(c.end_time)).label("last_end"),
    ).order_by(e.experiment_id)
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
            found |= _keys_of_runs(conn, table, list(part))
        keys[name] = sorted(found)
    return build(RunColumns, keys)


#: how many runs of the experiments are read first for their keys
_SAMPLE_RUNS = 16
#: a check that a key is used by some run costs up to this many key reads of a full scan
_PROBE_COST = 3


def _keys_of_runs(conn: Connection, table: Table, experiment_ids: list[int]) -> set[str]:
    """The distinct keys of ``table`` on the active runs of ``experiment_ids``.

    Keys are few and shared by most runs, so instead of reading every key of every run:
    the store's distinct keys (a skip-scan of the key index), the keys of a few runs, then
    an EXISTS check for each key those runs lack. Where those checks could cost more than
    the full read (many keys that only other experiments use), the full read it is."""
    queries = _queries(table)
    ids = {"ids": experiment_ids}
    sampled = conn.execute(queries.sample_keys, ids).all()
    seen = [key for _, key in sampled if key is not None]
    found = set(seen)
    sampled_runs = len({run_pk for run_pk, _ in sampled})
    if sampled_runs < _SAMPLE_RUNS:
        return found  # that was every run
    budget = len(seen) / sampled_runs / _PROBE_COST  # checks cheaper than the full read
    # the skip-scan stops once it has found more keys than the budget allows
    most = {"most": len(found) + int(budget) + 1}
    rest = sorted(set(conn.execute(queries.every_key, most).scalars()) - found)
    if len(rest) > budget:
        return set(conn.execute(queries.all_keys, ids).scalars())
    for key in rest:
        if conn.execute(queries.key_used, {**ids, "key": key}).scalar():
            found.add(key)
    return found


class _KeyQueries(NamedTuple):
    every_key: Select[Any]
    sample_keys: Select[Any]
    key_used: Select[Any]
    all_keys: Select[Any]


@functools.cache
def _queries(table: Table) -> _KeyQueries:
    """The statements of :func:`_keys_of_runs` for ``table`` (built once: compiled once)."""
    ids: Any = bindparam("ids", expanding=True)
    active = (runs.c.experiment_id.in_(ids), runs.c.lifecycle_stage == "active")
    sample = select(runs.c.run_pk).where(*active).limit(_SAMPLE_RUNS).subquery("sample")
    # every distinct key: a recursive skip-scan over the key index, one lookup per key
    first, after = table.alias("first"), table.alias("after")
    start = select(func.min(first.c.key).label("key")).cte("skip", recursive=True)
    step = select(
        select(func.min(after.c.key)).where(after.c.key > start.c.key).scalar_subquery()
    ).where(start.c.key.is_not(None))
    scan = start.union_all(step)
    r = runs.alias("r")
    used = (
        select(literal(1))
        .select_from(r.join(table, table.c.run_pk == r.c.run_pk))
        .where(
            table.c.key == bindparam("key"),
            r.c.experiment_id.in_(ids),
            r.c.lifecycle_stage == "active",
        )
    )
    return _KeyQueries(
        every_key=select(scan.c.key)
        .where(scan.c.key.is_not(None))
        .limit(bindparam("most", type_=Integer)),
        sample_keys=select(sample.c.run_pk, table.c.key).outerjoin(
            table, table.c.run_pk == sample.c.run_pk
        ),
        key_used=select(used.exists()),
        all_keys=select(table.c.key)
        .where(table.c.run_pk.in_(select(runs.c.run_pk).where(*active)))
        .distinct(),
    )
