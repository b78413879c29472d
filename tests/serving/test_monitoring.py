"""Prediction logging to the store, `mlcore monitor drift`, and the KServe manifest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from mlcore.cli import main
from mlcore.errors import InvalidInputError
from mlcore.serving.drift import compute_drift, ks_2samp, psi_numeric
from mlcore.serving.prediction_log import read_logged_inputs
from mlcore.tracking import Tracker
from tests.serving.conftest import FEATURES, client_for


@pytest.fixture(scope="module")
def logged(store: dict[str, Any]) -> dict[str, Any]:
    """600 requests to `logit` with every prediction logged: the training rows, with feature
    f0 shifted by +3 in the second half."""
    frame = store["frame"].copy()
    frame.loc[300:, "f0"] += 3.0
    answers = []
    with client_for("models:/logit@champion", store, log_predictions=1.0) as client:
        for start in range(0, 600, 50):
            part = frame.iloc[start : start + 50]
            body = {"dataframe_split": {"columns": FEATURES, "data": part.to_numpy().tolist()}}
            response = client.post("/invocations", json=body)
            assert response.status_code == 200
            answers += response.json()["predictions"]
    return {"sent": frame, "answers": answers}


def test_logged_rows_and_predictions_are_in_the_store(
    store: dict[str, Any], logged: dict[str, Any]
) -> None:
    with Tracker(store["uri"]) as tracker:
        table = read_logged_inputs(tracker, "logit")
        runs = tracker.search_runs("serving", "tags.`mlcore.serving.model` = 'logit'")
    assert table.num_rows == 600
    assert sorted(table.column("f0").to_pylist()) == sorted(logged["sent"]["f0"].tolist())
    assert sorted(table.column("prediction").to_pylist()) == sorted(logged["answers"])
    assert len(runs) == 1 and runs[0].info.status == "FINISHED"
    assert runs[0].data.tags["mlcore.serving.version"] == "1"


def test_drift_flags_the_shifted_feature_only(
    store: dict[str, Any],
    logged: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    reference = tmp_path / "reference.csv"
    store["frame"].to_csv(reference, index=False)
    plot = tmp_path / "drift.png"
    args = ["-u", store["uri"], "--json", "monitor", "drift", "--model", "logit",
            "--reference", str(reference), "--plot", str(plot)]  # fmt: skip
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    by_feature = {f["feature"]: f for f in report["features"]}
    assert set(by_feature) == set(FEATURES)
    assert by_feature["f0"]["drifted"] and by_feature["f0"]["psi"] > 0.2
    assert by_feature["f0"]["p_value"] < 1e-6
    for name in FEATURES[1:]:
        assert not by_feature[name]["drifted"], by_feature[name]
        assert by_feature[name]["psi"] < 0.01
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the table form names the drifted feature
    assert main(args[:2] + args[3:]) == 0
    table = capsys.readouterr().out
    assert "f0" in table and "drift" in table and "600 logged rows" in table


def test_drift_of_a_model_that_logged_nothing(
    store: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reference = tmp_path / "reference.csv"
    store["frame"].to_csv(reference, index=False)
    code = main(
        ["-u", store["uri"], "monitor", "drift", "--model", "nobody", "--reference", str(reference)]
    )
    assert code == 1
    assert "no predictions were logged for model 'nobody'" in capsys.readouterr().err
    code = main(["-u", store["uri"], "monitor", "drift", "--model", "x", "--reference", "nope.csv"])
    assert code == 1


def test_psi_and_ks_on_known_distributions() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 5000), rng.normal(0, 1, 5000)
    shifted = rng.normal(1, 1, 5000)
    assert psi_numeric(a, b) < 0.02
    assert psi_numeric(a, shifted) > 0.5
    scipy_stats = pytest.importorskip("scipy.stats")
    ks, p = ks_2samp(a, shifted)
    expected = scipy_stats.ks_2samp(a, shifted)
    assert ks == pytest.approx(expected.statistic) and p == pytest.approx(expected.pvalue)


def test_drift_of_text_columns_and_bad_requests() -> None:
    reference = {"city": np.asarray(["a", "b"] * 500, dtype=object), "x": np.arange(1000.0)}
    current = {"city": np.asarray(["a"] * 900 + ["c"] * 100, dtype=object), "x": np.arange(1000.0)}
    report = {r.feature: r for r in compute_drift(reference, current)}
    assert report["city"].kind == "categorical" and report["city"].drifted
    assert report["city"].ks is None
    assert not report["x"].drifted
    with pytest.raises(InvalidInputError, match="no column in common"):
        compute_drift({"a": np.ones(3)}, {"b": np.ones(3)})
    with pytest.raises(InvalidInputError, match="not in both"):
        compute_drift(reference, current, features=["city", "zip"])


def test_prediction_log_rate_must_be_a_fraction(store: dict[str, Any]) -> None:
    with pytest.raises(InvalidInputError, match="log_predictions"):
        client_for("models:/logit/1", store, log_predictions=2.0)


def test_kserve_manifest(store: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    args = ["serve", "models:/Credit Model@champion", "--kserve-manifest", "--image",
            "registry.local/mlcore-serve:1", "--namespace", "ml", "--token-secret", "mlcore-token",
            "-u", "http://tracking.ml:5000"]  # fmt: skip
    assert main(args) == 0
    manifest = yaml.safe_load(capsys.readouterr().out)
    assert manifest["apiVersion"] == "serving.kserve.io/v1beta1"
    assert manifest["kind"] == "InferenceService"
    assert manifest["metadata"] == {
        "name": "credit-model",
        "namespace": "ml",
        "annotations": {
            "serving.kserve.io/deploymentMode": "Serverless",
            "mlcore.dev/model-uri": "models:/Credit Model@champion",
        },
        "labels": {"app.kubernetes.io/managed-by": "mlcore"},
    }
    (container,) = manifest["spec"]["predictor"]["containers"]
    assert container["image"] == "registry.local/mlcore-serve:1"
    assert container["command"] == ["mlcore"]
    assert container["args"][:2] == ["serve", "models:/Credit Model@champion"]
    assert container["args"][container["args"].index("--port") + 1] == "8080"
    assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    env = {e["name"]: e for e in container["env"]}
    assert env["MLCORE_TRACKING_URI"]["value"] == "http://tracking.ml:5000"
    assert env["MLCORE_TRACKING_TOKEN"]["valueFrom"]["secretKeyRef"]["name"] == "mlcore-token"
    bad = main(["serve", "models:/m/1", "--kserve-manifest", "--service-name", "Bad_Name"])
    assert bad == 1
