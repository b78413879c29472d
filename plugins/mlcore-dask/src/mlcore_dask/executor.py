"""``DaskExecutor``: each step attempt is a Dask task (``client.submit``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any, ClassVar

from mlcore.errors import InvalidInputError
from mlcore.executors import Executor, StepHandle, StepOutcome, StepTask


class _DaskHandle(StepHandle):
    def __init__(self, task: StepTask, future: Any) -> None:
        super().__init__(task)
        self.future = future
        self.cancelled = False
        self.timed_out = False

    def _past_deadline(self) -> bool:
        deadline = self.deadline()
        return deadline is not None and time.monotonic() > deadline

    def done(self) -> bool:
        if self.cancelled or self.timed_out or self.future.done():
            return True
        if self._past_deadline():
            self.timed_out = True
            self.future.cancel()  # a queued task never starts; a running one is abandoned
            return True
        return False

    def outcome(self) -> StepOutcome:
        if self.cancelled:
            return StepOutcome("cancelled", error="cancelled")
        if self.timed_out:
            return StepOutcome("timeout", error=f"timed out after {self.task.timeout:g}s")
        status = self.future.status
        if status == "finished":
            return StepOutcome("succeeded", value=self.future.result())
        if status == "cancelled":
            return StepOutcome("cancelled", error="the Dask task was cancelled")
        error = self.future.exception()
        name = type(error).__name__
        if name == "KilledWorker":
            return StepOutcome(
                "crashed",
                error=f"the Dask worker running it died ({name}: {error})",
            )
        return StepOutcome("failed", error=f"{name}: {error}")

    def cancel(self) -> None:
        self.cancelled = True
        self.future.cancel()


class DaskExecutor(Executor):
    """Steps as tasks on a Dask cluster.

    Options:
        address: the scheduler (``tcp://host:8786``); without it and without ``client`` a
            ``LocalCluster`` is started and closed with the executor.
        client: an existing ``distributed.Client`` (not closed by the executor).
        max_parallel: steps at once (default: the cluster's worker threads).
        resources: Dask worker resources each step requires, e.g. ``{"GPU": 1}``.
        connect_timeout: seconds to wait for the scheduler.
    """

    name: ClassVar[str] = "dask"

    def __init__(
        self,
        address: str | None = None,
        *,
        client: Any = None,
        max_parallel: int | None = None,
        resources: dict[str, float] | None = None,
        connect_timeout: float = 10.0,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        try:
            import distributed
        except ImportError as exc:  # pragma: no cover - a dependency of this package
            raise InvalidInputError("the dask executor needs `pip install distributed`") from exc
        if max_parallel is not None and (not isinstance(max_parallel, int) or max_parallel < 1):
            raise InvalidInputError("max_parallel must be a positive integer", field="max_parallel")
        Client: Any = distributed.Client
        LocalCluster: Any = distributed.LocalCluster
        self._cluster = None
        self._owns_client = client is None
        if client is not None:
            self.client = client
        elif address is not None:
            try:
                self.client = Client(address, timeout=connect_timeout, set_as_default=False)
            except OSError as exc:
                raise InvalidInputError(
                    f"cannot reach the Dask scheduler at {address}: {exc}", field="address"
                ) from exc
        else:
            self._cluster = LocalCluster(
                processes=True, dashboard_address=None, host="127.0.0.1", threads_per_worker=1
            )
            self.client = Client(self._cluster, set_as_default=False)
        self.resources = dict(resources or {})
        self._changed = threading.Condition()
        threads = sum(self.client.nthreads().values()) or 1
        self._capacity = max_parallel or threads

    @property
    def capacity(self) -> int:
        return self._capacity

    def submit(self, task: StepTask) -> StepHandle:
        future = self.client.submit(
            task.function,
            task.payload,
            key=f"mlcore-{task.name}-{task.id}",
            pure=False,
            retries=0,  # the pipeline runner owns retries
            resources=self.resources or None,
        )
        future.add_done_callback(self._notify)
        return _DaskHandle(task, future)

    def _notify(self, _future: Any) -> None:
        with self._changed:
            self._changed.notify_all()

    def wait(self, handles: Sequence[StepHandle], timeout: float) -> list[StepHandle]:
        deadlines = [d for d in (h.deadline() for h in handles) if d is not None]
        if deadlines:
            timeout = min(timeout, max(0.0, min(deadlines) - time.monotonic()) + 0.01)
        with self._changed:
            self._changed.wait_for(lambda: any(h.done() for h in handles), timeout=timeout)
        return [h for h in handles if h.done()]

    def close(self) -> None:
        if self._owns_client:
            self.client.close()
        if self._cluster is not None:
            self._cluster.close()
