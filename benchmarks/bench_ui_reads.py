"""The reads the web UI makes, on SQLite: a downsampled million-point history, experiment
summaries over 100,000 runs and the run columns of 10,000 runs.

- **history**: ``metric_history`` of 1,000,000 points (one spike) in full vs
  ``max_points=2000`` (M4) vs a zoomed 10% range at 2,000 points, in the store and through
  ``mlcore server`` (Arrow full read vs the UI's JSON ``sampled-histories``); the spike is
  checked in every sampled answer;
- **experiment summaries**: ``experiment_summaries()`` with 100,000 runs in the store (10
  experiments), one GROUP BY query;
- **run columns**: ``run_columns([experiment])`` over 10,000 runs with 20 params and 10
  metrics each (distinct keys);
- **runs table**: the UI's ``search-runs`` of the first 100 rows through ``mlcore server``
  (HTTP, JSON), ordered by start time and by a metric, in experiments of 10,000 and 100,000
  such runs: median and p95.

Medians of several calls; "peer" is the full read the sample replaces where there is one.
``--quick``: 100,000 points, 10,000 and 1,000 runs (runs table: 1,000 and 10,000).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from typing import Any

from _common import fmt_seconds, median_time, report, scratch_dir
from populate import populate_mlcore_bulk

SPIKE_AT = 0.654321


def history_rows(n: int, repeats: int) -> list[tuple[str, str, str, str]]:
    import httpx

    from mlcore.server import Server
    from mlcore.stores.sql import SqlStore

    path = os.path.abspath("history.db")
    store = SqlStore(f"sqlite:///{path}")
    experiment_id = store.create_experiment("h").experiment_id
    run_id = store.create_run(experiment_id, name="r", start_time=0).info.run_id
    spike = int(n * SPIKE_AT)
    for start in range(0, n, 100_000):
        store.log_metrics(
            [
                (run_id, "loss", 100.0 if s == spike else math.sin(s / 1000.0), s, s)
                for s in range(start, min(n, start + 100_000))
            ]
        )
    store.end_run(run_id, end_time=1)

    def check(table: object) -> None:
        values = table.column("value").to_pylist()  # type: ignore[attr-defined]
        assert 0 < len(values) <= 2000, len(values)
        assert max(values) == 100.0

    full, _ = median_time(lambda: store.metric_history(run_id, "loss"), repeats)
    assert store.metric_history(run_id, "loss").num_rows == n
    check(store.metric_history(run_id, "loss", max_points=2000))
    sampled, _ = median_time(lambda: store.metric_history(run_id, "loss", max_points=2000), repeats)
    low, high = spike - n // 20, spike + n // 20
    check(store.metric_history(run_id, "loss", max_points=2000, min_step=low, max_step=high))
    zoom, _ = median_time(
        lambda: store.metric_history(run_id, "loss", max_points=2000, min_step=low, max_step=high),
        repeats,
    )
    store.close()

    server = Server.tracking(store=f"sqlite:///{path}", artifacts=os.path.abspath("art"))
    url = server.start()
    try:
        from mlcore.stores.http import HttpStore

        remote = HttpStore(url)
        body = {"run_ids": [run_id], "keys": ["loss"], "max_points": 2000}
        client = httpx.Client(timeout=60)  # one connection, as a browser keeps one

        def ui_call() -> list[dict[str, object]]:
            answer = client.post(url + "/api/v1/sampled-histories", json=body)
            answer.raise_for_status()
            return json.loads(answer.content)  # type: ignore[no-any-return]

        (series,) = ui_call()
        assert 100.0 in series["values"]
        assert series["total_points"] == n
        http_full, _ = median_time(lambda: remote.metric_history(run_id, "loss"), repeats)
        http_json, _ = median_time(ui_call, repeats)
        check(remote.metric_history(run_id, "loss", max_points=2000))
        client.close()
    finally:
        server.stop()
    label = f"{n:,} points"
    return [
        (f"store: {label} -> 2,000 (M4) vs full", fmt_seconds(sampled), fmt_seconds(full),
         f"{sampled / full:.2f}x"),
        ("store: 10% zoom -> 2,000 vs full", fmt_seconds(zoom), fmt_seconds(full),
         f"{zoom / full:.2f}x"),
        ("server: sampled-histories JSON vs full Arrow", fmt_seconds(http_json),
         fmt_seconds(http_full), f"{http_json / http_full:.2f}x"),
    ]  # fmt: skip


def wide_specs(n: int) -> list[dict[str, dict[str, object]]]:
    """Runs of 20 params, 10 metrics (values spread, so an order by one is a real sort), 2 tags."""
    return [
        {
            "params": {f"p{j}": str(i % 7 + j) for j in range(20)},
            "metrics": {f"m{j}": float((i * 7919 + j * 31) % 10007) / 7.0 for j in range(10)},
            "tags": {"team": "a", "stage": "dev"},
        }
        for i in range(n)
    ]


def runs_table_rows(sizes: tuple[int, int], repeats: int) -> list[tuple[str, str, str, str]]:
    """search-runs, first 100 rows, through the server: (median, p95) per size and order."""
    import httpx

    from mlcore.server import Server

    path = os.path.abspath("table.db")
    ids = {n: populate_mlcore_bulk(f"sqlite:///{path}", wide_specs(n), name=f"t{n}") for n in sizes}
    server = Server.tracking(store=f"sqlite:///{path}", artifacts=os.path.abspath("art"))
    url = server.start()
    client = httpx.Client(timeout=60)
    rows = []
    try:
        for n in sizes:
            for label, order in (("start time", "attributes.start_time DESC"),
                                 ("a metric", "metrics.m3 DESC")):  # fmt: skip
                body = {"experiment_ids": [ids[n]], "order_by": [order], "max_results": 100}

                def call(body: dict[str, object] = body) -> Any:
                    answer = client.post(url + "/api/v1/search-runs", json=body)
                    answer.raise_for_status()
                    return json.loads(answer.content)

                page = call()["items"]
                assert len(page) == 100
                assert len(page[0]["data"]["params"]) == 20
                if order.startswith("metrics"):
                    got = [r["data"]["metrics"]["m3"] for r in page]
                    assert got == sorted(got, reverse=True)
                took, samples = median_time(call, max(repeats, 20))
                p95 = sorted(samples)[int(0.95 * (len(samples) - 1))]
                rows.append((f"search-runs over HTTP, {n:,} runs, first 100 by {label} (p50; p95)",
                             f"{fmt_seconds(took)}; {fmt_seconds(p95)}", "-", "-"))  # fmt: skip
    finally:
        client.close()
        server.stop()
    return rows


def summary_rows(runs: int, column_runs: int, repeats: int) -> list[tuple[str, str, str, str]]:
    from mlcore.stores.sql import SqlStore

    url = f"sqlite:///{os.path.abspath('runs.db')}"
    tiny = [{"params": {"lr": "0.1"}, "metrics": {"acc": 0.5}, "tags": {"t": "x"}}]
    for i in range(10):  # 10 experiments of runs / 10 runs each
        populate_mlcore_bulk(url, tiny * (runs // 10), name=f"exp-{i}")
    wide_url = f"sqlite:///{os.path.abspath('wide.db')}"
    wide_id = populate_mlcore_bulk(wide_url, wide_specs(column_runs))
    store = SqlStore(url)
    summaries = store.experiment_summaries()
    assert sum(s.run_count for s in summaries) == runs, [s.run_count for s in summaries]
    took, _ = median_time(store.experiment_summaries, repeats)
    store.close()
    wide_store = SqlStore(wide_url)
    columns = wide_store.run_columns([wide_id])
    assert len(columns.params) == 20, columns
    assert len(columns.metrics) == 10, columns
    cols, _ = median_time(lambda: wide_store.run_columns([wide_id]), repeats)
    wide_store.close()
    return [
        (f"experiment_summaries, {runs:,} runs in 10 experiments", fmt_seconds(took), "-", "-"),
        (f"run_columns, {column_runs:,} runs x 20 params x 10 metrics", fmt_seconds(cols), "-",
         "-"),
    ]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    points, runs, column_runs = (
        (100_000, 10_000, 1_000) if args.quick else (1_000_000, 100_000, 10_000)
    )
    table_sizes = (1_000, 10_000) if args.quick else (10_000, 100_000)
    repeats = 3 if args.quick else args.repeats
    with scratch_dir():
        history = history_rows(points, repeats)
        summaries = summary_rows(runs, column_runs, repeats)
        table = runs_table_rows(table_sizes, repeats)
    report("Downsampled history (median; peer = the full read)", history)
    report("UI summaries (median)", summaries)
    report("Runs table through the server", table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
