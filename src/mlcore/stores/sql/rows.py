"""Turning rows into entities, and loading a page of runs with its params, metrics and tags.

Entities are built with :func:`mlcore.types.build`: the rows come from our own schema, so
10,000 runs cost no validation.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import math
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Dialect, bindparam, select
from sqlalchemy.exc import DBAPIError

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
    "Fetch",
    "chunked",
    "driver_fetch",
    "experiment_entity",
    "load_experiment",
    "load_experiments",
    "load_page",
    "load_runs",
    "new_run",
    "page_data_sql",
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


def _experiment_query(column: Any) -> Any:
    """An experiment and its tags (one row per tag, or one with NULLs when it has none)."""
    tag, e = experiment_tags.c, experiments.c
    return (
        select(
            e.experiment_id,
            e.name,
            e.artifact_location,
            e.lifecycle_stage,
            e.description,
            e.creation_time,
            e.last_update_time,
            tag.key.label("tag_key"),
            tag.value.label("tag_value"),
        )
        .select_from(
            experiments.outerjoin(experiment_tags, tag.experiment_id == experiments.c.experiment_id)
        )
        .where(column == bindparam("value"))
        .order_by(tag.key)
    )


_EXPERIMENT_BY = {
    "name": _experiment_query(experiments.c.name),
    "id": _experiment_query(experiments.c.experiment_id),
}
_COMPILED: dict[tuple[str, str, str], Any] = {}


def load_experiment(conn: Connection, by: str, value: str | int) -> Experiment | None:
    """The experiment whose ``by`` (``name`` or ``id``) is ``value``, in one statement run at
    the driver level (compiled once per dialect): what every search by experiment name pays."""
    dialect = conn.dialect
    key = (dialect.name, dialect.driver, by)
    compiled = _COMPILED.get(key)
    if compiled is None:
        compiled = _COMPILED[key] = _EXPERIMENT_BY[by].compile(dialect=dialect)
    params = compiled.construct_params({"value": value})
    args: Any = (
        params if compiled.positiontup is None else tuple(params[n] for n in compiled.positiontup)
    )
    rows = driver_fetch(conn)(compiled.string, args)
    if not rows:
        return None
    first = rows[0]
    return build(
        Experiment,
        {
            "experiment_id": str(first[0]),
            "name": first[1],
            "artifact_location": first[2],
            "lifecycle_stage": _STAGE[first[3]],
            "tags": {r[7]: r[8] for r in rows if r[7] is not None},
            "description": first[4],
            "creation_time": first[5],
            "last_update_time": first[6],
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


#: a function running one statement (text in the driver's parameter style) and returning rows
Fetch = Callable[[str, Sequence[Any]], Sequence[Any]]


def driver_fetch(conn: Connection) -> Fetch:
    """A :data:`Fetch` on a cursor of ``conn``'s driver connection, in its transaction:
    rows as the driver returns them, without SQLAlchemy's per-statement and per-row work.
    Driver errors are raised as SQLAlchemy raises them (so transient ones are retried)."""
    dialect = conn.dialect
    driver_error = dialect.loaded_dbapi.Error
    cursor = conn.connection.cursor()

    def fetch(sql: str, args: Sequence[Any]) -> Sequence[Any]:
        try:
            cursor.execute(sql, args)
            return cursor.fetchall()
        except driver_error as exc:
            lost = dialect.is_disconnect(exc, conn.connection.dbapi_connection, cursor)
            if lost:
                conn.invalidate(exc)
            raise DBAPIError.instance(
                sql, args, exc, driver_error, connection_invalidated=lost, dialect=dialect
            ) from exc

    return fetch


_PAGE_CHUNK = 300  # keys per page query: its three lists stay under SQLite's oldest 999 limit


@functools.lru_cache(maxsize=64)
def _page_data_sql(key: str, mark: str, count: int) -> str:
    """Params, latest metrics and tags of ``count`` runs in one statement: rows of (kind 0/1/2,
    run_pk, key, text value, number value, is_nan); the keys are bound three times."""
    marks = ", ".join([mark] * count)
    return (
        f"SELECT 0, run_pk, {key}, value, NULL, FALSE FROM params WHERE run_pk IN ({marks}) "
        f"UNION ALL SELECT 1, run_pk, {key}, NULL, value, is_nan FROM latest_metrics "
        f"WHERE run_pk IN ({marks}) "
        f"UNION ALL SELECT 2, run_pk, {key}, value, NULL, FALSE FROM tags "
        f"WHERE run_pk IN ({marks})"
    )


def page_data_sql(dialect: Dialect, count: int) -> str:
    """The statement reading params, latest metrics and tags of ``count`` runs (at most 300):
    its parameters are the runs' keys, three times over."""
    return _page_data_sql(*_dialect_sql(dialect), count)


def _dialect_sql(dialect: Dialect) -> tuple[str, str]:
    """The quoted ``key`` column and the positional placeholder of a dialect."""
    style = dialect.paramstyle
    mark = "?" if style == "qmark" else "%s" if style in ("format", "pyformat") else None
    if mark is None:  # pragma: no cover - every dialect mlcore supports has one of the above
        raise NotImplementedError(f"paramstyle {style}")
    # ``key`` is a reserved word in MySQL: quoted the dialect's way
    return dialect.identifier_preparer.quote_identifier("key"), mark


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
    return load_page(driver_fetch(conn), conn.dialect, rows, now_ms)


def load_page(fetch: Fetch, dialect: Dialect, rows: Sequence[Any], now_ms: int) -> list[Run]:
    """:func:`load_runs` through ``fetch`` (any connection of ``dialect``, at the driver level:
    one statement per 300 runs, its text depending only on how many, never on values)."""
    if not rows:
        return []
    key, mark = _dialect_sql(dialect)
    pks = [r[0] for r in rows]
    unclamp = mysql_infinite if dialect.name in MYSQL_DIALECTS else None
    with _gc_paused():
        data: dict[int, tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = {
            pk: ({}, {}, {}) for pk in pks
        }
        for part in chunked(pks, _PAGE_CHUNK):
            sql = _page_data_sql(key, mark, len(part))
            for kind, pk, name, text, number, is_nan in fetch(sql, tuple(part) * 3):
                if kind == 1:
                    data[pk][1][name] = _NAN if is_nan else unclamp(number) if unclamp else number
                else:
                    data[pk][kind][name] = text
        return _entities(rows, data, now_ms)


class _GcPause:
    """Counts the reads that paused cyclic garbage collection, so concurrent searches (server
    threads) pause it once and the last one out restores what it found: a read that started
    while another had paused it must not leave collection off for good."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._was_enabled = False

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._depth == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._depth += 1
        try:
            yield
        finally:
            with self._lock:
                self._depth -= 1
                if self._depth == 0 and self._was_enabled:
                    gc.enable()


# No cyclic garbage collection while a page is read and its entities built: they hold no
# cycles, yet their ~10 tracked objects per run trigger full collections that scan the whole
# heap (half the time of a 10,000-run page).
_gc_paused = _GcPause()


def _entities(
    rows: Sequence[Any],
    data: dict[int, tuple[dict[str, Any], dict[str, Any], dict[str, Any]]],
    now_ms: int,
) -> list[Run]:
    loads = json.loads
    entities = []
    for r in rows:
        params, metrics, tags = data[r[0]]
        values = {
            "info": run_info(r, now_ms),
            "data": build(RunData, {"params": params, "metrics": metrics, "tags": tags}),
            "config": loads(r[-1]) if r[-1] != "{}" else {},
        }
        entities.append(build(Run, values))
    return entities
