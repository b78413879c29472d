"""Executors (SPI layer): where pipeline steps and sweep trials run.

Built-ins: ``local`` (threads) and ``process`` (spawned worker processes), in the
``mlcore.executors`` entry-point group; ``dask`` and ``kubernetes`` are plugins
(``plugins/mlcore-dask``, ``plugins/mlcore-kubernetes``).
"""

from __future__ import annotations

from typing import Any

from mlcore import plugins
from mlcore.errors import InvalidInputError
from mlcore.executors.base import Executor, StepHandle, StepOutcome, StepTask

__all__ = ["Executor", "StepHandle", "StepOutcome", "StepTask", "resolve_executor"]


def resolve_executor(executor: str | Executor, **options: Any) -> Executor:
    """An executor instance: given, or built from its name and options."""
    if isinstance(executor, Executor):
        if options:
            raise InvalidInputError("executor options go to the executor's constructor")
        return executor
    if not isinstance(executor, str):
        raise InvalidInputError(f"executor must be a name or an Executor, got {executor!r}")
    executor_class = plugins.load("mlcore.executors", executor, expect=Executor)
    try:
        built: Executor = executor_class(**options)
    except TypeError as exc:
        raise InvalidInputError(f"bad options for the {executor} executor: {exc}") from exc
    return built
