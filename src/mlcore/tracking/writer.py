"""The batching writer: the logging hot path and the run heartbeat.

``add`` appends a point to :attr:`BatchWriter.buffer`, a flat list (five items a point:
:mod:`mlcore.stores.flat_points`), with one ``list.extend`` of its 5-tuple, so no object per
point lives on for the garbage collector; a daemon thread stores what accumulated every
``interval`` seconds as one batch, in one transaction, and the store takes each column with
one slice. ``flush`` stores everything added before it was called, in the caller's thread.
``ActiveRun.log_metric`` extends the buffer itself (the hot path) and calls
:meth:`BatchWriter.overflow` when its length passes :attr:`BatchWriter.limit`.

Failure handling: a batch the store cannot take now (``StoreError``, a lost connection) stays
pending and is retried, with the same batch id so a retry after a lost acknowledgement cannot
store it twice. If the backlog passes ``max_buffer`` points, ``add`` writes synchronously
(back-pressure), so an outage surfaces as an error to the caller instead of unbounded memory.

A batch the store refuses as bad input (``InvalidInputError``: a point it cannot hold, which
the checks at the call did not catch) is never sent again unchanged: it is split in halves
(:mod:`mlcore.stores.metric_batches`), each half stored or split again, until every good
point is stored and each bad one is alone. A bad point is dropped with a logged warning and
counted in ``rejected_count`` (the last ones, with the store's reason, in ``rejected``);
``flush`` does not raise for it, so ``get_run``, ``end_run`` and ``close`` go on.

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
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mlcore.errors import InvalidInputError
from mlcore.stores.flat_points import WIDTH, FlatPoints, flatten
from mlcore.stores.metric_batches import halves

if TYPE_CHECKING:
    from mlcore.stores.base import MetadataStore, MetricPoint

__all__ = ["REJECTED_KEPT", "BatchWriter", "now_ms"]

logger = logging.getLogger(__name__)

_writers: weakref.WeakSet[BatchWriter] = weakref.WeakSet()

#: how many rejected points (with the store's reason) a writer keeps for inspection
REJECTED_KEPT = 100


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
        #: points added and not taken by a flush yet, flat (``WIDTH`` items a point); the
        #: list is never replaced (hot paths keep a reference), only extended and cut
        self.buffer: list[Any] = []
        #: past this ``len(buffer)`` an adder calls :meth:`overflow`; -1 until the thread
        #: runs, so the first point starts it
        self.limit = -1
        self._init_runtime()
        _writers.add(self)

    def _init_runtime(self) -> None:
        self.buffer.clear()  # in a forked child: the parent's points are the parent's
        self.limit = -1
        # pieces taken from the queue and not stored yet, each under its own batch id; the
        # next to store is last (a refused piece is replaced by its two halves)
        self._pending: list[tuple[Sequence[MetricPoint], str]] = []
        self._pending_points = 0
        self._inflight = 0
        #: points the store refused as bad input (dropped; see the module docstring)
        self.rejected_count = 0
        #: the last :data:`REJECTED_KEPT` of them, each with the store's reason
        self.rejected: collections.deque[tuple[MetricPoint, str]] = collections.deque(
            maxlen=REJECTED_KEPT
        )
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
        if len(point) != WIDTH:
            flatten([point])  # raises InvalidInputError
        buffer = self.buffer
        buffer.extend(point)  # one C call: atomic with respect to other threads
        if len(buffer) > self.limit:
            self.overflow()

    def extend(self, points: Sequence[MetricPoint]) -> None:
        """Queue several points (already validated), together."""
        buffer = self.buffer
        buffer.extend(flatten(points))  # a list into a list: atomic, the points stay together
        if len(buffer) > self.limit:
            self.overflow()

    def overflow(self) -> None:
        """What an adder calls once ``len(buffer)`` passes :attr:`limit`: start the thread,
        or write synchronously when the backlog passes ``max_buffer`` (back-pressure)."""
        if self._thread is None:
            self._start()
        if len(self.buffer) > self._max_buffer * WIDTH:
            self.flush()

    # -- storing -------------------------------------------------------------------------------
    def flush(self) -> None:
        """Store every point added before this call; raises the store's error if it fails
        (the points stay queued and are retried). Points the store refuses as bad input are
        dropped and reported (``rejected_count``), not raised: every other point is stored."""
        self._drain()

    @property
    def backlog(self) -> int:
        """Points added and not stored yet (queued, being stored, or waiting for a retry)."""
        return len(self.buffer) // WIDTH + self._inflight + self._pending_points

    def _drain(self) -> None:
        with self._io_lock:
            # pieces that failed before go first, alone: an id must always name the same
            # points for the store's duplicate check to be right
            self._store_pending()
            buffer = self.buffer
            # taking the first len() items with one slice, then deleting them with another,
            # is safe against concurrent adders: they only ever extend the list's end, by
            # whole points. Points count in the backlog until stored (or kept as pending
            # when storing fails).
            size = len(buffer)
            size -= size % WIDTH
            count = size // WIDTH
            self._inflight = count
            try:
                if count:
                    batch = FlatPoints(buffer[:size])
                    del buffer[:size]
                    self._pending.append((batch, uuid.uuid4().hex))
                    self._pending_points += count
            finally:
                self._inflight = 0
            self._store_pending()

    def _store_pending(self) -> None:
        pending = self._pending
        while pending:
            points, batch_id = pending[-1]
            try:
                self._store.log_metrics(points, batch_id=batch_id)
            except InvalidInputError as exc:
                pending.pop()
                if len(points) == 1:
                    self._pending_points -= 1
                    self._reject(points[0], exc)
                else:  # find the bad points: store each half, or split it again
                    first, second = halves(points, batch_id)
                    pending.append(second)
                    pending.append(first)
                continue
            pending.pop()
            count = len(points)
            self._pending_points -= count
            if self._last_error is not None:
                logger.warning(
                    "mlcore: storing metrics works again (%d points stored)", len(points)
                )
                self._last_error = None

    def _reject(self, point: MetricPoint, exc: InvalidInputError) -> None:
        self.rejected_count += 1
        self.rejected.append((point, str(exc)))
        count = self.rejected_count
        if count <= 10 or count % 1000 == 0:
            run_id, key, value, timestamp, step = point
            logger.warning(
                "mlcore: the store rejected a metric point and it was dropped (%d so far; the "
                "other points are stored): run %s key %r value %r step %r timestamp %r: %s",
                count,
                run_id,
                key,
                value,
                step,
                timestamp,
                exc,
            )

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
        self.limit = self._max_buffer * WIDTH

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
