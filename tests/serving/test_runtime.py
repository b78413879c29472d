"""How a served model runs: ONNX acceleration that never changes an answer, ONNX models."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from mlcore.serving import ServedModel
from mlcore.tracking import Tracker
from tests.serving.conftest import FEATURES, client_for

pytest.importorskip("onnxruntime")
pytest.importorskip("skl2onnx")


def _load(store: dict[str, Any], uri: str, **options: Any) -> ServedModel:
    with Tracker(store["uri"]) as tracker:
        return ServedModel.load(uri, tracker=tracker, **options)


def _rows(n: int, seed: int) -> Any:
    import pandas as pd

    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.normal(0, 1.5, (n, len(FEATURES))), columns=FEATURES)


def test_a_classifier_is_compiled_and_its_labels_match_the_native_model(
    store: dict[str, Any],
) -> None:
    served = _load(store, "models:/forest/1")
    assert served.runtime == "onnxruntime", served.runtime_note
    forest = store["models"]["forest"]
    rows = _rows(4000, seed=1)
    # an even forest votes 50/50 on some rows: float32 sums would break those ties the other way
    ties = np.isclose(forest.predict_proba(rows)[:, 0], 0.5).sum()
    assert ties > 0
    assert served.predict(rows).tolist() == forest.predict(rows).tolist()


def test_a_regressor_is_served_natively_unless_onnx_is_asked_for(store: dict[str, Any]) -> None:
    ridge = store["models"]["ridge"]
    rows = _rows(200, seed=2)
    native = _load(store, "models:/ridge/1")
    assert native.runtime == "native"
    assert "accelerate='onnx'" in native.runtime_note
    assert native.predict(rows).tolist() == ridge.predict(rows).tolist()  # bit for bit
    compiled = _load(store, "models:/ridge/1", accelerate="onnx")
    assert compiled.runtime == "onnxruntime"
    np.testing.assert_allclose(compiled.predict(rows), ridge.predict(rows), rtol=1e-4, atol=1e-4)


def test_accelerate_off_and_bad_values(store: dict[str, Any]) -> None:
    from mlcore.errors import InvalidInputError

    assert _load(store, "models:/forest/1", accelerate="off").runtime == "native"
    with pytest.raises(InvalidInputError, match="accelerate"):
        _load(store, "models:/forest/1", accelerate="fast")


def test_the_server_reports_its_runtime(store: dict[str, Any]) -> None:
    with client_for("models:/forest/1", store) as client:
        assert client.get("/version").json()["model"]["runtime"] == "onnxruntime"
        meta = client.get("/v2/models/forest").json()
        assert meta["parameters"]["runtime"] == "onnxruntime"


def test_an_onnx_model_is_served_through_onnxruntime(store: dict[str, Any], tmp_path: Any) -> None:
    import mlcore

    forest = store["models"]["forest"]
    frame = store["frame"]
    proto = mlcore.onnx.export(forest, frame.iloc[:20])
    with Tracker(store["uri"]) as tracker:
        run = tracker.start_run("onnx")
        info = tracker.log_model(
            run.info.run_id, proto, "model", flavor="onnx",
            input_example=frame.iloc[:5].to_numpy().astype(np.float32),
        )  # fmt: skip
        tracker.end_run(run.info.run_id)
    with client_for(info.model_uri, store) as client:
        assert client.get("/version").json()["model"]["flavor"] == "onnx"
        rows = frame.iloc[:50].to_numpy()
        response = client.post("/invocations", json={"inputs": rows.tolist()})
        assert response.status_code == 200, response.text
        labels = np.asarray(response.json()["predictions"])
        agree = (labels == forest.predict(frame.iloc[:50])).mean()
        assert agree > 0.9  # float32 ONNX votes; ties may differ
        bad = client.post("/invocations", json={"inputs": [[1.0, 2.0]]})
        assert bad.status_code == 400
        assert "shape" in bad.json()["message"]
