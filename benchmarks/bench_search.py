"""Searching runs: mlcore vs MLflow, SQLite, same data; and a scaling mode.

Default: 10,000 runs with a three-clause filter, mlcore vs MLflow (bar, issue Foundation:
>= 10x faster than MLflow).

``--scaling``: 1k/10k/100k/1M runs (``--sizes``) for mlcore on SQLite (and PostgreSQL with
``--postgres URL``), MLflow side by side up to ``--mlflow-max`` runs. Per size: top 100 by a
metric with a 2-clause filter, the same filter unordered (newest 100), and ``runs_table`` of a
3-clause filter; each with its median wall and CPU time, the CPU time of the statements of its
first page alone through the bare driver (its floor), and the ``EXPLAIN`` of the timed query.
Every result is checked against the data. mlcore stores are filled by direct executemany
(``populate_mlcore_bulk``) and SQLite files are kept between runs in
``$TMPDIR/mlcore-bench-search``. ``--quick``: 1k and 3k runs (MLflow at 1k), a few seconds,
what CI runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

from _common import fmt_seconds, have, median_time, quiet_peers, report, scratch_dir
from populate import populate_mlcore, populate_mlcore_bulk, populate_mlflow, run_specs

FILTER = "metrics.acc > 0.5 and params.lr = '0.01' and tags.team = 'a'"
TWO = "metrics.acc > 0.5 and params.lr = '0.01'"
CACHE = os.path.join(tempfile.gettempdir(), "mlcore-bench-search")
CACHE_VERSION = 1  # bump when populate_mlcore_bulk or run_specs change


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--bare", action="store_true", help="runs without the system tags each client adds"
    )
    parser.add_argument("--scaling", action="store_true", help="1k..1M runs, see the docstring")
    parser.add_argument("--quick", action="store_true", help="scaling at 1k and 3k runs (CI)")
    parser.add_argument("--sizes", default="1000,10000,100000,1000000")
    parser.add_argument("--mlflow-max", type=int, default=10_000)
    parser.add_argument("--postgres", help="also PostgreSQL: a server URL (databases made)")
    parser.add_argument("--no-mlflow", action="store_true")
    args = parser.parse_args()
    if args.scaling or args.quick:
        sizes = [1000, 3000] if args.quick else [int(s) for s in args.sizes.split(",")]
        if args.quick:
            args.mlflow_max = min(args.mlflow_max, 1000)
        scaling(sizes, args.repeats if not args.quick else 3, args)
        return
    side_by_side(args)


# -- the 10,000-run comparison ---------------------------------------------------------------
def side_by_side(args: argparse.Namespace) -> None:
    quiet_peers()
    import mlflow

    specs = run_specs(args.runs)
    expected = sum(
        1
        for s in specs
        if s["metrics"]["acc"] > 0.5 and s["params"]["lr"] == "0.01" and s["tags"]["team"] == "a"
    )
    with scratch_dir() as home:
        tracker = populate_mlcore(os.path.join(home, "store"), specs, not args.bare)
        experiment_id = populate_mlflow(f"sqlite:///{home}/mlflow.db", specs, not args.bare)
        client = mlflow.MlflowClient()

        def ours() -> None:
            assert len(tracker.search_runs("search-bench", FILTER, max_results=1000)) == expected

        def peer() -> None:
            assert len(client.search_runs([experiment_id], FILTER, max_results=1000)) == expected

        def ours_top() -> None:
            tracker.search_runs("search-bench", TWO, ["metrics.acc DESC"], max_results=100)

        def peer_top() -> None:
            client.search_runs([experiment_id], TWO, order_by=["metrics.acc DESC"], max_results=100)

        def ours_table() -> None:
            assert tracker.runs_table("search-bench", FILTER).num_rows == expected

        def peer_frame() -> None:
            assert len(mlflow.search_runs([experiment_id], FILTER)) == expected

        rows = []
        for what, a, b in (
            (f"3-clause filter -> {expected} runs", ours, peer),
            ("2-clause filter, top 100 by metric", ours_top, peer_top),
            ("3-clause filter as a table (pyarrow vs pandas)", ours_table, peer_frame),
        ):
            a()
            b()  # warm caches on both sides
            t_ours, _ = median_time(a, args.repeats)
            t_peer, _ = median_time(b, args.repeats)
            rows.append(
                (what, fmt_seconds(t_ours), fmt_seconds(t_peer), f"{t_peer / t_ours:.1f}x faster")
            )
        tracker.close()
    kind = "bare runs" if args.bare else "runs with each client's system tags"
    report(f"search_runs over {args.runs:,} {kind}, SQLite (median of {args.repeats})", rows)


# -- scaling ------------------------------------------------------------------------------------
class Expected:
    """What each timed search must return, computed from the specs."""

    def __init__(self, specs: list[dict[str, Any]]) -> None:
        two = [
            (s["metrics"]["acc"], i)
            for i, s in enumerate(specs)
            if s["metrics"]["acc"] > 0.5 and s["params"]["lr"] == "0.01"
        ]
        # top 100 by acc (ties: newest first, as both stores order them)
        self.top = [acc for acc, _ in sorted(two, key=lambda t: (-t[0], -t[1]))[:100]]
        self.newest = sorted((i for _, i in two), reverse=True)[:100]
        self.three = sum(1 for _, i in two if specs[i]["tags"]["team"] == "a")


def _sqlite_store(n: int, specs: list[dict[str, Any]]) -> str:
    os.makedirs(CACHE, exist_ok=True)
    path = os.path.join(CACHE, f"runs-{n}-v{CACHE_VERSION}.db")
    done = path + ".done"
    if not (os.path.exists(done) and os.path.exists(path)):
        for stale in (path, path + "-wal", path + "-shm"):
            if os.path.exists(stale):
                os.remove(stale)
        start = time.perf_counter()
        populate_mlcore_bulk(f"sqlite:///{path}", specs)
        print(f"  populated {n:,} runs into SQLite in {time.perf_counter() - start:.1f} s")
        open(done, "w").close()
    return f"sqlite:///{path}"


def _postgres_store(server: str, n: int, specs: list[dict[str, Any]]) -> str:
    import sqlalchemy as sa

    name = f"mlcore_bench_search_{n}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    admin.dispose()
    url = server.rsplit("/", 1)[0] + f"/{name}"
    start = time.perf_counter()
    populate_mlcore_bulk(url, specs)
    print(f"  populated {n:,} runs into PostgreSQL in {time.perf_counter() - start:.1f} s")
    return url


def _explain_and_floor(store: Any, order: list[str], repeats: int) -> tuple[str, float]:
    """The plan of the first query a search runs, and the median CPU time of the statements
    of its first page through the bare driver (the query, then the params, metrics and tags
    of the page's runs; no mlcore, no SQLAlchemy): the floor for that search."""
    from mlcore.filters import parse_filter, parse_order_by
    from mlcore.stores.sql.rows import page_data_sql
    from mlcore.stores.sql.run_search import build_search, page_queries

    plan = build_search(("1",), parse_filter(TWO), tuple(parse_order_by(order or None)), "active")
    dialect = store.engine.dialect
    compiled = page_queries(plan, None)[0].compile(dialect=dialect)
    values = compiled.construct_params(
        {"now_ms": int(time.time() * 1000), "page_limit": 101, "page_offset": 0}
    )
    args: Any = (
        tuple(values[name] for name in compiled.positiontup)
        if compiled.positiontup is not None
        else values
    )
    sqlite = dialect.name == "sqlite"
    raw = store.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(("EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ") + compiled.string, args)
        lines = [str(row[-1] if sqlite else row[0]) for row in cursor.fetchall()]

        def run() -> None:
            cursor.execute(compiled.string, args)
            keys = tuple(row[0] for row in cursor.fetchall()[:100])
            cursor.execute(page_data_sql(dialect, len(keys)), keys * 3)
            cursor.fetchall()

        run()
        floor, _ = _median_wall_cpu(run, repeats)
    finally:
        raw.close()
    return "\n".join("    " + line for line in lines), floor


def _median_wall_cpu(fn: Callable[[], Any], repeats: int) -> tuple[float, float]:
    """Median CPU time of ``fn`` (what the shared machine's load distorts least), then wall."""
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
    return statistics.median(cpus), statistics.median(walls)


def _check_top(found: list[Any], expected: Expected) -> None:
    assert [r.data.metrics["acc"] for r in found] == expected.top


def _check_newest(found: list[Any], expected: Expected) -> None:
    assert [int(r.info.name.split("-")[1]) for r in found] == expected.newest


def _measure(
    label: str, url: str, specs: list[dict[str, Any]], expected: Expected, repeats: int
) -> list[tuple[str, float, float, float | None, str]]:
    """(what, median wall, median CPU, CPU of its SQL alone or None, EXPLAIN) per timed
    search of one store."""
    import mlcore

    tracker = mlcore.Tracker(url)
    cases: list[tuple[str, Callable[[], None], list[str] | None]] = [
        (
            "top 100 by metric, 2-clause filter",
            lambda: _check_top(
                tracker.search_runs("search-bench", TWO, ["metrics.acc DESC"], max_results=100),
                expected,
            ),
            ["metrics.acc DESC"],
        ),
        (
            "newest 100, 2-clause filter",
            lambda: _check_newest(
                tracker.search_runs("search-bench", TWO, max_results=100), expected
            ),
            [],
        ),
        (
            f"runs_table, 3-clause filter -> {expected.three:,} rows",
            lambda: _assert_rows(tracker.runs_table("search-bench", FILTER), expected.three),
            None,
        ),
    ]
    out = []
    for what, fn, order in cases:
        fn()  # warm, and checked
        reps = repeats if what.startswith(("top", "newest")) else max(1, repeats // 2)
        cpu, wall = _median_wall_cpu(fn, reps)
        if order is not None:
            plan, floor = _explain_and_floor(tracker.store, order, repeats)
        else:
            plan, floor = "", None
        out.append((what, wall, cpu, floor, plan))
    tracker.close()
    return out


def _assert_rows(table: Any, count: int) -> None:
    assert table.num_rows == count


def _mlflow_times(
    n: int, specs: list[dict[str, Any]], expected: Expected, repeats: int
) -> list[float]:
    import mlflow

    with scratch_dir() as home:
        experiment_id = populate_mlflow(f"sqlite:///{home}/mlflow.db", specs, False)
        client = mlflow.MlflowClient()

        def top() -> None:
            found = client.search_runs(
                [experiment_id], TWO, order_by=["metrics.acc DESC"], max_results=100
            )
            assert [r.data.metrics["acc"] for r in found] == expected.top

        def newest() -> None:
            found = client.search_runs([experiment_id], TWO, max_results=100)
            assert [int(r.info.run_name.split("-")[1]) for r in found] == expected.newest

        def table() -> None:
            assert len(mlflow.search_runs([experiment_id], FILTER)) == expected.three

        times = []
        for fn in (top, newest, table):
            fn()
            times.append(median_time(fn, repeats)[0])
        return times


def scaling(sizes: list[int], repeats: int, args: argparse.Namespace) -> None:
    with_mlflow = not args.no_mlflow and have("mlflow")
    if not with_mlflow:
        print("MLflow: skipped (not installed or --no-mlflow)")
    if with_mlflow:
        quiet_peers()
    load_before = os.getloadavg()
    backends = ["SQLite"] + (["PostgreSQL"] if args.postgres else [])
    results: dict[str, list[tuple[str, str, str, str]]] = {b: [] for b in backends}
    plans: list[str] = []
    for n in sizes:
        specs = run_specs(n)
        expected = Expected(specs)
        peer = (
            _mlflow_times(n, specs, expected, repeats)
            if with_mlflow and n <= args.mlflow_max
            else None
        )
        for backend in backends:
            url = (
                _sqlite_store(n, specs)
                if backend == "SQLite"
                else _postgres_store(args.postgres, n, specs)
            )
            measured = _measure(backend, url, specs, expected, repeats)
            for index, (what, median, cpu, floor, plan) in enumerate(measured):
                sql = f", SQL {fmt_seconds(floor)}, {cpu / floor:.1f}x" if floor else ""
                sql = f" (CPU {fmt_seconds(cpu)}{sql})"
                if peer is not None and backend == "SQLite":
                    peer_cell = fmt_seconds(peer[index])
                    ratio = f"{peer[index] / median:.1f}x faster"
                else:
                    peer_cell, ratio = "-", "-"
                results[backend].append(
                    (f"{n:>9,} runs: {what}", fmt_seconds(median) + sql, peer_cell, ratio)
                )
                if plan and n == sizes[-1]:
                    plans.append(f"  {backend}, {n:,} runs, {what}:\n{plan}")
    load_after = os.getloadavg()
    for backend in backends:
        report(
            f"search scaling, mlcore on {backend} vs MLflow on SQLite up to {args.mlflow_max:,} "
            f"runs (median of {repeats}; mlcore: whole call, wall then CPU, then the CPU of its "
            "SQL alone through the driver and the ratio of the two CPU times)",
            results[backend],
        )
    print("\nQuery plans of the timed searches (largest size):")
    print("\n".join(plans))
    print(
        f"\nload average: {load_before[0]:.1f} before, {load_after[0]:.1f} after "
        f"({os.cpu_count()} CPUs)"
    )


if __name__ == "__main__":
    main()
