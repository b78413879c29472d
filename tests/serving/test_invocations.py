"""POST /invocations: MLflow's payload formats, CSV, and what bad input gets."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from tests.serving.conftest import FEATURES, client_for, predicted


@pytest.fixture(scope="module")
def forest(store: dict[str, Any]) -> Any:
    with client_for("models:/forest@champion", store) as client:
        yield client


def test_every_mlflow_format_gives_the_native_predictions(
    forest: Any, store: dict[str, Any]
) -> None:
    frame = store["frame"].iloc[:7]
    expected = predicted(store, "forest", frame)
    payloads = [
        {"dataframe_split": {"columns": FEATURES, "data": frame.to_numpy().tolist()}},
        {"dataframe_split": json.loads(frame.to_json(orient="split"))},  # with an index
        {"dataframe_records": frame.to_dict(orient="records")},
        {"instances": frame.to_numpy().tolist()},
        {"instances": frame.to_dict(orient="records")},
        {"inputs": {name: frame[name].tolist() for name in FEATURES}},
        {"inputs": frame.to_numpy().tolist()},
    ]
    for payload in payloads:
        response = forest.post("/invocations", json=payload)
        assert response.status_code == 200, (payload.keys(), response.text)
        assert response.json() == {"predictions": expected}


def test_columns_in_another_order_are_matched_by_name(forest: Any, store: dict[str, Any]) -> None:
    frame = store["frame"].iloc[:4]
    shuffled = list(reversed(FEATURES))
    body = {"dataframe_split": {"columns": shuffled, "data": frame[shuffled].to_numpy().tolist()}}
    assert forest.post("/invocations", json=body).json()["predictions"] == predicted(
        store, "forest", frame
    )


def test_csv_with_a_header(forest: Any, store: dict[str, Any]) -> None:
    frame = store["frame"].iloc[:5]
    response = forest.post(
        "/invocations",
        content=frame.to_csv(index=False),
        headers={"content-type": "text/csv; charset=utf-8"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["predictions"] == predicted(store, "forest", frame)


def test_integers_are_accepted_for_float_columns(forest: Any, store: dict[str, Any]) -> None:
    row = [[1, 0, -1, 2, 0, 1]]
    response = forest.post(
        "/invocations", json={"dataframe_split": {"columns": FEATURES, "data": row}}
    )
    assert response.status_code == 200
    frame = store["frame"].iloc[:0].reindex(range(1))
    frame.loc[0] = np.asarray(row[0], dtype=float)
    assert response.json()["predictions"] == predicted(store, "forest", frame)


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"[1, 2]", 400, "JSON object"),
        (b'{"rows": [[1]]}', 400, "unknown field(s) 'rows'"),
        (b"{}", 400, "exactly one of"),
        (
            b'{"inputs": [[1,2,3,4,5,6]], "instances": [[1,2,3,4,5,6]]}',
            400,
            "got instances, inputs",
        ),
        (b'{"dataframe_split": {"columns": ["f0"], "data": [[1.0]]}}', 400, "missing column(s)"),
        (
            b'{"dataframe_split": {"columns": ["f0","f1","f2","f3","f4","f5","zz"],'
            b' "data": [[1,2,3,4,5,6,7]]}}',
            400,
            "unexpected column(s) 'zz'",
        ),
        (
            b'{"dataframe_split": {"columns": ["f0","f1","f2","f3","f4","f5"],'
            b' "data": [["a",2,3,4,5,6]]}}',
            400,
            "column 'f0'",
        ),
        (b'{"dataframe_split": {"columns": ["f0","f1"], "data": [[1]]}}', 400, "row 0"),
        (
            b'{"dataframe_split": {"columns": ["f0","f1","f2","f3","f4","f5"], "data": []}}',
            400,
            "empty",
        ),
        (b'{"dataframe_records": [1, 2]}', 400, "list of {column: value}"),
        (b'{"instances": [[1, 2]]}', 400, "does not fit the model's 6 columns"),
        (b'{"inputs": [[1,2,3,4,5,6]], "params": {"temperature": 1}}', 400, "no inference params"),
    ],
)
def test_bad_payloads_get_a_400_that_says_what_is_wrong(
    forest: Any, body: bytes, status: int, says: str
) -> None:
    response = forest.post(
        "/invocations", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == status, response.text
    error = response.json()
    assert says in error["message"], error
    assert error["error_code"] == "INVALID_INPUT"
    assert "Traceback" not in response.text


def test_an_unsupported_content_type_is_a_415(forest: Any) -> None:
    response = forest.post("/invocations", content=b"x", headers={"content-type": "image/png"})
    assert response.status_code == 415
    assert "text/csv" in response.json()["message"]


def test_malformed_csv_is_a_400(forest: Any) -> None:
    body = "f0,f1,f2,f3,f4,f5\n1,2,3\n"
    response = forest.post("/invocations", content=body, headers={"content-type": "text/csv"})
    assert response.status_code == 400
    assert "CSV line 2 has 3 fields" in response.json()["message"]


def test_an_oversized_body_is_a_413_and_the_server_keeps_serving(store: dict[str, Any]) -> None:
    with client_for("models:/forest/1", store, max_body_mb=1) as client:
        big = {"instances": [[0.5] * 6] * 100_000}
        response = client.post("/invocations", json=big)
        assert response.status_code == 413
        assert response.json()["error_code"] == "TOO_LARGE"
        ok = client.post("/invocations", json={"instances": [[0.5] * 6]})
        assert ok.status_code == 200


def test_health_ping_and_version(forest: Any) -> None:
    assert forest.get("/ping").status_code == 200
    assert forest.get("/health").json()["status"] == "ok"
    version = forest.get("/version").json()
    assert version["model"]["name"] == "forest"
    assert version["model"]["version"] == "1"
    assert version["model"]["flavor"] == "sklearn"
    assert forest.get("/nowhere").status_code == 404
    assert forest.get("/invocations").status_code == 405


def test_an_unknown_model_fails_at_startup(store: dict[str, Any]) -> None:
    from mlcore.errors import NotFoundError

    with pytest.raises(NotFoundError):
        client_for("models:/nosuch/1", store)
