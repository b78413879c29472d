"""The pipeline DSL: ``@component``, ``@pipeline``, ``for_each``, ``when``, ``exit_handler``,
and KFP's names for the same things (``ParallelFor``, ``If``/``Elif``/``Else``,
``ExitHandler``, ``importer``...: see ``kfp_dsl``), so ``from mlcore.pipeline import dsl``
runs code written for ``from kfp import dsl``.

A ``@pipeline`` function is traced once, when it is decorated: its parameters are
placeholders, and each component call records a task. What flows between tasks are
references (pipeline parameters, task outputs, loop items), so mistakes are found at once and
named: a missing or unknown argument, a value of the wrong type, an unknown output, a cycle.
"""

from __future__ import annotations

import contextlib
import contextvars
import itertools
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from mlcore.errors import InvalidInputError
from mlcore.pipeline.components import RETURN_OUTPUT, component_spec
from mlcore.pipeline.spec import (
    ArgSpec,
    ComponentSpec,
    ConditionSpec,
    LoopSpec,
    ParamSpec,
    TaskSpec,
)
from mlcore.pipeline.task_options import TaskOptions
from mlcore.pipeline.types import (
    HTML,
    Artifact,
    ClassificationMetrics,
    Dataset,
    Input,
    InputPath,
    Markdown,
    Metrics,
    Model,
    Output,
    OutputPath,
    PipelineStatus,
    PipelineTaskFinalStatus,
    SlicedClassificationMetrics,
)

__all__ = [
    "HTML",
    "Artifact",
    "ClassificationMetrics",
    "Collected",
    "Component",
    "Condition",
    "ContainerSpec",
    "Dataset",
    "Elif",
    "Else",
    "ExitHandler",
    "If",
    "Input",
    "InputPath",
    "Markdown",
    "Metrics",
    "Model",
    "Output",
    "OutputPath",
    "ParallelFor",
    "PipelineStatus",
    "PipelineTask",
    "PipelineTaskFinalStatus",
    "SlicedClassificationMetrics",
    "Task",
    "component",
    "container_component",
    "exit_handler",
    "for_each",
    "importer",
    "pipeline",
    "when",
]

#: KFP's names, defined in ``kfp_dsl`` (which builds on this module) or ``pipeline``.
_LAZY = {
    "ContainerSpec": "mlcore.pipeline.container_dsl",
    "container_component": "mlcore.pipeline.container_dsl",
    "Condition": "mlcore.pipeline.kfp_dsl",
    "Elif": "mlcore.pipeline.kfp_dsl",
    "Else": "mlcore.pipeline.kfp_dsl",
    "ExitHandler": "mlcore.pipeline.kfp_dsl",
    "If": "mlcore.pipeline.kfp_dsl",
    "ParallelFor": "mlcore.pipeline.kfp_dsl",
    "importer": "mlcore.pipeline.kfp_dsl",
    "pipeline": "mlcore.pipeline.pipeline",
}


if TYPE_CHECKING:
    from mlcore.pipeline.container_dsl import ContainerSpec, container_component
    from mlcore.pipeline.kfp_dsl import (
        Condition,
        Elif,
        Else,
        ExitHandler,
        If,
        ParallelFor,
        importer,
    )
    from mlcore.pipeline.pipeline import pipeline


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


_tracer: contextvars.ContextVar[_Tracer | None] = contextvars.ContextVar(
    "mlcore_pipeline_tracer", default=None
)


# -- references: what flows between tasks -------------------------------------------------------
class Ref:
    """A value known only when the pipeline runs. Comparisons build ``when`` conditions."""

    type: str = "any"

    def arg(self) -> ArgSpec:
        raise NotImplementedError

    def _compare(self, op: str, other: Any) -> Comparison:
        return Comparison(self, op, other)

    def __eq__(self, other: Any) -> Comparison:  # type: ignore[override]
        return self._compare("==", other)

    def __ne__(self, other: Any) -> Comparison:  # type: ignore[override]
        return self._compare("!=", other)

    def __lt__(self, other: Any) -> Comparison:
        return self._compare("<", other)

    def __le__(self, other: Any) -> Comparison:
        return self._compare("<=", other)

    def __gt__(self, other: Any) -> Comparison:
        return self._compare(">", other)

    def __ge__(self, other: Any) -> Comparison:
        return self._compare(">=", other)

    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        raise InvalidInputError(
            "a pipeline value is only known when the pipeline runs: use `with when(...)` "
            "instead of `if`"
        )


