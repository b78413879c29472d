"""KServe's Open Inference Protocol v2: health, metadata, infer, datatypes and shapes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests.serving.conftest import FEATURES, client_for, predicted


@pytest.fixture(scope="module")
def logit(store: dict[str, Any]) -> Any:
    with client_for("models:/logit@champion", store) as client:
        yield client


def test_server_health_and_metadata(logit: Any) -> None:
    assert logit.get("/v2/health/live").json() == {"live": True}
    assert logit.get("/v2/health/ready").json() == {"ready": True}
    server = logit.get("/v2").json()
    assert server["name"] == "mlcore" and server["version"]


def test_model_metadata_lists_the_signature_as_tensors(logit: Any) -> None:
    for path in ("/v2/models/logit", "/v2/models/logit/versions/1"):
        meta = logit.get(path).json()
        assert meta["name"] == "logit"
        assert meta["versions"] == ["1"]
        assert meta["platform"] == "mlcore-sklearn"
        assert [i["name"] for i in meta["inputs"]] == FEATURES
        assert {i["datatype"] for i in meta["inputs"]} == {"FP64"}
        assert meta["outputs"][0]["datatype"] == "INT64"
    assert logit.get("/v2/models/logit/ready").json() == {"name": "logit", "ready": True}
    assert logit.get("/v2/models/logit/versions/1/ready").status_code == 200


def test_unknown_model_or_version_is_a_404(logit: Any) -> None:
    for path in ("/v2/models/other", "/v2/models/logit/versions/7/ready"):
        response = logit.get(path)
        assert response.status_code == 404
        assert "not served here" in response.json()["error"]
    response = logit.post("/v2/models/other/infer", json={"inputs": []})
    assert response.status_code == 404


def test_infer_with_one_2d_tensor(logit: Any, store: dict[str, Any]) -> None:
    frame = store["frame"].iloc[:3]
    request = {
        "id": "req-1",
        "inputs": [
            {
                "name": "input-0",
                "datatype": "FP32",
                "shape": [3, 6],
                "data": frame.to_numpy().ravel().tolist(),
            }
        ],
    }
    response = logit.post("/v2/models/logit/infer", json=request)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model_name"] == "logit" and body["model_version"] == "1" and body["id"] == "req-1"
    (output,) = body["outputs"]
    assert output["shape"] == [3] and output["datatype"] == "INT64"
    expected = store["models"]["logit"].predict(frame.astype(np.float32).astype(np.float64))
    assert output["data"] == expected.tolist()


def test_infer_with_one_tensor_per_column_and_nested_data(
    logit: Any, store: dict[str, Any]
) -> None:
    frame = store["frame"].iloc[:4]
    request = {
        "inputs": [
            {"name": name, "datatype": "FP64", "shape": [4, 1], "data": [[v] for v in frame[name]]}
            for name in FEATURES
        ],
        "outputs": [{"name": "predict"}],
    }
    response = logit.post("/v2/models/logit/versions/1/infer", json=request)
    assert response.status_code == 200, response.text
    assert response.json()["outputs"][0]["data"] == predicted(store, "logit", frame)


@pytest.mark.parametrize(
    ("inputs", "says"),
    [
        ([], "non-empty list"),
        (
            [{"name": "x", "datatype": "FP128", "shape": [1, 6], "data": [0] * 6}],
            "datatype 'FP128'",
        ),
        (
            [{"name": "x", "datatype": "FP32", "shape": [2, 6], "data": [0] * 6}],
            "holds 12 values, data has 6",
        ),
        (
            [{"name": "x", "datatype": "FP32", "shape": [1, -6], "data": [0] * 6}],
            "non-negative integers",
        ),
        (
            [{"name": "x", "datatype": "FP32", "shape": [1, 6], "data": ["a"] * 6}],
            "must be numbers",
        ),
        (
            [{"name": "x", "datatype": "INT32", "shape": [1, 6], "data": [0.5] * 6}],
            "must be integers",
        ),
        (
            [{"name": "x", "datatype": "FP32", "shape": [1, 5], "data": [0] * 5}],
            "one input per column",
        ),
        ([{"name": "f0", "datatype": "FP32", "shape": [1], "data": [0]}], "missing column(s)"),
        (
            [{"name": "f0", "datatype": "FP32", "shape": [1], "data": [0]}] * 2,
            "given twice",
        ),
    ],
)
def test_bad_infer_requests_get_a_400_that_names_the_input(
    logit: Any, inputs: list[Any], says: str
) -> None:
    response = logit.post("/v2/models/logit/infer", json={"inputs": inputs})
    assert response.status_code == 400, response.text
    assert says in response.json()["error"]


def test_asking_for_an_unknown_output_is_a_400(logit: Any, store: dict[str, Any]) -> None:
    row = store["frame"].iloc[:1].to_numpy().ravel().tolist()
    request = {
        "inputs": [{"name": "x", "datatype": "FP64", "shape": [1, 6], "data": row}],
        "outputs": [{"name": "probabilities"}],
    }
    response = logit.post("/v2/models/logit/infer", json=request)
    assert response.status_code == 400
    assert "unknown output" in response.json()["error"]


def test_oip_datatypes_round_trip() -> None:
    from mlcore.serving.oip import datatype_of, decode_tensor

    for datatype, dtype in [("BOOL", bool), ("UINT8", np.uint8), ("INT16", np.int16),
                            ("FP16", np.float16), ("FP64", np.float64)]:  # fmt: skip
        data = [True, False] if datatype == "BOOL" else [1, 2]
        _, array = decode_tensor({"name": "t", "datatype": datatype, "shape": [2], "data": data})
        assert array.dtype == np.dtype(dtype)
        assert datatype_of(array.dtype) == datatype
    _, text = decode_tensor({"name": "t", "datatype": "BYTES", "shape": [1, 2], "data": ["a", "b"]})
    assert text.shape == (1, 2) and datatype_of(text.dtype) == "BYTES"
