"""``local``: steps run in threads of this process.

The cheapest executor (no serialisation, no process start). A thread cannot be stopped from
outside: a step past its timeout (or cancelled) is reported ``timeout`` (``cancelled``) and
abandoned — it finishes in the background, on a daemon thread that does not hold up the
interpreter's exit, and a fresh thread takes its place. Use the ``process`` executor for
steps that may hang.

A caller with nothing else to do meanwhile (a pipeline runner whose only running step is
this one) may run a step without a timeout in its own thread instead (``hold``, then
``run_held``, or ``start_held`` to hand it to a thread after all): that spares the hand-off
to another thread and back, most of what a short step costs.
"""

from __future__ import annotations

import concurrent.futures
import os
import queue
import threading
import time
from collections.abc import Sequence
from typing import Any, ClassVar

from mlcore.errors import InvalidInputError
from mlcore.executors.base import Executor, StepHandle, StepOutcome, StepTask

__all__ = ["LocalExecutor"]


class _ThreadHandle(StepHandle):
    def __init__(
        self, task: StepTask, future: concurrent.futures.Future[bytes], *, held: bool = False
    ) -> None:
        super().__init__(task)
        self.future = future
        self.cancelled = False
        self.held = held

    def _timed_out(self) -> bool:
        deadline = self.deadline()
        return deadline is not None and time.monotonic() > deadline and not self.future.done()

    def done(self) -> bool:
        return self.cancelled or self.future.done() or self._timed_out()

    def outcome(self) -> StepOutcome:
        if self.cancelled:
            return StepOutcome("cancelled", error="cancelled")
        if not self.future.done() and self._timed_out():
            return StepOutcome("timeout", error=f"timed out after {self.task.timeout:g}s")
        error = self.future.exception()
        if error is not None:
            return StepOutcome("failed", error=f"{type(error).__name__}: {error}")
        return StepOutcome("succeeded", value=self.future.result())

    def cancel(self) -> None:
        self.future.cancel()
        self.cancelled = True


class LocalExecutor(Executor):
    """Threads in this process.

    Options:
        workers: how many steps run at once (default: the number of CPUs + 4, at most 32,
            as for ``concurrent.futures.ThreadPoolExecutor``: steps often wait on I/O).
    """

    name: ClassVar[str] = "local"

    def __init__(self, workers: int | None = None, **options: Any) -> None:
        super().__init__(**options)
        if workers is not None and (not isinstance(workers, int) or workers < 1):
            raise InvalidInputError("workers must be a positive integer", field="workers")
        self._workers = workers or min(32, (os.cpu_count() or 1) + 4)
        self._queue: queue.SimpleQueue[tuple[StepTask, concurrent.futures.Future[bytes]] | None]
        self._queue = queue.SimpleQueue()
        self._idle = 0
        self._lock = threading.Lock()
        self._closed = False

    @property
    def capacity(self) -> int:
        return self._workers

    def _serve(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            task, future = item
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(task.function(task.payload))
                except BaseException as exc:  # reported as the step's failure
                    future.set_exception(exc)
            del item, task, future
            with self._lock:
                if self._closed:
                    return
                self._idle += 1

    def submit(self, task: StepTask) -> StepHandle:
        future: concurrent.futures.Future[bytes] = concurrent.futures.Future()
        self._start(task, future)
        return _ThreadHandle(task, future)

    def _start(self, task: StepTask, future: concurrent.futures.Future[bytes]) -> None:
        with self._lock:
            if self._idle > 0:
                self._idle -= 1
            else:  # threads abandoned by timeouts do not count: start another
                threading.Thread(target=self._serve, name="mlcore-step", daemon=True).start()
        self._queue.put((task, future))

    def hold(self, task: StepTask) -> StepHandle:
        """A handle for ``task`` that the caller's thread may run with :meth:`run_held` (a
        task with a timeout is submitted to a thread as usual: only a thread can be
        abandoned)."""
        if task.timeout:
            return self.submit(task)
        return _ThreadHandle(task, concurrent.futures.Future(), held=True)

    def run_held(self, handle: StepHandle) -> None:
        """Run a task from :meth:`hold` in this thread, as a step thread would; an interrupt
        (``KeyboardInterrupt``, ``SystemExit``) ends it and is raised again."""
        if not isinstance(handle, _ThreadHandle) or not handle.held:
            return
        handle.held = False
        future = handle.future
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(handle.task.function(handle.task.payload))
        except BaseException as exc:  # reported as the step's failure
            future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise

    def start_held(self, handle: StepHandle) -> None:
        """Hand a task from :meth:`hold` to a step thread, as :meth:`submit` does."""
        if isinstance(handle, _ThreadHandle) and handle.held:
            handle.held = False
            self._start(handle.task, handle.future)

    def wait(self, handles: Sequence[StepHandle], timeout: float) -> list[StepHandle]:
        threads = [h for h in handles if isinstance(h, _ThreadHandle)]
        for handle in threads:  # held and never run: a thread runs it
            self.start_held(handle)
        finished = [h for h in handles if h.done()]
        if finished or not threads:
            return finished
        deadlines = [d for d in (h.deadline() for h in threads) if d is not None]
        if deadlines:
            timeout = min(timeout, max(0.0, min(deadlines) - time.monotonic()) + 0.001)
        concurrent.futures.wait(
            [h.future for h in threads],
            timeout=timeout,
            return_when=concurrent.futures.FIRST_COMPLETED,
        )
        return [h for h in handles if h.done()]

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            idle = self._idle
        for _ in range(idle):
            self._queue.put(None)