class PipelineParam(Ref):
    def __init__(self, name: str, type_name: str) -> None:
        self.name, self.type = name, type_name

    def arg(self) -> ArgSpec:
        return ArgSpec(param=self.name)

    def __repr__(self) -> str:
        return f"<pipeline parameter {self.name}>"


class TaskOutput(Ref):
    def __init__(self, task: Task, output: ParamSpec) -> None:
        self.task, self.output, self.type = task, output.name, output.type
        self.kind = output.kind

    def arg(self) -> ArgSpec:
        return ArgSpec(task=self.task.name, output=self.output)

    def __repr__(self) -> str:
        return f"<output {self.output!r} of {self.task.name}>"


class LoopItem(Ref):
    def __init__(self, loop: str, field: str | None = None) -> None:
        self.loop, self.field = loop, field

    def __getitem__(self, key: str) -> LoopItem:
        return LoopItem(self.loop, key)

    def __getattr__(self, key: str) -> LoopItem:
        if key.startswith("_"):
            raise AttributeError(key)
        return LoopItem(self.loop, key)

    def arg(self) -> ArgSpec:
        return ArgSpec(loop_item=self.loop, field=self.field)


class Collected(Ref):
    """Every iteration's value of a looped task's output, as a list (fan-in):
    ``Collected(t.output)`` after a ``ParallelFor`` (KFP), or ``t.collect()``."""

    type = "list"

    def __init__(self, source: Task | TaskOutput, output: str | None = None) -> None:
        if isinstance(source, TaskOutput):
            output = source.output
            source = source.task
        if not isinstance(source, Task):
            raise InvalidInputError(f"Collected() takes an output of a looped step, got {source!r}")
        task = source
        if task.loop is None:
            raise InvalidInputError(
                f"step {task.name!r} is not inside ParallelFor/for_each: nothing to collect",
                field=task.name,
            )
        task.outputs[output or RETURN_OUTPUT]  # an unknown output is named here
        self.task, self.output = task, output or RETURN_OUTPUT

    def arg(self) -> ArgSpec:
        return ArgSpec(collect=self.task.name, output=self.output)


class Comparison:
    def __init__(self, left: Ref, op: str, right: Any) -> None:
        self.left, self.op, self.right = left, op, right

    def spec(self) -> ConditionSpec:
        right = self.right.arg() if isinstance(self.right, Ref) else ArgSpec(constant=self.right)
        return ConditionSpec(left=self.left.arg(), op=self.op, right=right)  # type: ignore[arg-type]

    def refs(self) -> list[Ref]:
        return [r for r in (self.left, self.right) if isinstance(r, Ref)]

    def __bool__(self) -> bool:
        raise InvalidInputError(
            "a pipeline value is only known when the pipeline runs: use `with when(...)` "
            "instead of `if`"
        )


# -- tasks ---------------------------------------------------------------------------------------
class Task(TaskOptions):
    """A step of a pipeline: a component with its arguments (KFP: a ``PipelineTask``)."""

    def __init__(self, tracer: _Tracer, name: str, component: Component) -> None:
        self._tracer = tracer
        self.name = name
        self.component = component
        self.arguments: dict[str, Any] = {}
        self.dependencies: set[str] = set()
        self.loop: str | None = None
        self.conditions: list[Comparison] = []
        self.exit_for: list[str] | None = None
        self.display_name: str | None = None

    def __repr__(self) -> str:
        return f"<Task {self.name}>"

    @property
    def outputs(self) -> _Outputs:
        """``task.outputs["name"]``: an output parameter or artifact of the step."""
        return _Outputs(self)

    @property
    def output(self) -> TaskOutput:
        """The step's return value (its ``Output``)."""
        spec = self.component.spec.output(RETURN_OUTPUT)
        if spec is None:
            names = [o.name for o in self.component.spec.outputs]
            raise InvalidInputError(
                f"step {self.name!r} returns nothing; its outputs are {names or 'none'}",
                field=self.name,
            )
        return TaskOutput(self, spec)

    def after(self, *tasks: Task) -> Task:
        """Run this step after ``tasks`` even without data flowing between them."""
        for task in tasks:
            if not isinstance(task, Task):
                raise InvalidInputError(f"after() takes tasks, got {task!r}", field=self.name)
            self.dependencies.add(task.name)
        return self

    def collect(self, output: str = RETURN_OUTPUT) -> Collected:
        """Fan-in: the list of this looped step's ``output`` over every iteration."""
        if self.loop is None:
            raise InvalidInputError(
                f"step {self.name!r} is not inside for_each: nothing to collect", field=self.name
            )
        self.outputs[output]
        return Collected(self, output)

    def spec(self) -> TaskSpec:
        arguments = {
            name: value.arg() if isinstance(value, Ref) else ArgSpec(constant=value)
            for name, value in self.arguments.items()
        }
        return TaskSpec(
            name=self.name,
            component=self.component.key,
            arguments=arguments,
            after=sorted(self.dependencies),
            loop=self.loop,
            conditions=[c.spec() for c in self.conditions],
            exit_for=self.exit_for,
            display_name=self.display_name,
        )


