"""Run search on SQL: the index-walking plans return exactly what the single sorted query of
earlier releases returned, page tokens survive concurrent inserts, and the plans use indexes.

The reference is that earlier query, built from the same filter compiler (``IN`` sets, one
``ORDER BY`` with NULLs last, no limit): every edge the new plans treat separately (runs
without the order metric, NaN, ties, ASC/DESC, deleted runs, several experiments, pages) is
compared against it on SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
import gc
import json
import math
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from mlcore.errors import InvalidInputError
from mlcore.filters import parse_filter, parse_order_by
from mlcore.stores.base import NewRun
from mlcore.stores.paging import encode_page_token
from mlcore.stores.sql import SqlStore
from mlcore.stores.sql.filter_sql import apply_order, compile_filter, run_target
from mlcore.stores.sql.rows import RUN_COLUMNS
from mlcore.stores.sql.run_search import build_search, page_queries
from mlcore.stores.sql.schema import experiments, runs


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    url = (
        f"sqlite:///{tmp_path}/s.db"
        if request.param == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    opened = SqlStore(url)
    yield opened
    opened.close()


def _populate(store: SqlStore) -> tuple[str, str]:
    """Two experiments; metric values with ties, NaN and gaps; start times with ties; a
    deleted run; params numeric and not."""
    a = store.create_experiment("a").experiment_id
    b = store.create_experiment("b").experiment_id
    points = []
    for i in range(60):
        experiment = a if i % 4 else b
        run = store.create_run(
            experiment,
            name=f"r{i:02d}",
            start_time=1000 + i // 3,  # three runs per start time
            params={"lr": ["0.1", "0.01", "x"][i % 3], "depth": str(i % 5)},
            tags={"team": "ab"[i % 2]} if i % 7 else {},
        ).info.run_id
        if i % 6 == 5:
            continue  # no metrics at all
        acc = math.nan if i % 11 == 0 else float(i % 8) / 8  # ties: eight values
        points.append((run, "acc", acc, 0, 0))
        points.append((run, "loss", float(i % 5), 0, 0))
        if i == 13:
            store.delete_run(run)
    store.log_metrics(points)
    return a, b


def _reference(
    store: SqlStore, experiment_ids: list[str], flt: str | None, order: list[str], view: str
) -> list[str]:
    """What the single sorted query of earlier releases returns (no limit)."""
    now = 2**62
    target = run_target(now, correlated=False)
    query = select(*RUN_COLUMNS)
    if experiment_ids:
        query = query.where(runs.c.experiment_id.in_([int(e) for e in experiment_ids]))
    active = select(experiments.c.experiment_id).where(experiments.c.lifecycle_stage == "active")
    if view == "active":
        query = query.where(runs.c.lifecycle_stage == "active", runs.c.experiment_id.in_(active))
    expr = parse_filter(flt)
    if expr is not None:
        query = query.where(compile_filter(expr, target))
    query = apply_order(query, parse_order_by(order), target)
    with store.engine.connect() as conn:
        return [row.run_id for row in conn.execute(query)]


def _paged(
    store: SqlStore,
    experiment_ids: list[str],
    flt: str | None,
    order: list[str],
    view: str,
    size: int,
) -> list[str]:
    found, token = [], None
    while True:
        page = store.search_runs(
            experiment_ids, flt, order, max_results=size, page_token=token, view=view
        )
        found += [r.info.run_id for r in page]
        token = page.next_page_token
        if token is None:
            return found


ORDERS = [
    ["metrics.acc DESC"],
    ["metrics.acc ASC"],
    ["metrics.acc DESC", "params.depth ASC"],
    ["metrics.acc", "attributes.run_name DESC"],
    ["metrics.missing DESC"],
    [],
    ["params.depth DESC"],
    ["attributes.start_time ASC"],
    ["tags.team", "metrics.loss DESC"],
]
FILTERS = [
    None,
    "metrics.acc > 0.3 and params.lr = '0.01'",
    "metrics.acc >= 0.25 and metrics.acc < 0.75",
    "metrics.acc > 0.1 or tags.team = 'a'",
    "not metrics.acc > 0.5",
    "metrics.acc IS NULL",
    "params.depth > 2 and tags.team IS NULL",
    "params.lr IN ('0.1', 'x') and metrics.loss != 3",
]


@pytest.mark.parametrize("order", ORDERS, ids=lambda o: ",".join(o) or "default")
def test_results_and_pages_match_the_single_sorted_query(store: SqlStore, order: list[str]) -> None:
    a, b = _populate(store)
    for flt in FILTERS:
        for experiment_ids, view in (([a], "active"), ([a, b], "active"), ([a, b], "all")):
            expected = _reference(store, experiment_ids, flt, order, view)
            whole = store.search_runs(experiment_ids, flt, order, max_results=1000, view=view)
            assert [r.info.run_id for r in whole] == expected, (flt, experiment_ids, view)
            for size in (1, 7):
                paged = _paged(store, experiment_ids, flt, order, view, size)
                assert paged == expected, (flt, experiment_ids, view, size)


def test_runs_without_the_metric_or_with_nan_come_last_in_both_directions(
    store: SqlStore,
) -> None:
    experiment = store.create_experiment("e").experiment_id
    ids = {}
    for i, value in enumerate([0.5, math.nan, None, 0.9, 0.1]):
        run = store.create_run(experiment, name=f"r{i}", start_time=i).info.run_id
        ids[run] = f"r{i}"
        if value is not None:
            store.log_metrics([(run, "m", value, 0, 0)])
    names = [r.info.name for r in store.search_runs([experiment], None, ["metrics.m DESC"])]
    assert names == ["r3", "r0", "r4", "r2", "r1"]  # the two without a number: newest first
    names = [r.info.name for r in store.search_runs([experiment], None, ["metrics.m"])]
    assert names == ["r4", "r0", "r3", "r2", "r1"]
    nan_run = store.search_runs([experiment], "attributes.run_name = 'r1'")[0]
    assert math.isnan(nan_run.data.metrics["m"])


def test_pages_are_stable_while_runs_are_inserted(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path}/c.db")
    experiment = store.create_experiment("e").experiment_id
    made = store.create_runs(
        experiment, [NewRun(name=f"r{i}", start_time=1000 + i // 2) for i in range(300)]
    )
    store.log_metrics([(r.info.run_id, "acc", (i % 50) / 50, 0, 0) for i, r in enumerate(made)])
    existing = {r.info.run_id for r in made}
    stop = threading.Event()
    inserted: list[str] = []

    def insert() -> None:  # new runs that sort everywhere: newest, best and worst, no metric
        i = 0
        while not stop.is_set():
            (run,) = store.create_runs(experiment, [NewRun(name=f"new{i}", start_time=5000 + i)])
            if i % 3 != 2:
                store.log_metrics([(run.info.run_id, "acc", float(i % 3 == 0), 0, 0)])
            inserted.append(run.info.run_id)
            i += 1

    writer = threading.Thread(target=insert)
    writer.start()
    try:
        for order in (["metrics.acc DESC"], ["metrics.acc ASC"], None):
            seen: list[str] = []
            token = None
            while True:
                page = store.search_runs(
                    [experiment], None, order, max_results=17, page_token=token
                )
                seen += [r.info.run_id for r in page]
                token = page.next_page_token
                if token is None:
                    break
            assert len(seen) == len(set(seen)), order  # nothing twice
            assert existing <= set(seen), order  # nothing that existed skipped
    finally:
        stop.set()
        writer.join()
        store.close()
    assert inserted  # the writer did insert while the pages were read


def test_page_tokens_refuse_values_of_another_search(store: SqlStore) -> None:
    a, _ = _populate(store)
    page = store.search_runs([a], None, ["metrics.acc DESC"], max_results=5)
    assert page.next_page_token
    with pytest.raises(InvalidInputError, match="page token"):  # made for a 3-key order
        store.search_runs(
            [a], None, ["metrics.acc DESC", "params.depth"], page_token=page.next_page_token
        )
    forged = base64.urlsafe_b64encode(json.dumps({"offset": 5, "after": [True, 1, "x"]}).encode())
    with pytest.raises(InvalidInputError, match="page token"):
        store.search_runs([a], None, ["metrics.acc DESC"], page_token=forged.decode())


def test_offset_only_tokens_of_earlier_releases_still_page(store: SqlStore) -> None:
    a, b = _populate(store)
    for order in (["metrics.acc DESC"], None):
        expected = _reference(store, [a, b], None, order or [], "active")
        for offset in (0, 10, 41, 52, 80):
            page = store.search_runs(
                [a, b], None, order, max_results=9, page_token=encode_page_token(offset)
            )
            assert [r.info.run_id for r in page] == expected[offset : offset + 9]


def _plan(store: SqlStore, order: list[str]) -> str:
    plan = build_search(
        ("1",),
        parse_filter("metrics.acc > 0.5 and params.lr = '0.01'"),
        tuple(parse_order_by(order)),
        "active",
    )
    query = page_queries(plan, None)[0]
    compiled = query.compile(dialect=store.engine.dialect)
    args = compiled.construct_params({"now_ms": 0, "page_limit": 101, "page_offset": 0})
    raw = store.engine.raw_connection()
    try:
        values = tuple(args[name] for name in compiled.positiontup or ())
        rows = raw.cursor().execute("EXPLAIN QUERY PLAN " + compiled.string, values).fetchall()
    finally:
        raw.close()
    return "\n".join(str(row[-1]) for row in rows)


def test_sqlite_plans_walk_indexes_in_sort_order(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path}/p.db")
    try:
        ordered = _plan(store, ["metrics.acc DESC"])
        assert "USING COVERING INDEX ix_latest_metrics_key_value" in ordered
        assert "TEMP B-TREE FOR ORDER BY" not in ordered  # only ties are sorted
        unordered = _plan(store, [])
        assert "USING INDEX ix_runs_experiment_id_stage_start" in unordered
        assert "TEMP B-TREE FOR ORDER BY" not in unordered
    finally:
        store.close()


def test_a_page_of_more_runs_than_one_read_carries_each_runs_own_data(store: SqlStore) -> None:
    """A page's params, metrics and tags are read 300 runs per statement: every run of a page
    of 700 comes with exactly what was logged to it (NaN, infinities and runs with nothing
    logged included), and the garbage collector is left as it was found."""
    experiment = store.create_experiment("many").experiment_id
    params = [{"lr": str(i % 7), "i": str(i)} if i % 5 else {} for i in range(700)]
    tags = [{"team": "ab"[i % 2]} if i % 3 else {} for i in range(700)]
    made = store.create_runs(
        experiment,
        [
            NewRun(name=f"r{i}", start_time=1000 + i, params=params[i], tags=tags[i])
            for i in range(700)
        ],
    )
    special = [math.nan, math.inf, -math.inf]
    metrics: list[dict[str, float]] = [{} for _ in range(700)]
    for i in range(700):
        if i % 4:
            metrics[i]["acc"] = special[i % 3] if i % 50 == 0 else i / 700
        if i % 2:
            metrics[i]["loss"] = float(i)
    store.log_metrics(
        [(made[i].info.run_id, k, v, 0, 0) for i in range(700) for k, v in metrics[i].items()]
    )
    gc_was = gc.isenabled()
    try:
        for collecting in (True, False):
            if collecting:
                gc.enable()
            else:
                gc.disable()
            page = store.search_runs([experiment], None, max_results=1000)
            assert gc.isenabled() is collecting
            assert [r.info.name for r in page] == [f"r{i}" for i in reversed(range(700))]
            for found in page:
                i = int(found.info.name[1:])
                assert found.info.run_id == made[i].info.run_id
                assert found.data.params == params[i]
                assert found.data.tags == tags[i]
                assert json.dumps(found.data.metrics, sort_keys=True) == json.dumps(
                    metrics[i], sort_keys=True
                )
    finally:
        if gc_was:
            gc.enable()


def test_concurrent_searches_leave_garbage_collection_as_they_found_it(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path}/gc.db")
    exp = store.create_experiment("gc").experiment_id
    for i in range(50):
        store.create_run(exp, name=f"r{i}", start_time=i)
    assert gc.isenabled()
    errors: list[BaseException] = []

    def search() -> None:
        try:
            for _ in range(30):
                assert len(store.search_runs([exp], None, None, max_results=50)) == 50
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=search) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert gc.isenabled()  # no interleaving of the pauses left collection switched off
