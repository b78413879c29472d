"""The built-in executors against the executor conformance suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mlcore.executors import Executor, resolve_executor
from mlcore.testing import ExecutorConformance


class TestLocalExecutor(ExecutorConformance):
    stops_running_steps = False  # a thread cannot be stopped; it is reported and abandoned
    isolates_steps = False

    @pytest.fixture
    def executor(self) -> Iterator[Executor]:
        executor = resolve_executor("local", workers=4)
        yield executor
        executor.close()


class TestProcessExecutor(ExecutorConformance):
    @pytest.fixture
    def executor(self) -> Iterator[Executor]:
        executor = resolve_executor("process", workers=2)
        yield executor
        executor.close()