class _Outputs:
    def __init__(self, task: Task) -> None:
        self._task = task

    def __getitem__(self, name: str) -> TaskOutput:
        spec = self._task.component.spec.output(name)
        if spec is None:
            names = [o.name for o in self._task.component.spec.outputs]
            raise InvalidInputError(
                f"step {self._task.name!r} has no output {name!r}; its outputs are "
                f"{', '.join(names) or 'none'}",
                field=name,
            )
        return TaskOutput(self._task, spec)


# -- type rules ----------------------------------------------------------------------------------
def _constant_fits(value: Any, spec: ParamSpec) -> bool:
    if value is None:
        return spec.optional
    if spec.kind == "artifact":
        return isinstance(value, str)  # a URI or path of an existing artifact (importer)
    checks: dict[str, Callable[[Any], bool]] = {
        "str": lambda v: isinstance(v, str),
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "bool": lambda v: isinstance(v, bool),
        "list": lambda v: isinstance(v, (list, tuple)),
        "dict": lambda v: isinstance(v, dict),
    }
    return checks.get(spec.type, lambda v: True)(value)


def _types_fit(source: str, source_kind: str, target: ParamSpec) -> bool:
    if target.kind == "artifact":
        if source_kind == "artifact":
            return source == target.type or "Artifact" in (source, target.type)
        return source == "str"  # a pipeline parameter holding a URI
    if source_kind == "artifact":
        return False
    return source == target.type or (source, target.type) == ("int", "float") or (source == "any")


