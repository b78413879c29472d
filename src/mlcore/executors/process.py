"""``process``: steps run in a pool of worker processes.

Each worker is a fresh interpreter (``python -m mlcore.executors.process_worker``) running one
step at a time, reused for the next, started when work first needs it. Workers are not forked
and do not re-import the main module (so a script without ``if __name__ == "__main__":``
works, unlike with ``multiprocessing`` spawn): functions travel with cloudpickle over a socket
pair.

A worker that dies while running a step (a segfault, ``os._exit``, the OOM killer) fails that
step's attempt as ``crashed`` and is replaced; a step past its timeout has its worker killed
and replaced. Other steps are not affected, unlike ``concurrent.futures.ProcessPoolExecutor``
where one dead worker breaks the whole pool.
"""

from __future__ import annotations

import collections
import json
import multiprocessing.connection
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any, ClassVar

from mlcore.errors import InvalidInputError
from mlcore.executors.base import Executor, StepHandle, StepOutcome, StepTask

__all__ = ["ProcessExecutor"]

SYS_PATH_ENV = "MLCORE_WORKER_SYS_PATH"


class _ProcessHandle(StepHandle):
    def __init__(self, task: StepTask, finished: threading.Condition) -> None:
        super().__init__(task)
        self.result: StepOutcome | None = None
        self.worker: _Worker | None = None
        self._finished = finished

    def finish(self, outcome: StepOutcome) -> None:
        if self.result is None:
            with self._finished:
                self.result = outcome
                self._finished.notify_all()

    def done(self) -> bool:
        return self.result is not None

    def outcome(self) -> StepOutcome:
        assert self.result is not None
        return self.result

    def cancel(self) -> None:
        self.executor_cancel(self)

    def executor_cancel(self, handle: _ProcessHandle) -> None:  # set by the executor
        raise NotImplementedError


class _Worker:
    def __init__(self) -> None:
        parent, child = socket.socketpair()
        env = dict(os.environ)
        env[SYS_PATH_ENV] = json.dumps([p for p in sys.path if p])
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "mlcore.executors.process_worker", str(child.fileno())],
                pass_fds=[child.fileno()],
                stdin=subprocess.DEVNULL,
                env=env,
            )
        finally:
            child.close()
        self.connection = multiprocessing.connection.Connection(parent.detach())
        self.handle: _ProcessHandle | None = None

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:  # pragma: no cover - a kill is not refused
            pass
        self.connection.close()


