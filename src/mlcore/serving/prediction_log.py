"""Sampled prediction logging: what a served model saw and answered, kept in the store.

A served model with ``log_predictions=RATE`` keeps that fraction of requests (their input
rows, the prediction and a timestamp) in memory and, from a background thread, writes them as
Parquet files ``predictions/part-NNNNNN.parquet`` to one run per server process: experiment
``serving``, tags ``mlcore.serving.model`` and ``mlcore.serving.version``. ``mlcore monitor
drift`` reads them back (:func:`read_logged_inputs`). Serving never waits on the store: when the
buffer is full, new samples are dropped (and counted) rather than slowing requests.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import tempfile
import threading
import time
from typing import TYPE_CHECKING, Any

from mlcore.errors import InvalidInputError

if TYPE_CHECKING:
    import pyarrow as pa

    from mlcore.serving.runtime import ServedModel
    from mlcore.tracking import Tracker

__all__ = [
    "EXPERIMENT",
    "MODEL_TAG",
    "PREDICTION",
    "PREFIX",
    "TIMESTAMP",
    "VERSION_TAG",
    "PredictionLogger",
    "columns_of",
    "read_logged_inputs",
]

log = logging.getLogger("mlcore.serving")

EXPERIMENT = "serving"
MODEL_TAG = "mlcore.serving.model"
VERSION_TAG = "mlcore.serving.version"
PREFIX = "predictions"
PREDICTION = "prediction"
TIMESTAMP = "timestamp_ms"
_MAX_BUFFERED_ROWS = 200_000


def columns_of(prepared: Any, names: list[str] | None) -> dict[str, Any]:
    """Input rows as named 1-D columns (``x0``, ``x1``... for unnamed arrays)."""
    import numpy as np

    if hasattr(prepared, "columns") and hasattr(prepared, "to_numpy"):
        return {str(c): prepared[c].to_numpy() for c in prepared.columns}
    if isinstance(prepared, dict):
        out = {}
        for key, value in prepared.items():
            array = np.asarray(value)
            if array.ndim == 1:
                out[str(key)] = array
            else:
                flat = array.reshape(len(array), -1)
                out.update({f"{key}_{i}": flat[:, i] for i in range(flat.shape[1])})
        return out
    array = np.asarray(prepared)
    if array.ndim == 1:
        return {(names or ["x0"])[0]: array}
    flat = array.reshape(len(array), -1)
    if names is None or len(names) != flat.shape[1]:
        names = [f"x{i}" for i in range(flat.shape[1])]
    return {name: flat[:, i] for i, name in enumerate(names)}


class PredictionLogger:
    def __init__(
        self,
        model: ServedModel,
        rate: float,
        *,
        tracking_uri: str | None = None,
        flush_rows: int = 5000,
        flush_seconds: float = 10.0,
    ) -> None:
        if not isinstance(rate, (int, float)) or not 0 < rate <= 1:
            raise InvalidInputError(
                f"log_predictions must be a rate in (0, 1], got {rate!r}", field="log_predictions"
            )
        self.model = model
        self.rate = float(rate)
        self.tracking_uri = tracking_uri
        self.flush_rows = flush_rows
        self.flush_seconds = flush_seconds
        self.dropped = 0
        self.written = 0
        self.run_id: str | None = None
        self._buffer: list[dict[str, Any]] = []
        self._rows = 0
        self._part = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._tracker: Tracker | None = None
        self._thread = threading.Thread(
            target=self._loop, name="mlcore-prediction-log", daemon=True
        )
        self._thread.start()

    def sample(self) -> bool:
        return self.rate >= 1.0 or random.random() < self.rate

    def record(self, prepared: Any, output: Any) -> None:
        """Keep one request's rows (call only for sampled requests)."""
        import numpy as np

        columns = columns_of(prepared, self.model.column_names)
        rows = len(next(iter(columns.values()))) if columns else 0
        predictions = np.asarray(output) if not isinstance(output, dict) else None
        if predictions is not None and predictions.ndim == 1 and len(predictions) == rows:
            columns[PREDICTION] = predictions
        elif predictions is not None and predictions.ndim == 2 and len(predictions) == rows:
            columns.update(
                {f"{PREDICTION}_{i}": predictions[:, i] for i in range(predictions.shape[1])}
            )
        columns[TIMESTAMP] = np.full(rows, int(time.time() * 1000), dtype=np.int64)
        with self._lock:
            if self._rows + rows > _MAX_BUFFERED_ROWS:
                self.dropped += rows
                return
            self._buffer.append(columns)
            self._rows += rows
            if self._rows >= self.flush_rows:
                self._wake.set()

    def flush(self) -> None:
        with self._lock:
            chunks, self._buffer, self._rows = self._buffer, [], 0
        if chunks:
            self._write(chunks)

    def close(self) -> None:
        self._closed.set()
        self._wake.set()
        self._thread.join(60)
        self.flush()
        if self._tracker is not None:
            if self.run_id is not None:
                self._tracker.end_run(self.run_id, "FINISHED")
            self._tracker.close()
            self._tracker = None

    # -- the writer thread -----------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._closed.is_set():
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            if self._closed.is_set():
                return
            try:
                self.flush()
            except Exception:  # the store is down: keep serving, try again next time
                log.exception("could not write logged predictions")

    def _write(self, chunks: list[dict[str, Any]]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.concat_tables([pa.table(c) for c in chunks], promote_options="permissive")
        tracker = self._ensure_run()
        assert self.run_id is not None
        with tempfile.TemporaryDirectory(prefix="mlcore-predictions-") as tmp:
            name = f"part-{self._part:06d}-{os.getpid()}.parquet"
            path = os.path.join(tmp, name)
            pq.write_table(table, path)
            tracker.log_artifact(self.run_id, path, PREFIX)
        self._part += 1
        self.written += table.num_rows

    def _ensure_run(self) -> Tracker:
        if self._tracker is None:
            from mlcore.tracking import Tracker

            self._tracker = Tracker(self.tracking_uri)
        if self.run_id is None:
            run = self._tracker.create_run(
                EXPERIMENT,
                name=f"{self.model.name} v{self.model.version} @ {socket.gethostname()}",
                tags={MODEL_TAG: self.model.name, VERSION_TAG: self.model.version},
                params={"model_uri": self.model.uri, "sample_rate": self.rate},
            )
            self.run_id = run.info.run_id
        return self._tracker


def read_logged_inputs(
    tracker: Tracker, model: str, *, version: str | None = None, since_ms: int | None = None
) -> pa.Table:
    """Every logged prediction row of ``model`` (optionally one version, and after a time).

    Raises:
        NotFoundError: nothing was logged for ``model``.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from mlcore.errors import NotFoundError

    filter_ = f"tags.`{MODEL_TAG}` = '{_quote(model)}'"
    if version is not None:
        filter_ += f" and tags.`{VERSION_TAG}` = '{_quote(str(version))}'"
    experiment = tracker.get_experiment_by_name(EXPERIMENT)
    runs = list(tracker.iter_runs(EXPERIMENT, filter_)) if experiment is not None else []
    tables = []
    for run in runs:
        run_id = run.info.run_id
        try:
            entries = tracker.list_artifacts(run_id, PREFIX)
        except Exception:  # a run without logged files yet
            continue
        for entry in entries:
            if entry.is_dir or not entry.path.endswith(".parquet"):
                continue
            local = tracker.download_artifacts(run_id, entry.path)
            tables.append(pq.read_table(local))
    if not tables:
        raise NotFoundError(f"no predictions were logged for model {model!r}")
    table = pa.concat_tables(tables, promote_options="permissive")
    if since_ms is not None:
        import pyarrow.compute as pc

        table = table.filter(pc.greater_equal(table[TIMESTAMP], pa.scalar(since_ms, pa.int64())))
    return table


def _quote(value: str) -> str:
    return value.replace("'", "''")
