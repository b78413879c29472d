"""Adaptive micro-batching: concurrent requests share one model call.

Requests queue their prepared inputs; one worker takes what is waiting (up to
``max_batch_size`` rows), concatenates it, runs the model once and hands every request its
slice of the output. It waits for more (up to ``max_wait_ms``) only while requests are arriving
concurrently, so a lone client never pays the wait. A model whose calls are cheap runs on the
event loop; a slower one runs on a worker thread, leaving the loop free to read the next
requests. A batch that cannot be merged (inputs that do not concatenate, an output that is not
one row per input row) runs request by request, and the batcher stops merging for that model.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mlcore.errors import InvalidInputError

__all__ = ["INLINE_SECONDS", "BatchingOptions", "MicroBatcher", "concat", "rows_of", "split"]

#: a model call under this many seconds (moving average) runs on the event loop
INLINE_SECONDS = 0.0005


@dataclass(frozen=True)
class BatchingOptions:
    max_batch_size: int = 32
    max_wait_ms: float = 2.0

    def __post_init__(self) -> None:
        if not isinstance(self.max_batch_size, int) or self.max_batch_size < 1:
            raise InvalidInputError(
                f"max_batch_size must be a positive integer, got {self.max_batch_size!r}",
                field="max_batch_size",
            )
        if not isinstance(self.max_wait_ms, (int, float)) or not 0 <= self.max_wait_ms <= 1000:
            raise InvalidInputError(
                f"max_wait_ms must be between 0 and 1000, got {self.max_wait_ms!r}",
                field="max_wait_ms",
            )


def rows_of(batch: Any) -> int:
    if isinstance(batch, dict):
        return len(next(iter(batch.values()))) if batch else 0
    return len(batch)


def concat(batches: list[Any]) -> Any:
    """One batch of ``batches`` (ndarrays, DataFrames or dicts of arrays); ``None`` if they do
    not concatenate."""
    import numpy as np

    first = batches[0]
    try:
        if hasattr(first, "columns") and hasattr(first, "iloc"):
            import pandas as pd

            if any(list(b.columns) != list(first.columns) for b in batches):
                return None
            return pd.concat(batches, ignore_index=True)
        if isinstance(first, dict):
            if any(not isinstance(b, dict) or b.keys() != first.keys() for b in batches):
                return None
            return {k: np.concatenate([b[k] for b in batches]) for k in first}
        arrays = [np.asarray(b) for b in batches]
        if any(a.shape[1:] != arrays[0].shape[1:] or a.dtype != arrays[0].dtype for a in arrays):
            return None
        return np.concatenate(arrays)
    except (TypeError, ValueError):
        return None


def split(output: Any, counts: list[int]) -> list[Any] | None:
    """``output`` cut into consecutive slices of ``counts`` rows; ``None`` when it is not one
    row per input row."""
    total = sum(counts)
    if isinstance(output, dict):
        if any(rows_of({k: v}) != total for k, v in output.items()):
            return None
        parts = []
        start = 0
        for n in counts:
            parts.append({k: v[start : start + n] for k, v in output.items()})
            start += n
        return parts
    if not hasattr(output, "__len__") or len(output) != total:
        return None
    parts = []
    start = 0
    for n in counts:
        if hasattr(output, "iloc"):
            parts.append(output.iloc[start : start + n].reset_index(drop=True))
        else:
            parts.append(output[start : start + n])
        start += n
    return parts


class _Item:
    __slots__ = ("batch", "future", "rows")

    def __init__(self, batch: Any, future: asyncio.Future[Any]) -> None:
        self.batch = batch
        self.future = future
        self.rows = rows_of(batch)


class MicroBatcher:
    """Runs ``predict`` on merged batches of concurrent requests (see the module docstring)."""

    def __init__(
        self,
        predict: Callable[[Any], Any],
        options: BatchingOptions | None = None,
        *,
        on_batch: Callable[[int, float], None] | None = None,
    ) -> None:
        self.options = options or BatchingOptions()
        self._predict = predict
        self._on_batch = on_batch
        self._queue: deque[_Item] = deque()
        self._wakeup: asyncio.Event | None = None
        self._worker: asyncio.Task[None] | None = None
        self._executor = concurrent.futures.ThreadPoolExecutor(1, "mlcore-model")
        self._merge = self.options.max_batch_size > 1
        self._cost = 0.0  # moving average of seconds per model call
        self._arrivals = 0  # requests queued since the current batch was taken

    async def predict(self, batch: Any) -> Any:
        loop = asyncio.get_running_loop()
        if self._worker is None or self._worker.done():
            self._wakeup = asyncio.Event()
            self._worker = loop.create_task(self._run())
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.append(_Item(batch, future))
        self._arrivals += 1
        assert self._wakeup is not None
        self._wakeup.set()
        return await future

    def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)

    # -- the worker ------------------------------------------------------------------------------
    async def _run(self) -> None:
        assert self._wakeup is not None
        while True:
            if not self._queue:
                self._wakeup.clear()
                await self._wakeup.wait()
            items = await self._take()
            await self._serve(items)

    async def _take(self) -> list[_Item]:
        busy = self._arrivals > 1  # others arrived while the last batch ran
        self._arrivals = 0
        items = [self._queue.popleft()]
        if not self._merge:
            return items
        limit = self.options.max_batch_size
        rows = items[0].rows
        deadline = time.monotonic() + self.options.max_wait_ms / 1000
        assert self._wakeup is not None
        while rows < limit:
            if self._queue and rows + self._queue[0].rows <= limit:
                item = self._queue.popleft()
                items.append(item)
                rows += item.rows
                continue
            if self._queue or not busy:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), remaining)
            except asyncio.TimeoutError:
                break
        return items

    async def _serve(self, items: list[_Item]) -> None:
        items = [i for i in items if not i.future.done()]  # a client gone before its turn
        if not items:
            return
        if len(items) > 1:
            merged = concat([i.batch for i in items])
            if merged is not None:
                try:
                    output = await self._call(merged, len(items))
                except BaseException as exc:  # one bad row fails the batch: retry one by one
                    if isinstance(exc, asyncio.CancelledError):
                        raise
                    output = None
                parts = split(output, [i.rows for i in items]) if output is not None else None
                if parts is not None:
                    for item, part in zip(items, parts):
                        if not item.future.done():
                            item.future.set_result(part)
                    return
                if output is not None:
                    self._merge = False  # not one output row per input row: never merge again
        for item in items:
            try:
                result = await self._call(item.batch, 1)
            except asyncio.CancelledError:
                raise
            except BaseException as exc:
                if not item.future.done():
                    item.future.set_exception(exc)
                continue
            if not item.future.done():
                item.future.set_result(result)

    async def _call(self, batch: Any, requests: int) -> Any:
        started = time.perf_counter()
        if self._cost < INLINE_SECONDS:
            output = self._predict(batch)
        else:
            loop = asyncio.get_running_loop()
            output = await loop.run_in_executor(self._executor, self._predict, batch)
        elapsed = time.perf_counter() - started
        self._cost = elapsed if self._cost == 0.0 else 0.8 * self._cost + 0.2 * elapsed
        if self._on_batch is not None:
            self._on_batch(rows_of(batch), elapsed)
        return output