class ProcessExecutor(Executor):
    """A pool of spawned worker processes.

    Options:
        workers: how many processes (default: the number of CPUs, at least 2).
    """

    name: ClassVar[str] = "process"

    def __init__(self, workers: int | None = None, **options: Any) -> None:
        super().__init__(**options)
        if workers is not None and (not isinstance(workers, int) or workers < 1):
            raise InvalidInputError("workers must be a positive integer", field="workers")
        self._size = workers or max(2, os.cpu_count() or 2)
        self._lock = threading.RLock()
        self._queue: collections.deque[_ProcessHandle] = collections.deque()
        self._finished = threading.Condition()
        self._workers: list[_Worker] = []  # started on demand, up to `workers`
        self._closed = False
        self._wakeup_reader, self._wakeup_writer = multiprocessing.connection.Pipe(duplex=False)
        self._monitor = threading.Thread(
            target=self._watch, name="mlcore-process-executor", daemon=True
        )
        self._monitor.start()

    @property
    def capacity(self) -> int:
        return self._size

    # -- dispatch --------------------------------------------------------------------------------
    def submit(self, task: StepTask) -> StepHandle:
        import cloudpickle

        handle = _ProcessHandle(task, self._finished)
        handle.executor_cancel = self._cancel  # type: ignore[method-assign]
        handle.message = cloudpickle.dumps((task.function, task.payload))  # type: ignore[attr-defined]
        with self._lock:
            self._queue.append(handle)
            self._dispatch()
        return handle

    def _dispatch(self) -> None:
        idle = sum(1 for w in self._workers if w.handle is None)
        while not self._closed and len(self._workers) < self._size and idle < len(self._queue):
            self._workers.append(_Worker())
            idle += 1
        for index in range(len(self._workers)):
            if not self._queue:
                break
            worker = self._workers[index]
            if worker.handle is None and not worker.alive() and not self._closed:
                self._replace(worker, None)  # died while idle
                worker = self._workers[index]
            if worker.handle is None and worker.alive():
                handle = self._queue.popleft()
                handle.started = time.monotonic()
                try:
                    worker.connection.send_bytes(handle.message)  # type: ignore[attr-defined]
                except (BrokenPipeError, OSError):
                    self._queue.appendleft(handle)
                    self._replace(worker, None)
                    continue
                worker.handle, handle.worker = handle, worker
        self._poke()

    def _poke(self) -> None:
        try:
            self._wakeup_writer.send_bytes(b".")
        except OSError:  # pragma: no cover - closing
            pass

    def _replace(self, worker: _Worker, outcome: StepOutcome | None) -> None:
        handle = worker.handle
        worker.handle = None
        worker.stop()
        if handle is not None and outcome is not None:
            handle.finish(outcome)
        if not self._closed:
            self._workers[self._workers.index(worker)] = _Worker()

    def _cancel(self, handle: _ProcessHandle) -> None:
        with self._lock:
            if handle in self._queue:
                self._queue.remove(handle)
                handle.finish(StepOutcome("cancelled", error="cancelled"))
            elif handle.worker is not None and handle.worker.handle is handle:
                self._replace(handle.worker, StepOutcome("cancelled", error="cancelled"))
                self._dispatch()

    # -- monitoring ------------------------------------------------------------------------------
    def _watch(self) -> None:
        while not self._closed:
            with self._lock:
                busy = [w for w in self._workers if w.handle is not None]
                waitables: list[Any] = [self._wakeup_reader]
                for worker in busy:
                    waitables.append(worker.connection)
                deadlines = [
                    d for d in (w.handle.deadline() for w in busy if w.handle) if d is not None
                ]
            timeout = max(0.0, min(deadlines) - time.monotonic()) if deadlines else 1.0
            ready = multiprocessing.connection.wait(waitables, timeout=min(timeout, 1.0))
            with self._lock:
                if self._wakeup_reader in ready:
                    while self._wakeup_reader.poll():
                        self._wakeup_reader.recv_bytes()
                for worker in list(self._workers):
                    handle = worker.handle
                    if handle is None:
                        continue
                    kind: str | None = None
                    if worker.connection in ready or worker.connection.poll():
                        try:
                            kind, value = worker.connection.recv()
                        except (EOFError, OSError):
                            kind, value = "dead", None
                        if kind == "ok":
                            worker.handle = None
                            handle.finish(StepOutcome("succeeded", value=value))
                            continue
                        if kind == "error":
                            worker.handle = None
                            handle.finish(StepOutcome("failed", error=value))
                            continue
                    if kind == "dead" or not worker.alive():
                        try:
                            code: int | None = worker.process.wait(5)
                        except subprocess.TimeoutExpired:  # pragma: no cover - hung on exit
                            code = None
                        self._replace(
                            worker,
                            StepOutcome(
                                "crashed", error=f"the worker process died (exit code {code})"
                            ),
                        )
                        continue
                    deadline = handle.deadline()
                    if deadline is not None and time.monotonic() > deadline:
                        self._replace(
                            worker,
                            StepOutcome(
                                "timeout",
                                error=f"timed out after {handle.task.timeout:g}s; the "
                                "worker process was killed",
                            ),
                        )
                self._dispatch()

    def wait(self, handles: Sequence[StepHandle], timeout: float) -> list[StepHandle]:
        with self._finished:
            self._finished.wait_for(lambda: any(h.done() for h in handles), timeout=timeout)
        return [h for h in handles if h.done()]

    def close(self) -> None:
        if self._closed:
            return
        with self._lock:
            self._closed = True
            for handle in self._queue:
                handle.finish(StepOutcome("cancelled", error="executor closed"))
            self._queue.clear()
            for worker in self._workers:
                if worker.handle is not None:
                    worker.handle.finish(StepOutcome("cancelled", error="executor closed"))
                worker.stop()
        self._poke()
        self._monitor.join(5)