# -- tracing ---------------------------------------------------------------------------------------
class _Tracer:
    def __init__(self) -> None:
        self.tasks: dict[str, Task] = {}
        self.components: dict[str, ComponentSpec] = {}
        self.loops: dict[str, LoopSpec] = {}
        self.loop_stack: list[str] = []
        self.conditions: list[Comparison] = []
        self.guards: list[Task] = []
        self.guarded: dict[str, list[str]] = {}
        self._loop_ids = itertools.count(1)
        # KFP's If/Elif: the conditions of the chain just closed, which Elif/Else negate
        self.if_chain: tuple[int, list[Comparison]] | None = None

    def unique_name(self, base: str) -> str:
        if base not in self.tasks:
            return base
        for n in itertools.count(2):
            candidate = f"{base}-{n}"
            if candidate not in self.tasks:
                return candidate
        raise AssertionError  # pragma: no cover

    def add(self, component: Component, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Task:
        spec = component.spec
        task = Task(self, self.unique_name(spec.name), component)
        where = f"step {task.name!r}"
        inputs = [p for p in spec.inputs if p.kind != "status"]
        if len(args) > len(inputs):
            raise InvalidInputError(f"{where}: too many positional arguments", field=task.name)
        given = dict(zip((p.name for p in inputs), args))
        for name, value in kwargs.items():
            if name in given:
                raise InvalidInputError(f"{where}: argument {name!r} given twice", field=name)
            given[name] = value
        for name, value in given.items():
            param = spec.input(name)
            if param is None or param.kind == "status":
                if spec.output(name) is not None:
                    raise InvalidInputError(
                        f"{where}: {name!r} is an output of {spec.name!r}; the step writes it",
                        field=name,
                    )
                known = ", ".join(p.name for p in inputs) or "none"
                raise InvalidInputError(
                    f"{where}: unknown argument {name!r} (inputs: {known})", field=name
                )
            self._check_argument(task, param, value)
            task.arguments[name] = value
        missing = [p.name for p in inputs if p.name not in given and not p.optional]
        if missing:
            raise InvalidInputError(
                f"{where}: missing argument(s) {', '.join(map(repr, missing))}", field=missing[0]
            )
        task.loop = self.loop_stack[-1] if self.loop_stack else None
        task.conditions = list(self.conditions)
        self.if_chain = None  # a step between an If and an Elif/Else breaks the chain
        for condition in task.conditions:
            for ref in condition.refs():
                if isinstance(ref, TaskOutput):
                    task.dependencies.add(ref.task.name)
        for guard in self.guards:
            self.guarded[guard.name].append(task.name)
        self.components[component.key] = spec
        self.tasks[task.name] = task
        return task

    def _check_argument(self, task: Task, param: ParamSpec, value: Any) -> None:
        where = f"step {task.name!r} argument {param.name!r}"
        if isinstance(value, Task):
            raise InvalidInputError(
                f"{where}: pass an output of {value.name!r} (.output or .outputs[...]), "
                "not the step itself",
                field=param.name,
            )
        if isinstance(value, TaskOutput):
            producer = value.task
            if producer.name not in self.tasks or self.tasks[producer.name] is not producer:
                raise InvalidInputError(f"{where}: {producer.name!r} is not in this pipeline")
            if producer.loop is not None and producer.loop not in self.loop_stack:
                raise InvalidInputError(
                    f"{where}: {producer.name!r} runs once per for_each item; pass "
                    f"{producer.name}.collect() to get all its values",
                    field=param.name,
                )
            if not _types_fit(value.type, value.kind, param):
                raise InvalidInputError(
                    f"{where}: expects {param.type}, but output {value.output!r} of "
                    f"{producer.name!r} is {value.type}",
                    field=param.name,
                )
            task.dependencies.add(producer.name)
        elif isinstance(value, Collected):
            if param.type != "list":
                raise InvalidInputError(
                    f"{where}: collected values are a list, the input is {param.type}",
                    field=param.name,
                )
            task.dependencies.add(value.task.name)
        elif isinstance(value, PipelineParam):
            if not _types_fit(value.type, "parameter", param):
                raise InvalidInputError(
                    f"{where}: expects {param.type}, but pipeline parameter {value.name!r} is "
                    f"{value.type}",
                    field=param.name,
                )
        elif isinstance(value, LoopItem):
            if value.loop not in self.loop_stack:
                raise InvalidInputError(f"{where}: a for_each item used outside its loop")
        elif isinstance(value, Ref):  # pragma: no cover - every Ref kind is handled above
            raise InvalidInputError(f"{where}: unsupported value {value!r}")
        elif not _constant_fits(value, param):
            raise InvalidInputError(
                f"{where}: expects {param.type}, got {type(value).__name__} {value!r:.60}",
                field=param.name,
            )


def current_tracer() -> _Tracer:
    tracer = _tracer.get()
    if tracer is None:
        raise InvalidInputError(
            "components are called inside a @pipeline function; call component.func(...) to "
            "run the plain function"
        )
    return tracer


@contextlib.contextmanager
def tracing() -> Iterator[_Tracer]:
    tracer = _Tracer()
    token = _tracer.set(tracer)
    try:
        yield tracer
    finally:
        _tracer.reset(token)


# -- public DSL ------------------------------------------------------------------------------------
class Component:
    """A component: call it inside a ``@pipeline`` function to add a step."""

    def __init__(self, func: Callable[..., Any], options: dict[str, Any]) -> None:
        self.func = func
        self.spec = component_spec(func, options)
        self.key = f"{self.spec.name}-{self.spec.code.digest[:8]}"
        self.__doc__ = func.__doc__
        self.__name__ = func.__name__
        self.__qualname__ = func.__qualname__
        self.__module__ = func.__module__

    def __repr__(self) -> str:
        return f"<Component {self.spec.name}>"

    def __call__(self, *args: Any, **kwargs: Any) -> Task:
        return current_tracer().add(self, args, kwargs)


def component(
    func: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    retries: int = 0,
    retry_backoff: float = 1.0,
    timeout: float | None = None,
    cache: bool = True,
    image: str | None = None,
    resources: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
    base_image: str | None = None,
    packages_to_install: list[str] | None = None,
    pip_index_urls: list[str] | None = None,
    target_image: str | None = None,
    output_component_file: str | None = None,
    install_kfp_package: bool = True,
    kfp_package_path: str | None = None,
) -> Any:
    """Turn a typed function into a pipeline component.

    Args:
        retries: extra attempts after a failure (with exponential backoff from
            ``retry_backoff`` seconds).
        timeout: seconds an attempt may take.
        cache: reuse the outputs of an earlier run with the same code and inputs.
        image: container image (the Kubernetes executor).
        resources: e.g. ``{"cpu": "2", "memory": "4Gi"}`` (requests = limits on Kubernetes).
        env: environment variables for the step.
        base_image: KFP's name for ``image``.
        packages_to_install, pip_index_urls: pip requirements the code needs (recorded;
            a step whose environment lacks them fails, naming them).
        target_image, output_component_file, install_kfp_package, kfp_package_path:
            accepted for KFP code, and ignored (nothing installs KFP).
    """
    if image is not None and base_image is not None and image != base_image:
        raise InvalidInputError("give image or base_image, not both", field="base_image")
    options = {
        "name": name,
        "retries": retries,
        "retry_backoff": retry_backoff,
        "timeout": timeout,
        "cache": cache,
        "image": image or base_image,
        "resources": resources,
        "env": env,
        "packages": packages_to_install,
        "pip_index_urls": pip_index_urls,
    }

    def wrap(function: Callable[..., Any], depth: int = 1) -> Component:
        # names visible where the function is defined resolve string annotations
        # (``from __future__ import annotations`` inside a function or a notebook cell)
        frame = sys._getframe(depth)
        return Component(function, {**options, "localns": dict(frame.f_locals)})

    return wrap(func, 2) if func is not None else wrap


@contextlib.contextmanager
def for_each(items: Any, parallelism: int | None = None) -> Iterator[LoopItem]:
    """Fan out: the steps created in the block run once per item (at most ``parallelism``
    at a time). ``items`` is a list, a list pipeline parameter or a step's list output."""
    tracer = current_tracer()
    if tracer.loop_stack:
        raise InvalidInputError("nested for_each is not supported")
    if parallelism == 0:  # KFP: 0 is no limit
        parallelism = None
    if parallelism is not None and (not isinstance(parallelism, int) or parallelism < 1):
        raise InvalidInputError("parallelism must be a positive integer", field="parallelism")
    if isinstance(items, Ref):
        if getattr(items, "type", "list") not in ("list", "any"):
            raise InvalidInputError(f"for_each needs a list, got a {items.type} value")
        arg = items.arg()
    elif isinstance(items, (list, tuple)):
        arg = ArgSpec(constant=list(items))
    else:
        raise InvalidInputError(f"for_each needs a list, got {type(items).__name__}")
    loop_id = f"loop-{next(tracer._loop_ids)}"
    tracer.loops[loop_id] = LoopSpec(items=arg, parallelism=parallelism)
    tracer.loop_stack.append(loop_id)
    try:
        yield LoopItem(loop_id)
    finally:
        tracer.loop_stack.pop()


@contextlib.contextmanager
def when(condition: Comparison | Ref) -> Iterator[None]:
    """Run the steps created in the block only if ``condition`` holds at run time
    (``t.output > 0.9``, ``p == "prod"``, or a value that must be truthy)."""
    tracer = current_tracer()
    if isinstance(condition, Ref):
        condition = Comparison(condition, "truthy", None)
    if not isinstance(condition, Comparison):
        raise InvalidInputError(f"when() needs a comparison of pipeline values, got {condition!r}")
    tracer.conditions.append(condition)
    try:
        yield
    finally:
        tracer.conditions.pop()


@contextlib.contextmanager
def exit_handler(exit_task: Task) -> Iterator[None]:
    """``exit_task`` runs after every step created in the block has ended, whether they
    succeeded or not (a parameter typed ``PipelineStatus`` tells it how it went)."""
    tracer = current_tracer()
    if not isinstance(exit_task, Task) or tracer.tasks.get(exit_task.name) is not exit_task:
        raise InvalidInputError("exit_handler() takes a step created in this pipeline")
    if exit_task.name in tracer.guarded:
        raise InvalidInputError(f"step {exit_task.name!r} is already an exit handler")
    tracer.guarded[exit_task.name] = []
    tracer.guards.append(exit_task)
    try:
        yield
    finally:
        tracer.guards.pop()
        exit_task.exit_for = list(tracer.guarded[exit_task.name])
        if not exit_task.exit_for:
            raise InvalidInputError(f"exit handler {exit_task.name!r} guards no steps")


#: KFP's name for a step.
PipelineTask = Task
