"""The read endpoints the web UI uses, through a real ``mlcore server``: sampled histories as
plain JSON (NaN and infinities included), experiment summaries and run columns, their errors,
and the read scope they need."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator

import httpx
import pytest

from mlcore.server import Server
from mlcore.stores.http import HttpStore

READ_TOKEN = "r" * 24
WRITE_TOKEN = "w" * 24
N = 200_000


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, HttpStore, str]]:
    home = tmp_path_factory.mktemp("ui")
    srv = Server.tracking(
        store=f"sqlite:///{home}/m.db",
        artifacts=str(home / "art"),
        tokens={WRITE_TOKEN: "write", READ_TOKEN: "read"},
    )
    url = srv.start()
    env = pytest.MonkeyPatch()
    env.setenv("MLCORE_TRACKING_TOKEN", WRITE_TOKEN)
    store = HttpStore(url)
    experiment_id = store.create_experiment("ui").experiment_id
    run_id = store.create_run(
        experiment_id, name="r", start_time=5, params={"lr": "0.1"}
    ).info.run_id
    points = [(run_id, "loss", 1.0 + (s % 3), 1000 + s, s) for s in range(N)]
    points[123_456] = (run_id, "loss", 777.0, 1000 + 123_456, 123_456)
    store.log_metrics(points)
    store.log_metrics(
        [
            (run_id, "odd", math.nan, 1, 0),
            (run_id, "odd", math.inf, 2, 1),
            (run_id, "odd", -math.inf, 3, 2),
            (run_id, "odd", 0.5, 4, 3),
        ]
    )
    yield url, store, run_id
    store.close()
    srv.stop()
    env.undo()


def read(url: str, path: str, body: object) -> httpx.Response:
    return httpx.post(url + path, json=body, headers={"Authorization": f"Bearer {READ_TOKEN}"})


def test_sampled_histories_over_http_keep_the_spike(served: tuple[str, HttpStore, str]) -> None:
    url, store, run_id = served
    answer = read(
        url,
        "/api/v1/sampled-histories",
        {"run_ids": [run_id], "keys": ["loss", "none"], "max_points": 2000},
    )
    assert answer.status_code == 200
    loss, none = answer.json()
    assert loss["run_id"] == run_id
    assert loss["total_points"] == N
    assert loss["sampled"] is True
    assert len(loss["steps"]) == len(loss["values"]) == len(loss["timestamps"]) <= 2000
    assert loss["values"][loss["steps"].index(123_456)] == 777.0
    assert none == {
        "run_id": run_id,
        "key": "none",
        "steps": [],
        "values": [],
        "timestamps": [],
        "total_points": 0,
        "sampled": False,
    }
    zoom = read(
        url,
        "/api/v1/sampled-histories",
        {
            "run_ids": [run_id],
            "keys": ["loss"],
            "max_points": 2000,
            "min_step": 123_000,
            "max_step": 124_000,
        },
    ).json()[0]
    assert zoom["steps"] == list(range(123_000, 124_001))  # at full resolution
    assert zoom["sampled"] is False
    # the Python client gets the same through the Arrow endpoint
    table = store.metric_history(run_id, "loss", max_points=2000)
    assert table.column("step").to_pylist() == loss["steps"]
    assert table.column("value").to_pylist() == loss["values"]


def test_nan_and_infinities_are_standard_json(served: tuple[str, HttpStore, str]) -> None:
    url, store, run_id = served
    answer = read(url, "/api/v1/sampled-histories", {"run_ids": [run_id], "keys": ["odd"]})
    assert answer.status_code == 200
    assert b"NaN" not in answer.content
    series = json.loads(answer.content, parse_constant=lambda c: pytest.fail(f"JSON has {c}"))
    assert series[0]["values"] == [None, "Infinity", "-Infinity", 0.5]
    (through_client,) = store.sampled_histories([run_id], ["odd"])
    assert math.isnan(through_client.values[0])
    assert through_client.values[1:] == [math.inf, -math.inf, 0.5]


def test_bad_requests_are_typed_errors(served: tuple[str, HttpStore, str]) -> None:
    url, _, run_id = served
    unknown = read(url, "/api/v1/sampled-histories", {"run_ids": ["f" * 32], "keys": ["loss"]})
    assert unknown.status_code == 404
    assert unknown.json()["error_code"] == "NOT_FOUND"
    for body in (
        {"run_ids": [run_id], "keys": ["loss"], "max_points": 0},
        {"run_ids": [run_id], "keys": ["loss"], "max_points": 10_001},
        {"run_ids": [run_id], "keys": ["loss"], "min_step": 5, "max_step": 1},
        {"run_ids": [run_id], "keys": [f"k{i}" for i in range(1001)]},
    ):
        bad = read(url, "/api/v1/sampled-histories", body)
        assert bad.status_code == 400, body
        assert bad.json()["error_code"] == "INVALID_INPUT"
    bad_history = read(
        url, "/api/v1/metric-history", {"run_id": run_id, "key": "loss", "max_points": -1}
    )
    assert bad_history.status_code == 400


def test_summaries_and_columns_with_a_read_token(served: tuple[str, HttpStore, str]) -> None:
    url, store, _run_id = served
    summaries = read(url, "/api/v1/experiment-summaries", {})
    assert summaries.status_code == 200
    (ui,) = [s for s in summaries.json() if s["name"] == "ui"]
    assert ui["run_count"] == 1
    assert ui["last_activity"] >= 5
    assert ui["lifecycle_stage"] == "active"
    columns = read(url, "/api/v1/run-columns", {"experiment_ids": [ui["experiment_id"]]})
    assert columns.status_code == 200
    assert columns.json()["params"] == ["lr"]
    assert columns.json()["metrics"] == ["loss", "odd"]
    assert store.run_columns([ui["experiment_id"]]).metrics == ["loss", "odd"]
    no_token = httpx.post(url + "/api/v1/run-columns", json={"experiment_ids": ["1"]})
    assert no_token.status_code == 401


def test_answers_match_the_published_spec(served: tuple[str, HttpStore, str]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    url, _, run_id = served
    spec = httpx.get(
        url + "/openapi.json", headers={"Authorization": f"Bearer {READ_TOKEN}"}
    ).json()
    for path, body in (
        (
            "/api/v1/sampled-histories",
            {"run_ids": [run_id], "keys": ["odd", "loss"], "max_points": 50},
        ),
        ("/api/v1/experiment-summaries", {"include_deleted": True}),
        ("/api/v1/run-columns", {"experiment_ids": ["1", "2"]}),
    ):
        declared = spec["paths"][path]["post"]["responses"]["200"]["content"]["application/json"]
        schema = {**declared["schema"], "components": spec["components"]}
        answer = read(url, path, body)
        assert answer.status_code == 200
        jsonschema.Draft202012Validator(schema).validate(answer.json())
    assert "Infinity" in json.dumps(spec["components"]["schemas"]["SampledSeries"])
