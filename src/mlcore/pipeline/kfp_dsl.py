"""KFP's DSL names on mlcore's tracer: ``ParallelFor``, ``If``/``Elif``/``Else`` (and the
older ``Condition``), ``ExitHandler``, ``importer``.

They are context managers over the same tracing as ``for_each``, ``when`` and
``exit_handler``: a pipeline written with either set compiles to the same IR. ``Elif`` and
``Else`` hold when every earlier branch of their chain does not, as in KFP: each adds the
negated conditions of the branches before it.
"""

from __future__ import annotations

import contextlib
from types import TracebackType
from typing import Any

from mlcore.errors import InvalidInputError
from mlcore.pipeline.dsl import (
    Comparison,
    LoopItem,
    Ref,
    Task,
    _Tracer,
    current_tracer,
    exit_handler,
    for_each,
)

__all__ = ["Condition", "Elif", "Else", "ExitHandler", "If", "ParallelFor", "importer"]

_NEGATED = {
    "==": "!=",
    "!=": "==",
    "<": ">=",
    "<=": ">",
    ">": "<=",
    ">=": "<",
    "truthy": "falsy",
    "falsy": "truthy",
}


class _Block:
    """A ``with`` block that enters a context manager of ``dsl``."""

    _inner: contextlib.AbstractContextManager[Any]

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._inner.__exit__(kind, value, traceback)


class ParallelFor(_Block):
    """``with ParallelFor(items, parallelism=2) as item:`` runs the steps of the block once
    per item (``parallelism`` 0 or None: no limit). Collect a step's outputs after the block
    with ``Collected(step.output)``."""

    def __init__(self, items: Any, parallelism: int | None = None, name: str | None = None):
        self._inner = for_each(items, parallelism=parallelism)

    def __enter__(self) -> LoopItem:
        item: LoopItem = self._inner.__enter__()
        return item


def _comparison(condition: Any, what: str) -> Comparison:
    if isinstance(condition, Ref):
        return Comparison(condition, "truthy", None)
    if not isinstance(condition, Comparison):
        raise InvalidInputError(
            f"{what} takes a comparison of pipeline values (e.g. task.output == 'heads'), got "
            f"{condition!r:.60}"
        )
    return condition


def _negated(condition: Comparison) -> Comparison:
    return Comparison(condition.left, _NEGATED[condition.op], condition.right)


def _scope(tracer: _Tracer) -> int:
    return hash((len(tracer.conditions), len(tracer.loop_stack), len(tracer.guards)))


class _Branch(_Block):
    def __init__(self) -> None:
        self._tracer: _Tracer | None = None
        self._pushed: list[Comparison] = []
        self._chain: list[Comparison] | None = None  # what the next Elif/Else negates

    def _enter(
        self, tracer: _Tracer, pushed: list[Comparison], chain: list[Comparison] | None
    ) -> None:
        self._tracer, self._pushed, self._chain = tracer, pushed, chain
        tracer.conditions.extend(pushed)
        tracer.if_chain = None

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        tracer = self._tracer
        if tracer is None:
            return
        del tracer.conditions[len(tracer.conditions) - len(self._pushed) :]
        tracer.if_chain = (_scope(tracer), self._chain) if self._chain is not None else None


class If(_Branch):
    """``with If(task.output == 'heads'):`` the steps of the block run only when the
    condition holds at run time."""

    def __init__(self, condition: Any, name: str | None = None) -> None:
        super().__init__()
        self._condition = _comparison(condition, type(self).__name__)

    def __enter__(self) -> None:
        self._enter(current_tracer(), [self._condition], [self._condition])


class Condition(If):
    """KFP's older name for :class:`If`."""


def _chain(tracer: _Tracer, what: str) -> list[Comparison]:
    chain = tracer.if_chain
    if chain is None or chain[0] != _scope(tracer):
        raise InvalidInputError(f"{what} must come right after an If or Elif block")
    return list(chain[1])


class Elif(_Branch):
    """``with Elif(cond):`` after an ``If``/``Elif``: holds when ``cond`` does and no
    earlier branch of the chain did."""

    def __init__(self, condition: Any, name: str | None = None) -> None:
        super().__init__()
        self._condition = _comparison(condition, "Elif")

    def __enter__(self) -> None:
        tracer = current_tracer()
        earlier = _chain(tracer, "Elif")
        pushed = [*map(_negated, earlier), self._condition]
        self._enter(tracer, pushed, [*earlier, self._condition])


class Else(_Branch):
    """``with Else():`` after an ``If``/``Elif``: holds when no earlier branch did."""

    def __init__(self, name: str | None = None) -> None:
        super().__init__()

    def __enter__(self) -> None:
        tracer = current_tracer()
        self._enter(tracer, [_negated(c) for c in _chain(tracer, "Else")], None)


class ExitHandler(_Block):
    """``with ExitHandler(exit_task):`` ``exit_task`` runs once every step of the block
    has ended, whatever became of them; a ``PipelineTaskFinalStatus`` parameter tells it."""

    def __init__(self, exit_task: Task, name: str | None = None) -> None:
        self._inner = exit_handler(exit_task)

    def __enter__(self) -> None:
        self._inner.__enter__()


class _Imported:
    """What ``importer`` returns: ``.output`` (or ``.outputs["artifact"]``) is the artifact,
    passed to a step's artifact input by its URI."""

    def __init__(self, uri: Any, artifact_class: Any, metadata: dict[str, Any] | None) -> None:
        self.uri, self.artifact_class, self.metadata = uri, artifact_class, metadata or {}

    @property
    def output(self) -> Any:
        return self.uri

    @property
    def outputs(self) -> dict[str, Any]:
        return {"artifact": self.uri}

    def __repr__(self) -> str:
        return f"<importer {self.uri!r}>"


def importer(
    artifact_uri: Any,
    artifact_class: Any = None,
    reimport: bool = False,
    metadata: dict[str, Any] | None = None,
) -> _Imported:
    """An existing file or URI (or a ``str`` pipeline parameter holding one) as an artifact
    input of later steps: ``importer(uri, Dataset).output``. mlcore hashes what it reads,
    so a changed file is a cache miss whatever ``reimport`` says."""
    current_tracer()
    if not isinstance(artifact_uri, (str, Ref)):
        raise InvalidInputError(
            f"importer() takes a URI or a str pipeline parameter, got {artifact_uri!r:.60}",
            field="artifact_uri",
        )
    if isinstance(artifact_uri, Ref) and artifact_uri.type not in ("str", "any"):
        raise InvalidInputError(
            f"importer() needs a str value, got a {artifact_uri.type}", field="artifact_uri"
        )
    return _Imported(artifact_uri, artifact_class, metadata)
