"""`mlcore serve` as a user starts it: a process on a port, one or several workers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest

from tests.conftest import free_port, wait_port
from tests.serving.conftest import FEATURES


@pytest.mark.parametrize("workers", [1, 2])
def test_mlcore_serve_answers_both_protocols(store: dict[str, Any], workers: int) -> None:
    port = free_port()
    env = {**os.environ, "MLCORE_TRACKING_URI": store["uri"]}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlcore", "serve", "models:/forest@champion",
         "--port", str(port), "--workers", str(workers)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        wait_port(port, timeout=60)
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):  # workers bind before they have loaded the model
            try:
                if httpx.get(f"{base}/v2/health/ready").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        frame = store["frame"].iloc[:10]
        expected = store["models"]["forest"].predict(frame).tolist()
        body = {"dataframe_split": {"columns": FEATURES, "data": frame.to_numpy().tolist()}}
        for _ in range(4):  # several connections: with 2 workers both answer
            assert httpx.post(f"{base}/invocations", json=body).json()["predictions"] == expected
        infer = {"inputs": [{"name": "x", "datatype": "FP64", "shape": [10, 6],
                             "data": frame.to_numpy().ravel().tolist()}]}  # fmt: skip
        out = httpx.post(f"{base}/v2/models/forest/versions/1/infer", json=infer).json()
        assert out["outputs"][0]["data"] == expected
        assert "mlcore_serving_requests_total" in httpx.get(f"{base}/metrics").text
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert b"serving forest v1 (sklearn, onnxruntime)" in err


def test_mlcore_serve_refuses_an_unknown_model(store: dict[str, Any]) -> None:
    env = {**os.environ, "MLCORE_TRACKING_URI": store["uri"]}
    result = subprocess.run(
        [sys.executable, "-m", "mlcore", "serve", "models:/nosuch@champion"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    assert "nosuch" in result.stderr and "Traceback" not in result.stderr
