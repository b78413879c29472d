"""``/metrics``: Prometheus text format (prometheus_client), one registry per app.

- ``mlcore_serving_requests_total{endpoint, status}``: requests by route and HTTP status;
- ``mlcore_serving_request_duration_seconds{endpoint}``: latency histogram;
- ``mlcore_serving_batch_rows``: rows per model call (micro-batching at work);
- ``mlcore_serving_model_seconds``: time in the model per call;
- ``mlcore_serving_predictions_total``: rows predicted;
- ``mlcore_serving_model_info{name, version, flavor, runtime}``: what is served.

With ``--workers N`` each worker process counts its own requests (scrape each, or sum).
"""

from __future__ import annotations

from typing import Any

__all__ = ["CONTENT_TYPE", "ServingMetrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_ROW_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class ServingMetrics:
    def __init__(self, model: Any) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry(auto_describe=True)
        self._requests = Counter(
            "mlcore_serving_requests",
            "Requests by endpoint and HTTP status",
            ["endpoint", "status"],
            registry=self.registry,
        )
        self._latency = Histogram(
            "mlcore_serving_request_duration_seconds",
            "Request latency by endpoint",
            ["endpoint"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._batch_rows = Histogram(
            "mlcore_serving_batch_rows",
            "Rows per model call",
            buckets=_ROW_BUCKETS,
            registry=self.registry,
        )
        self._model_seconds = Histogram(
            "mlcore_serving_model_seconds",
            "Seconds in the model per call",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._predictions = Counter(
            "mlcore_serving_predictions", "Rows predicted", registry=self.registry
        )
        info = Gauge(
            "mlcore_serving_model_info",
            "The model served",
            ["name", "version", "flavor", "runtime"],
            registry=self.registry,
        )
        info.labels(model.name, model.version, model.flavor, model.runtime).set(1)
        self._bound: dict[tuple[str, int], Any] = {}
        self._latency_bound: dict[str, Any] = {}

    def request(self, endpoint: str, status: int, seconds: float) -> None:
        key = (endpoint, status)
        counter = self._bound.get(key)
        if counter is None:
            counter = self._bound[key] = self._requests.labels(endpoint, str(status))
        counter.inc()
        histogram = self._latency_bound.get(endpoint)
        if histogram is None:
            histogram = self._latency_bound[endpoint] = self._latency.labels(endpoint)
        histogram.observe(seconds)

    def batch(self, rows: int, seconds: float) -> None:
        self._batch_rows.observe(rows)
        self._model_seconds.observe(seconds)
        self._predictions.inc(rows)

    def render(self) -> bytes:
        from prometheus_client import generate_latest

        body: bytes = generate_latest(self.registry)
        return body
