"""``Executor``: where a pipeline step (or a sweep trial) runs.

An executor gets a :class:`StepTask` — an opaque payload, the function to call with it, and
the command line that does the same in a fresh process (for container executors) — and
reports a :class:`StepOutcome`. It knows nothing of pipelines: the pipeline runner and the
sweep engine are the same code whatever the executor.

Built in: ``local`` (threads in this process) and ``process`` (a pool of spawned worker
processes). Plugins: ``dask`` (mlcore-dask), ``kubernetes`` (mlcore-kubernetes).
"""

from __future__ import annotations

import abc
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

__all__ = ["Executor", "StepHandle", "StepOutcome", "StepTask"]

Status = Literal["succeeded", "failed", "timeout", "crashed", "cancelled", "rejected"]


@dataclass
class StepTask:
    """One attempt of one step.

    Attributes:
        id: unique per attempt (used in names and labels).
        name: the step's name (for people).
        function: called as ``function(payload)`` by in-process and process executors; returns
            bytes (the step's result).
        payload: what the step needs, opaque to the executor.
        command: the same step as a command line (``python -m mlcore.pipeline.worker ...``),
            for executors that start containers.
        timeout: seconds the attempt may take; past it the executor stops it.
    """

    id: str
    name: str
    function: Callable[[bytes], bytes]
    payload: bytes
    command: list[str] = field(default_factory=list)
    timeout: float | None = None
    image: str | None = None
    resources: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class StepOutcome:
    """How an attempt ended; ``value`` is what the function returned when it succeeded."""

    status: Status
    value: bytes | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"


class StepHandle(abc.ABC):
    """A submitted attempt."""

    #: from :meth:`Executor.hold`: not started until :meth:`Executor.run_held` or
    #: :meth:`Executor.start_held`
    held: bool = False

    def __init__(self, task: StepTask) -> None:
        self.task = task
        self.started = time.monotonic()

    @abc.abstractmethod
    def done(self) -> bool:
        """Whether the attempt has ended (including by timeout or cancellation)."""

    @abc.abstractmethod
    def outcome(self) -> StepOutcome:
        """The outcome; only valid once ``done()``."""

    @abc.abstractmethod
    def cancel(self) -> None:
        """Stop the attempt (its outcome becomes ``cancelled``)."""

    def deadline(self) -> float | None:
        return self.started + self.task.timeout if self.task.timeout else None


class Executor(abc.ABC):
    """Runs step attempts; at most ``capacity`` at once."""

    name: ClassVar[str] = ""

    def __init__(self, **options: Any) -> None:
        self.options = options

    @property
    @abc.abstractmethod
    def capacity(self) -> int:
        """How many attempts may run at once."""

    @abc.abstractmethod
    def submit(self, task: StepTask) -> StepHandle:
        """Start ``task`` (the caller keeps within ``capacity``)."""

    def hold(self, task: StepTask) -> StepHandle:
        """Like :meth:`submit`, but an executor that can run ``task`` in the caller's thread
        may hold it (a ``held`` handle) until the caller says where it runs: here
        (:meth:`run_held`) or as usual (:meth:`start_held`). By default: :meth:`submit`."""
        return self.submit(task)

    def run_held(self, handle: StepHandle) -> None:  # noqa: B027 - optional hook
        """Run a held attempt in the calling thread (returns when it has ended)."""

    def start_held(self, handle: StepHandle) -> None:  # noqa: B027 - optional hook
        """Start a held attempt as :meth:`submit` would have."""

    def wait(self, handles: Sequence[StepHandle], timeout: float) -> list[StepHandle]:
        """Handles that are done, waiting up to ``timeout`` seconds for at least one."""
        deadline = time.monotonic() + timeout
        while True:
            finished = [h for h in handles if h.done()]
            if finished or time.monotonic() >= deadline:
                return finished
            time.sleep(min(0.005, max(0.0, deadline - time.monotonic())))

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release workers and connections."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
