"""The runs table's read endpoints on a real server: count-runs, group-runs, export-runs
(Parquet) and search-runs' offset."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest

import mlcore
from mlcore.server import Server


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str]]:
    store = f"sqlite:///{tmp_path}/v.db"
    tracker = mlcore.Tracker(store, artifact_uri=str(tmp_path / "a"))
    experiment = tracker.create_experiment("e").experiment_id
    for i in range(30):
        run = tracker.create_run(
            experiment_id=experiment, name=f"r{i:02d}", params={"opt": "adam" if i % 3 else "sgd"}
        )
        tracker.log_metric(run.info.run_id, "acc", i / 100)
        tracker.end_run(run.info.run_id)
    tracker.close()
    server = Server.tracking(store=store, artifacts=str(tmp_path / "a"))
    url = server.start(port=0)
    try:
        yield url, experiment
    finally:
        server.stop()


def _post(url: str, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{url}/api/v1/{path}", json=body)


def test_count_runs_counts_what_the_filter_matches(served: tuple[str, str]) -> None:
    url, experiment = served
    assert _post(url, "count-runs", {"experiment_ids": [experiment]}).json() == {"count": 30}
    body = {"experiment_ids": [experiment], "filter": "metrics.acc >= 0.2"}
    assert _post(url, "count-runs", body).json() == {"count": 10}
    bad = _post(url, "count-runs", {"experiment_ids": [experiment], "filter": "metrics.acc >>"})
    assert bad.status_code == 400
    assert bad.json()["field"] == "filter"
    assert "Traceback" not in bad.text


def test_search_runs_starts_at_an_offset(served: tuple[str, str]) -> None:
    url, experiment = served
    body = {"experiment_ids": [experiment], "order_by": "metrics.acc DESC", "max_results": 3}
    page = _post(url, "search-runs", {**body, "offset": 25}).json()
    assert [r["info"]["name"] for r in page["items"]] == ["r04", "r03", "r02"]
    follow = _post(url, "search-runs", {**body, "page_token": page["next_page_token"]}).json()
    assert [r["info"]["name"] for r in follow["items"]] == ["r01", "r00"]
    assert _post(url, "search-runs", {**body, "offset": -1}).status_code == 400


def test_group_runs_counts_and_aggregates_a_metric(served: tuple[str, str]) -> None:
    url, experiment = served
    body = {"experiment_ids": [experiment], "group_by": "params.opt", "metric": "acc"}
    answer = _post(url, "group-runs", body).json()
    assert answer["total"] == 30
    sgd = next(g for g in answer["groups"] if g["value"] == "sgd")
    assert (sgd["count"], sgd["min"], sgd["max"]) == (10, 0.0, 0.27)
    assert sgd["mean"] == pytest.approx(sum(i / 100 for i in range(0, 30, 3)) / 10)
    assert _post(url, "group-runs", {**body, "group_by": "metrics.acc"}).status_code == 400


def test_export_runs_answers_parquet_with_the_asked_columns(served: tuple[str, str]) -> None:
    url, experiment = served
    body = {
        "experiment_ids": [experiment],
        "filter": "params.opt = 'sgd'",
        "order_by": "metrics.acc ASC",
        "columns": ["attributes.run_name", "metrics.acc", "tags.missing"],
    }
    answer = _post(url, "export-runs", body)
    assert answer.headers["content-type"] == "application/vnd.apache.parquet"
    table = pq.read_table(io.BytesIO(answer.content))
    assert table.column_names == ["run_id", "run_name", "metrics.acc", "tags.missing"]
    assert table["run_name"].to_pylist()[:3] == ["r00", "r03", "r06"]
    assert table["tags.missing"].null_count == 10
    bad = _post(url, "export-runs", {**body, "columns": ["nope.x"]})
    assert bad.status_code == 400
