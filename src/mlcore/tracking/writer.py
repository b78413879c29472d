"""The batching writer: the logging hot path and the run heartbeat.

``add`` appends a point to a deque (about a microsecond with validation in the caller); a
daemon thread stores what accumulated every ``interval`` seconds as one batch, in one
transaction. ``flush`` stores everything added before it was called, in the caller's thread.

Failure handling: a batch the store refuses stays pending and is retried, with the same batch
id so a retry after a lost acknowledgement cannot store it twice. If the backlog passes
``max_buffer`` points, ``add`` writes synchronously (back-pressure), so an outage surfaces as
an error to the caller instead of unbounded memory.

The same thread extends the ``alive_until`` deadline of registered runs every
``heartbeat_interval`` seconds; a run whose process died stops being extended and reads as
CRASHED once the deadline passes.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
import uuid
import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlcore.stores.base import MetadataStore, MetricPoint

logger = logging.getLogger(__name__)

_writers: weakref.WeakSet[BatchWriter] = weakref.WeakSet()


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class BatchWriter:
    """Buffers metric points for one store and writes them in batches.

    Args:
        store: where points go.
        interval: seconds between background flushes.
        heartbeat_interval: seconds between heartbeats of registered runs.
        heartbeat_timeout: how long after the last heartbeat a run counts as crashed.
        max_buffer: backlog (points) beyond which ``add`` writes synchronously.
    """

    def __init__(
        self,
        store: MetadataStore,
        *,
        interval: float = 0.1,
        heartbeat_interval: float = 10.0,
        heartbeat_timeout: float = 90.0,
        max_buffer: int = 1_000_000,
    ) -> None:
        self._store = store
        self.interval = interval
        self.heartbeat_interval = heartbeat_interval
        self.heartbeat_timeout = heartbeat_timeout
        self._max_buffer = max_buffer
        self._init_runtime()
        _writers.add(self)

    def _init_runtime(self) -> None:
        self._queue: collections.deque[MetricPoint] = collections.deque()
        self._pending: list[MetricPoint] = []
        self._pending_batch_id: str | None = None
        self._inflight = 0
        self._io_lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._runs: set[str] = set()
        self._last_beat = 0.0
        self._last_error: str | None = None

    # -- hot path ------------------------------------------------------------------------------
    def add(self, point: MetricPoint) -> None:
        """Queue one ``(run_id, key, value, timestamp_ms, step)`` point (already validated)."""
        self._queue.append(point)
        if self._thread is None:
            self._start()
        if len(self._queue) > self._max_buffer:
            self.flush()

    def extend(self, points: list[MetricPoint]) -> None:
        self._queue.extend(points)
        if self._thread is None:
            self._start()
        if len(self._queue) > self._max_buffer:
            self.flush()

    # -- storing -------------------------------------------------------------------------------
    def flush(self) -> None:
        """Store every point added before this call; raises the store's error if it fails
        (the points stay queued and are retried)."""
        self._drain()

    @property
    def backlog(self) -> int:
        """Points added and not stored yet (queued, being stored, or waiting for a retry)."""
        return len(self._queue) + self._inflight + len(self._pending)

    def _drain(self) -> None:
        with self._io_lock:
            if self._pending:
                # a failed batch is retried alone, under its own id: the id must always name
                # the same points for the store's duplicate check to be right
                self._store_batch(self._pending, self._pending_batch_id or uuid.uuid4().hex)
            queue = self._queue
            # popping exactly len() items is safe against concurrent appends; they count in
            # the backlog until stored (or kept as pending when storing fails)
            count = len(queue)
            self._inflight = count
            try:
                batch = [queue.popleft() for _ in range(count)]
                if batch:
                    self._store_batch(batch, uuid.uuid4().hex)
            finally:
                self._inflight = 0

    def _store_batch(self, batch: list[MetricPoint], batch_id: str) -> None:
        try:
            self._store.log_metrics(batch, batch_id=batch_id)
        except BaseException:
            self._pending, self._pending_batch_id = batch, batch_id
            raise
        self._pending, self._pending_batch_id = [], None
        if self._last_error is not None:
            logger.warning("mlcore: storing metrics works again (%d points stored)", len(batch))
            self._last_error = None

    # -- heartbeat -----------------------------------------------------------------------------
    def register_run(self, run_id: str) -> None:
        self._runs.add(run_id)
        if self._thread is None:
            self._start()

    def unregister_run(self, run_id: str) -> None:
        self._runs.discard(run_id)

    def keeps_alive(self, run_id: str) -> bool:
        """Whether this writer's heartbeat keeps ``run_id`` alive (it is RUNNING)."""
        return run_id in self._runs

    def alive_until(self) -> int:
        return now_ms() + int(self.heartbeat_timeout * 1000)

    def _beat(self) -> None:
        now = time.monotonic()
        if not self._runs or now - self._last_beat < self.heartbeat_interval:
            return
        self._last_beat = now
        self._store.heartbeat(sorted(self._runs), self.alive_until())

    # -- thread --------------------------------------------------------------------------------
    def _start(self) -> None:
        with self._io_lock:
            if self._thread is not None:
                return
            self._last_beat = time.monotonic()
            thread = threading.Thread(target=self._loop, name="mlcore-writer", daemon=True)
            self._thread = thread
        thread.start()

    def _loop(self) -> None:
        backoff = self.interval
        while True:
            self._wake.wait(backoff)
            self._wake.clear()
            stopping = self._stopping
            try:
                self._drain()
                self._beat()
                backoff = self.interval
            except Exception as exc:  # keep going: points stay pending
                message = f"{type(exc).__name__}: {exc}"
                if message != self._last_error:
                    logger.warning("mlcore: storing metrics failed, will retry: %s", message)
                    self._last_error = message
                backoff = min(max(backoff * 2, self.interval), 5.0)
            if stopping:
                return

    def close(self, timeout: float = 30.0) -> None:
        """Stop the thread after a final flush (idempotent)."""
        thread = self._thread
        self._stopping = True
        self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        self._drain()

    def _after_fork(self) -> None:
        # The child must not re-send the parent's buffered points, nor use its thread or locks.
        self._init_runtime()


def _reinit_after_fork() -> None:
    for writer in list(_writers):
        writer._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reinit_after_fork)
