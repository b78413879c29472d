"""MLflow model directories (``MLmodel``) written by the real mlflow load and serve in mlcore:
same predictions as mlflow's, signature enforced, every file verified against the hashes mlcore
recorded, and an unrecorded directory or a custom loader_module only on an explicit opt-in."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

import mlcore
from mlcore.errors import IntegrityError, InvalidInputError
from mlcore.flavors import load_model
from mlcore.tracking import Tracker
from mlcore.tracking.models import record_mlflow_model
from tests.conftest import free_port, wait_port
from tests.flavors.mlflow_models import INPUTS, write_mlflow_models


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("mlflow-models")
    expected = write_mlflow_models(root)
    frame = pd.DataFrame(expected["frame"], columns=["a", "b", "c"])
    return {
        "root": root,
        "inputs": {"frame": frame, "array": frame.to_numpy(dtype=np.float32)},
        "predictions": expected["predictions"],
    }


def _input(saved: dict[str, Any], name: str) -> Any:
    return saved["inputs"][INPUTS[name]]


@pytest.mark.parametrize("name", sorted(INPUTS))
def test_each_flavor_predicts_what_mlflow_predicts(saved: dict[str, Any], name: str) -> None:
    model = load_model(str(saved["root"] / name), trust_unrecorded=True)
    got = np.asarray(model.predict(_input(saved, name)))
    np.testing.assert_allclose(got, np.asarray(saved["predictions"][name]), rtol=1e-5, atol=1e-6)


def test_signature_and_input_example_come_from_mlmodel(saved: dict[str, Any]) -> None:
    model = load_model(str(saved["root"] / "sklearn_skops"), trust_unrecorded=True)
    assert model.signature is not None
    assert model.signature.inputs.describe() == "columns a (float64), b (float64), c (float64)"
    pd.testing.assert_frame_equal(model.input_example, saved["inputs"]["frame"].head(3))
    with pytest.raises(InvalidInputError, match="missing column.*'c'"):
        model.predict(saved["inputs"]["frame"][["a", "b"]])
    with pytest.raises(InvalidInputError, match="column 'a' has dtype string"):
        model.predict([{"a": "x", "b": 1.0, "c": 2.0}])
    torch_model = load_model(str(saved["root"] / "pytorch_pt2"), trust_unrecorded=True)
    assert torch_model.signature is not None
    assert torch_model.signature.inputs.describe() == "float32 (-1, 3)"
    np.testing.assert_array_equal(torch_model.input_example, saved["inputs"]["array"][:2])
    with pytest.raises(InvalidInputError, match=r"shape \(2, 4\)"):
        torch_model.predict(np.zeros((2, 4), dtype=np.float32))


def test_an_unrecorded_directory_needs_an_explicit_opt_in(saved: dict[str, Any]) -> None:
    path = str(saved["root"] / "sklearn_cloudpickle")
    for load in (load_model, mlcore.load_model):
        with pytest.raises(IntegrityError) as caught:
            load(path)
        message = str(caught.value)
        assert "never recorded by mlcore" in message
        assert "trust_unrecorded=True" in message and "--trust-unrecorded" in message


def _logged(tmp_path: Path, saved: dict[str, Any], name: str) -> tuple[Tracker, str, Path]:
    """``name`` uploaded into a run of a fresh store (hashes recorded on upload)."""
    tracker = Tracker(str(tmp_path / "store"))
    run_id = tracker.start_run("imported").info.run_id
    tracker.log_artifacts(run_id, saved["root"] / name, "model")
    root = tracker.artifact_store(run_id).root  # type: ignore[attr-defined]
    return tracker, run_id, Path(root) / "model"


def test_a_recorded_directory_loads_verified(saved: dict[str, Any], tmp_path: Path) -> None:
    tracker, run_id, stored = _logged(tmp_path, saved, "sklearn_cloudpickle")
    frame = saved["inputs"]["frame"]
    model = tracker.load_model(f"runs:/{run_id}/model")  # no opt-in: mlcore recorded it
    assert model.predict(frame).tolist() == saved["predictions"]["sklearn_cloudpickle"]
    native = tracker.load_model(f"runs:/{run_id}/model", native=True)
    assert type(native).__name__ == "LogisticRegression"

    pickled = stored / "model.pkl"
    original = pickled.read_bytes()
    pickled.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    with pytest.raises(IntegrityError, match="'model.pkl' .* does not match the sha256"):
        tracker.load_model(f"runs:/{run_id}/model")
    pickled.write_bytes(original)
    (stored / "extra.py").write_text("print('not recorded')")
    with pytest.raises(IntegrityError, match="'extra.py' .* not among the files recorded"):
        tracker.load_model(f"runs:/{run_id}/model")
    (stored / "extra.py").unlink()
    pickled.unlink()
    with pytest.raises(IntegrityError, match="'model.pkl' recorded for the model is missing"):
        tracker.load_model(f"runs:/{run_id}/model")
    tracker.close()


def test_record_mlflow_model_vouches_for_a_copied_directory(
    saved: dict[str, Any], tmp_path: Path
) -> None:
    """What an import does: copy the files into a run's artifacts, record their hashes, and
    register the model pinned to its MLmodel."""
    tracker = Tracker(str(tmp_path / "store"))
    run_id = tracker.start_run("imported").info.run_id
    root = Path(tracker.artifact_store(run_id).root)  # type: ignore[attr-defined]
    shutil.copytree(saved["root"] / "xgboost", root / "model")
    with pytest.raises(IntegrityError, match="never recorded by mlcore"):
        tracker.load_model(f"runs:/{run_id}/model")
    pin = record_mlflow_model(tracker.store, run_id, "model", str(root / "model"))
    model = tracker.load_model(f"runs:/{run_id}/model")
    frame = saved["inputs"]["frame"]
    assert model.predict(frame).tolist() == saved["predictions"]["xgboost"]
    registry = mlcore.Registry(tracker=tracker)
    version = registry.create_version("booster", f"runs:/{run_id}/model")
    assert version.manifest_sha256 == pin
    assert (
        registry.load_model("booster", 1).predict(frame).tolist()
        == (saved["predictions"]["xgboost"])
    )
    mlmodel = root / "model" / "MLmodel"
    mlmodel.write_text(mlmodel.read_text().replace("XGBClassifier", "XGBRegressor"))
    with pytest.raises(IntegrityError, match="'MLmodel' .* does not match"):
        registry.load_model("booster", 1)
    tracker.close()


def test_a_custom_loader_module_runs_only_on_opt_in(saved: dict[str, Any], tmp_path: Path) -> None:
    tracker, run_id, _ = _logged(tmp_path, saved, "custom")
    with pytest.raises(IntegrityError, match="loader_module 'custom_loader'.*imports and runs"):
        tracker.load_model(f"runs:/{run_id}/model")  # recorded, yet it names code to run
    model = tracker.load_model(f"runs:/{run_id}/model", trust_unrecorded=True)
    assert model.predict(np.array([1.0, 2.0])).tolist() == [2.5, 3.5]
    tracker.close()


def _serve(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "mlcore", "serve", *args],
        env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def test_mlcore_serve_answers_invocations_for_an_mlflow_model(
    saved: dict[str, Any], tmp_path: Path
) -> None:
    tracker, run_id, _ = _logged(tmp_path, saved, "sklearn_skops")
    tracker.close()
    port = free_port()
    env = {"MLCORE_TRACKING_URI": str(tmp_path / "store")}
    proc = _serve([f"runs:/{run_id}/model", "--port", str(port), "--accelerate", "off"], env)
    try:
        wait_port(port, timeout=90)
        frame = saved["inputs"]["frame"]
        body = {"dataframe_split": {"columns": list(frame.columns), "data": frame.values.tolist()}}
        answer = httpx.post(f"http://127.0.0.1:{port}/invocations", json=body, timeout=30)
        assert answer.json()["predictions"] == saved["predictions"]["sklearn_skops"]
        wrong = {"dataframe_split": {"columns": ["a", "b"], "data": [[1.0, 2.0]]}}
        refused = httpx.post(f"http://127.0.0.1:{port}/invocations", json=wrong, timeout=30)
        assert refused.status_code == 400 and "'c'" in refused.text
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def test_mlcore_serve_refuses_a_bare_mlflow_directory_without_opt_in(
    saved: dict[str, Any],
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mlcore", "serve", str(saved["root"] / "sklearn_cloudpickle"),
         "--port", str(free_port())],
        capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    assert result.returncode == 1
    assert "never recorded by mlcore" in result.stderr and "--trust-unrecorded" in result.stderr
    assert "Traceback" not in result.stderr
