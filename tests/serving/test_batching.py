"""Adaptive micro-batching, and /metrics showing it."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from typing import Any

import httpx
import numpy as np
import pytest

from mlcore.errors import InvalidInputError
from mlcore.serving.batching import BatchingOptions, MicroBatcher
from tests.serving.conftest import FEATURES


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_concurrent_requests_share_one_model_call() -> None:
    calls: list[int] = []

    def predict(batch: Any) -> Any:
        calls.append(len(batch))
        return batch[:, 0] * 10

    async def main() -> list[Any]:
        batcher = MicroBatcher(predict, BatchingOptions(max_batch_size=64, max_wait_ms=5))
        try:
            inputs = [np.full((2, 3), float(i)) for i in range(16)]
            return await asyncio.gather(*(batcher.predict(x) for x in inputs))
        finally:
            batcher.close()

    results = _run(main())
    assert calls == [32]  # 16 requests of 2 rows, one call
    for i, result in enumerate(results):
        assert result.tolist() == [i * 10.0, i * 10.0]  # each gets its own rows back


def test_batches_never_exceed_max_batch_size() -> None:
    calls: list[int] = []

    def predict(batch: Any) -> Any:
        calls.append(len(batch))
        return batch.sum(axis=1)

    async def main() -> None:
        batcher = MicroBatcher(predict, BatchingOptions(max_batch_size=8, max_wait_ms=1))
        try:
            await asyncio.gather(*(batcher.predict(np.ones((3, 2))) for _ in range(10)))
        finally:
            batcher.close()

    _run(main())
    assert sum(calls) == 30
    assert max(calls) <= 8 and len(calls) < 10


def test_a_bad_request_fails_alone_when_its_batch_fails() -> None:
    def predict(batch: Any) -> Any:
        if (batch < 0).any():
            raise ValueError("negative input")
        return batch[:, 0]

    async def main() -> list[Any]:
        batcher = MicroBatcher(predict, BatchingOptions(max_batch_size=32, max_wait_ms=2))
        try:
            inputs = [np.ones((1, 2)), -np.ones((1, 2)), 2 * np.ones((1, 2))]
            return await asyncio.gather(
                *(batcher.predict(x) for x in inputs), return_exceptions=True
            )
        finally:
            batcher.close()

    good, bad, other = _run(main())
    assert good.tolist() == [1.0] and other.tolist() == [2.0]
    assert isinstance(bad, ValueError)


def test_an_output_that_is_not_one_row_per_row_stops_merging() -> None:
    calls: list[int] = []

    def predict(batch: Any) -> Any:
        calls.append(len(batch))
        return float(batch.sum())  # one number per call, not per row

    async def main() -> list[Any]:
        batcher = MicroBatcher(predict, BatchingOptions(max_batch_size=32, max_wait_ms=2))
        try:
            first = await asyncio.gather(*(batcher.predict(np.ones((1, 2)) * i) for i in range(4)))
            second = await asyncio.gather(*(batcher.predict(np.ones((1, 2))) for _ in range(3)))
            return [*first, *second]
        finally:
            batcher.close()

    results = _run(main())
    assert results == [0.0, 2.0, 4.0, 6.0, 2.0, 2.0, 2.0]  # each request's own answer
    assert calls[0] == 4 and calls[1:] == [1] * 7  # tried once merged, then never again


def test_a_lone_request_does_not_wait_for_company() -> None:
    async def main() -> float:
        batcher = MicroBatcher(lambda b: b, BatchingOptions(max_batch_size=32, max_wait_ms=1000))
        try:
            started = time.perf_counter()
            await batcher.predict(np.ones((1, 2)))
            return time.perf_counter() - started
        finally:
            batcher.close()

    assert _run(main()) < 0.9  # a second's max wait applies only under concurrent load


def test_bad_batching_options() -> None:
    from mlcore.serving import create_app

    with pytest.raises(InvalidInputError, match="max_batch_size"):
        BatchingOptions(max_batch_size=0)
    with pytest.raises(InvalidInputError, match="max_wait_ms"):
        BatchingOptions(max_wait_ms=-1)
    with pytest.raises(InvalidInputError, match="unknown batching option"):
        create_app("models:/forest/1", batching={"size": 3})


def _metric(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)}(?:{{[^}}]*}})? ([0-9.e+]+)$", text, re.M)
    assert match, f"{name} not in /metrics"
    return float(match.group(1))


def test_concurrent_http_clients_are_batched_and_metrics_show_it(store: dict[str, Any]) -> None:
    from mlcore.server import Server

    srv = Server.model(
        "models:/forest/1",
        tracking_uri=store["uri"],
        accelerate="off",
        batching={"max_batch_size": 64, "max_wait_ms": 5},
    )
    url = srv.start()
    frame = store["frame"]
    forest = store["models"]["forest"]
    errors: list[str] = []
    per_client = 15

    def client(i: int) -> None:
        rows = frame.iloc[i * 3 : i * 3 + 3]
        body = {"dataframe_split": {"columns": FEATURES, "data": rows.to_numpy().tolist()}}
        with httpx.Client(base_url=url) as http:
            for _ in range(per_client):
                response = http.post("/invocations", json=body)
                if response.json().get("predictions") != forest.predict(rows).tolist():
                    errors.append(response.text)

    try:
        threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        metrics = httpx.get(f"{url}/metrics").text
    finally:
        srv.stop()
    assert not errors, errors[:2]
    requests = 8 * per_client
    assert (
        _metric(metrics, 'mlcore_serving_requests_total{endpoint="invocations",status="200"}')
        == requests
    )
    assert _metric(metrics, "mlcore_serving_predictions_total") == requests * 3
    calls = _metric(metrics, "mlcore_serving_batch_rows_count")
    assert calls < requests  # some requests shared a model call
    assert (
        _metric(metrics, 'mlcore_serving_request_duration_seconds_count{endpoint="invocations"}')
        == requests
    )
    assert (
        'mlcore_serving_model_info{flavor="sklearn",name="forest",runtime="native",version="1"} 1.0'
        in metrics
    )
