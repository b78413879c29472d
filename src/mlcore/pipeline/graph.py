"""The steps of one pipeline run: the instances of its tasks (one an iteration for looped
tasks, added once a loop's items are known), what each waits for, and the values of their
arguments and inputs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlcore.errors import InvalidInputError
from mlcore.executors import StepHandle
from mlcore.pipeline.cache import import_artifact
from mlcore.pipeline.results import FINAL, StepInfo
from mlcore.pipeline.spec import ArgSpec, ComponentSpec, PipelineSpec, TaskSpec
from mlcore.pipeline.worker import ArtifactRef, StepRequest

__all__ = ["StepGraph", "StepInstance"]


@dataclass
class StepInstance:
    """One step of the run (one iteration of a looped step) as the runner keeps it."""

    info: StepInfo
    task: TaskSpec
    component: ComponentSpec
    values: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, ArtifactRef] = field(default_factory=dict)
    handle: StepHandle | None = None
    not_before: float = 0.0
    request: StepRequest | None = None
    run_info: dict[str, Any] | None = None
    deps: list[str] | None = None


#: Ends an instance that cannot run: ``fail(instance, status, reason)``.
Fail = Callable[[StepInstance, str, str], None]


class StepGraph:
    """The instances of a pipeline run's tasks, by name, and the values between them.

    Attributes:
        instances: every instance added so far.
        waiting: those not started yet, or between attempts (the runner removes them).
        expanded: the items of each loop whose items are known.
        arguments: the bound pipeline arguments (see :meth:`bind`).
    """

    def __init__(self, spec: PipelineSpec) -> None:
        self.spec = spec
        self.tasks = {task.name: task for task in spec.tasks}
        self.instances: dict[str, StepInstance] = {}
        self.waiting: dict[str, StepInstance] = {}
        self.expanded: dict[str, list[Any]] = {}
        self.arguments: dict[str, Any] = {}

    # -- arguments -------------------------------------------------------------------------------
    def bind(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """Check the pipeline's arguments, with defaults for those not given; kept as
        :attr:`arguments` and returned."""
        from mlcore.pipeline.dsl import _constant_fits

        given = dict(arguments)
        bound = {}
        for param in self.spec.parameters:
            if param.name in given:
                value = given.pop(param.name)
            elif param.optional:
                value = param.default
            else:
                raise InvalidInputError(
                    f"pipeline {self.spec.name!r} needs argument {param.name!r}", field=param.name
                )
            if not _constant_fits(value, param):
                raise InvalidInputError(
                    f"pipeline argument {param.name!r} must be {param.type}, got "
                    f"{type(value).__name__} {value!r:.60}",
                    field=param.name,
                )
            bound[param.name] = value
        if given:
            raise InvalidInputError(
                f"pipeline {self.spec.name!r} has no parameter(s) {sorted(given)}",
                field=sorted(given)[0],
            )
        self.arguments = bound
        return bound

    # -- the graph -------------------------------------------------------------------------------
    def add(self, task: TaskSpec, index: int | None) -> StepInstance:
        """A new instance of ``task`` (its ``index``-th iteration in a loop), waiting."""
        name = task.name if index is None else f"{task.name}[{index}]"
        info = StepInfo(name=name, task=task.name, index=index)
        instance = StepInstance(info, task, self.spec.components[task.component])
        self.instances[name] = instance
        self.waiting[name] = instance
        return instance

    def looped(self, task_name: str) -> list[str] | None:
        """Instance names of a task: itself, or its iterations once its loop is expanded
        (None before)."""
        task = self.tasks[task_name]
        if task.loop is None:
            return [task_name]
        if task.loop not in self.expanded:
            return None
        if task_name in self.instances:  # the loop never ran: one SKIPPED placeholder
            return [task_name]
        return [f"{task_name}[{i}]" for i in range(len(self.expanded[task.loop]))]

    def deps(self, instance: StepInstance) -> list[str] | None:
        """Instance names ``instance`` waits for; None while a loop it needs is not expanded."""
        if instance.deps is not None:
            return instance.deps
        task, index = instance.task, instance.info.index
        refs: list[tuple[str, bool]] = []  # (task name, all iterations)
        arguments = list(task.arguments.values())
        for condition in task.conditions:
            arguments += [condition.left] + ([condition.right] if condition.right else [])
        for arg in arguments:
            if arg.task is not None:
                refs.append((arg.task, False))
            elif arg.collect is not None:
                refs.append((arg.collect, True))
        refs += [(name, False) for name in task.after]
        refs += [(name, True) for name in task.exit_for or []]
        names: list[str] = []
        for ref, every in refs:
            other = self.tasks[ref]
            if other.loop is not None and other.loop == task.loop and not every:
                names.append(f"{ref}[{index}]")
                continue
            expanded = self.looped(ref)
            if expanded is None:
                return None
            names += expanded
        instance.deps = list(dict.fromkeys(names))
        return instance.deps

    def expand_loops(self, fail: Fail) -> None:
        """Add the iterations of each loop whose items are known; a loop whose items cannot
        be had gets one placeholder a task, ended by ``fail``."""
        for loop_id, loop in self.spec.loops.items():
            if loop_id in self.expanded:
                continue
            source = loop.items
            producer_name = source.task or source.collect
            if producer_name is not None:
                producers = self.looped(producer_name)
                if producers is None or any(
                    self.instances[p].info.status not in FINAL for p in producers
                ):
                    continue
                bad = [p for p in producers if self.instances[p].info.status != "SUCCEEDED"]
                if bad:
                    status = self.instances[bad[0]].info.status.lower()
                    self.fail_loop(
                        fail,
                        loop_id,
                        "SKIPPED",
                        f"its for_each items come from {bad[0]}, which {status}",
                    )
                    continue
            items = self.resolve(source, None)
            if not isinstance(items, (list, tuple)):
                self.fail_loop(
                    fail,
                    loop_id,
                    "FAILED",
                    f"for_each items must be a list, got {type(items).__name__} {items!r:.60}",
                )
                continue
            self.expanded[loop_id] = list(items)
            for task in self.spec.tasks:
                if task.loop == loop_id:
                    for index in range(len(items)):
                        self.add(task, index)

    def fail_loop(self, fail: Fail, loop_id: str, status: str, reason: str) -> None:
        """The loop will not run: one placeholder a task of it, ended by ``fail``."""
        self.expanded[loop_id] = []
        for task in self.spec.tasks:
            if task.loop == loop_id:
                fail(self.add(task, None), status, reason)

    # -- values ----------------------------------------------------------------------------------
    def resolve(self, arg: ArgSpec, index: int | None) -> Any:
        """The value of an argument for the ``index``-th iteration."""
        kind = arg.kind()
        if kind == "constant":
            return arg.constant
        if kind == "param":
            return self.arguments[arg.param or ""]
        if kind == "loop_item":
            item = self.expanded[arg.loop_item or ""][index or 0]
            if arg.field is None:
                return item
            if not isinstance(item, dict) or arg.field not in item:
                raise InvalidInputError(
                    f"for_each item {item!r:.60} has no field {arg.field!r}", field=arg.field
                )
            return item[arg.field]
        if kind == "collect":
            return [
                self.output(name, arg.output or "") for name in self.looped(arg.collect or "") or []
            ]
        task = self.tasks[arg.task or ""]
        name = f"{task.name}[{index}]" if task.loop is not None else task.name
        return self.output(name, arg.output or "")

    def output(self, instance_name: str, output: str) -> Any:
        """An output of an instance: its artifact, else its value (None if it has none)."""
        instance = self.instances[instance_name]
        if output in instance.artifacts:
            return instance.artifacts[output]
        return instance.values.get(output)

    def unmet_condition(self, instance: StepInstance) -> str | None:
        """None if every condition holds, else the first that does not (as text)."""
        checks: dict[str, Callable[[Any, Any], bool]] = {
            "==": lambda a, b: bool(a == b),
            "!=": lambda a, b: bool(a != b),
            "<": lambda a, b: bool(a < b),
            "<=": lambda a, b: bool(a <= b),
            ">": lambda a, b: bool(a > b),
            ">=": lambda a, b: bool(a >= b),
        }
        for condition in instance.task.conditions:
            left = self.resolve(condition.left, instance.info.index)
            if condition.op in ("truthy", "falsy"):
                if bool(left) != (condition.op == "truthy"):
                    return f"condition {left!r:.60} is {'false' if left else 'true'}"
                continue
            right = self.resolve(condition.right or ArgSpec(), instance.info.index)
            try:
                holds = checks[condition.op](left, right)
            except TypeError:
                holds = False
            if not holds:
                return f"condition {left!r:.60} {condition.op} {right!r:.60} is false"
        return None

    def inputs(self, instance: StepInstance) -> tuple[dict[str, Any], dict[str, ArtifactRef]]:
        """The input values and input artifacts of an instance about to start."""
        parameters: dict[str, Any] = {}
        artifacts: dict[str, ArtifactRef] = {}
        for param in instance.component.inputs:
            if param.kind == "status":
                continue
            arg = instance.task.arguments.get(param.name)
            value = self.resolve(arg, instance.info.index) if arg is not None else param.default
            if param.kind == "artifact":
                if value is None:
                    continue
                artifacts[param.name] = (
                    value
                    if isinstance(value, ArtifactRef)
                    else import_artifact(str(value), param.type)
                )
            else:
                parameters[param.name] = value
        return parameters, artifacts
