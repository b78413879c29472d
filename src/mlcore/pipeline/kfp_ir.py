"""KFP v2 IR in: a ``PipelineSpec`` compiled by the ``kfp`` SDK, read into mlcore's spec.

KFP nests its control flow in sub-DAGs (``for-loop-N``, ``condition-N``,
``exit-handler-N``); mlcore's spec is flat. Reading one walks the DAGs from ``root`` and
gives every leaf task the loop, the conditions (from each group's CEL ``triggerPolicy``) and
the dependencies of the groups around it; a group's inputs (``pipelinechannel--...``) resolve
to what feeds them. Lightweight Python components keep their embedded source, with its
``kfp`` imports pointed at ``mlcore.pipeline`` so it runs as a native component; per-task
options (``retryPolicy``, ``cachingOptions``, resources, env) become the component options
of that task.

Container executors become container components (their command and placeholders kept).

Not read (an :class:`InvalidInputError` names them): nested
``ParallelFor``, ``OneOf`` outputs of condition groups, and conditions other than
comparisons joined by ``&&``.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from mlcore.errors import InvalidInputError
from mlcore.pipeline.spec import (
    ArgSpec,
    CodeSpec,
    ComponentSpec,
    ConditionSpec,
    ContainerCommandSpec,
    LoopSpec,
    ParamSpec,
    PipelineSpec,
    TaskSpec,
)

__all__ = ["is_kfp_ir", "read_kfp_ir"]

_TYPES = {
    "STRING": "str",
    "NUMBER_INTEGER": "int",
    "NUMBER_DOUBLE": "float",
    "BOOLEAN": "bool",
    "LIST": "list",
    "STRUCT": "dict",
}
_NEGATED = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}


def is_kfp_ir(data: Any) -> bool:
    """Whether a parsed YAML document is a KFP ``PipelineSpec``."""
    return isinstance(data, dict) and "pipelineInfo" in data and "root" in data


@dataclass
class _Scope:
    """What the tasks of one DAG see: where each of its inputs comes from, and the loop,
    conditions and dependencies of the groups around it."""

    params: dict[str, ArgSpec] = field(default_factory=dict)
    loop: str | None = None
    conditions: list[ConditionSpec] = field(default_factory=list)
    after: list[str] = field(default_factory=list)


class _Reader:
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.components: dict[str, Any] = data.get("components") or {}
        self.executors: dict[str, Any] = (data.get("deploymentSpec") or {}).get("executors") or {}
        self.tasks: list[TaskSpec] = []
        self.specs: dict[str, ComponentSpec] = {}
        self.loops: dict[str, LoopSpec] = {}
        # per DAG (by id of its task map): leaf names inside each task, and group outputs
        self.members: dict[str, list[str]] = {}
        self.group_outputs: dict[str, dict[str, ArgSpec]] = {}
        self.imported: dict[str, ArgSpec] = {}
        self.exit_handlers: list[tuple[TaskSpec, str]] = []

    # -- the whole spec --------------------------------------------------------------------------
    def read(self) -> PipelineSpec:
        root = self.data["root"]
        name = str((self.data.get("pipelineInfo") or {}).get("name") or "pipeline")
        parameters = [
            self._param(pname, definition)
            for pname, definition in (
                (root.get("inputDefinitions") or {}).get("parameters") or {}
            ).items()
        ]
        scope = _Scope(params={p.name: ArgSpec(param=p.name) for p in parameters})
        self._dag(root.get("dag") or {}, scope, prefix="")
        for task, group in self.exit_handlers:
            task.exit_for = list(self.members.get(group, []))
        return PipelineSpec(
            name=name,
            description=(self.data.get("pipelineInfo") or {}).get("description"),
            parameters=parameters,
            components=self.specs,
            loops=self.loops,
            tasks=self.tasks,
        )

    def _param(self, name: str, definition: dict[str, Any]) -> ParamSpec:
        kind = definition.get("parameterType", "STRING")
        if kind == "TASK_FINAL_STATUS":
            return ParamSpec(
                name=name, type="PipelineTaskFinalStatus", kind="status", optional=True
            )
        type_name = _TYPES.get(kind)
        if type_name is None:
            raise InvalidInputError(f"KFP parameter {name!r}: unknown type {kind!r}")
        default = definition.get("defaultValue")
        if type_name == "int" and isinstance(default, float) and default.is_integer():
            default = int(default)  # protobuf numbers are doubles
        optional = bool(definition.get("isOptional")) or "defaultValue" in definition
        return ParamSpec(name=name, type=type_name, default=default, optional=optional)

    # -- DAGs ------------------------------------------------------------------------------------
    def _dag(self, dag: dict[str, Any], scope: _Scope, prefix: str) -> list[str]:
        """Add the leaf tasks of ``dag``; returns their names."""
        tasks: dict[str, Any] = dag.get("tasks") or {}
        added: list[str] = []
        pending = dict(tasks)
        while pending:  # groups before the tasks that read their outputs
            progressed = False
            for task_name, task in list(pending.items()):
                refs = set(task.get("dependentTasks") or [])
                if any(ref in pending and ref != task_name for ref in refs):
                    continue
                del pending[task_name]
                progressed = True
                added += self._task(task_name, task, scope, prefix, tasks)
            if not progressed:
                raise InvalidInputError(f"KFP DAG has a cycle among {sorted(pending)}")
        return added

    def _task(
        self,
        name: str,
        task: dict[str, Any],
        scope: _Scope,
        prefix: str,
        siblings: dict[str, Any],
    ) -> list[str]:
        key = prefix + name
        component_name = (task.get("componentRef") or {}).get("name", "")
        component = self.components.get(component_name)
        if component is None:
            raise InvalidInputError(f"KFP task {name!r}: unknown component {component_name!r}")
        after: list[str] = list(scope.after)
        exit_group: str | None = None
        status_from = [  # an exit handler: the status of this group is an input
            spec.get("taskFinalStatus", {}).get("producerTask")
            for spec in ((task.get("inputs") or {}).get("parameters") or {}).values()
        ]
        for dep in task.get("dependentTasks") or []:
            if dep in status_from:
                exit_group = prefix + dep
                continue
            after += self.members.get(prefix + dep, [])
        conditions = list(scope.conditions)
        condition = (task.get("triggerPolicy") or {}).get("condition")
        inputs = self._inputs(task, scope, prefix, siblings)
        if condition:
            conditions += _conditions(condition, inputs, name)
        if "dag" in component:
            return self._group(key, task, component, scope, inputs, conditions, after)
        executor = self.executors.get(component.get("executorLabel", ""), {})
        if "importer" in executor:
            self.imported[key] = self._importer(executor["importer"], inputs, name)
            self.members[key] = []
            return []
        spec = self._component(component_name, component, executor, task)
        arguments = {k: v for k, v in inputs.items() if spec.input(k) is not None and k in inputs}
        leaf = TaskSpec(
            name=name if name not in {t.name for t in self.tasks} else key,
            component=self._register(component_name, spec),
            arguments=arguments,
            after=sorted(set(after)),
            loop=scope.loop,
            conditions=conditions,
            display_name=(task.get("taskInfo") or {}).get("name"),
        )
        self.tasks.append(leaf)
        if exit_group is not None:
            self.exit_handlers.append((leaf, exit_group))
        self.members[key] = [leaf.name]
        return [leaf.name]

    def _group(
        self,
        key: str,
        task: dict[str, Any],
        component: dict[str, Any],
        scope: _Scope,
        inputs: dict[str, ArgSpec],
        conditions: list[ConditionSpec],
        after: list[str],
    ) -> list[str]:
        inner = _Scope(params=dict(inputs), loop=scope.loop, conditions=conditions, after=after)
        iterator = task.get("parameterIterator")
        if iterator is not None:
            if scope.loop is not None:
                raise InvalidInputError(
                    f"KFP task {key!r}: nested ParallelFor is not supported by mlcore"
                )
            items = iterator.get("items") or {}
            if "raw" in items:
                source = ArgSpec(constant=json.loads(items["raw"]))
            else:
                source = inputs.get(items.get("inputParameter", ""), ArgSpec())
            loop_id = f"loop-{len(self.loops) + 1}"
            limit = (task.get("iteratorPolicy") or {}).get("parallelismLimit") or None
            self.loops[loop_id] = LoopSpec(items=source, parallelism=limit)
            inner.loop = loop_id
            inner.params[iterator["itemInput"]] = ArgSpec(loop_item=loop_id)
        elif "artifactIterator" in task:
            raise InvalidInputError(f"KFP task {key!r}: ParallelFor over artifacts")
        names = self._dag(component["dag"], inner, prefix=key + "/")
        self.members[key] = names
        outputs: dict[str, ArgSpec] = {}
        for output, source in (
            ((component["dag"].get("outputs") or {}).get("parameters")) or {}
        ).items():
            value = source.get("valueFromParameter")
            if value is None:
                raise InvalidInputError(
                    f"KFP task {key!r}: output {output!r} selects among branches (OneOf), "
                    "which mlcore does not read yet"
                )
            producer = self.members.get(f"{key}/{value['producerSubtask']}", [None])[0]
            field_name = value["outputParameterKey"]
            if iterator is not None:
                outputs[output] = ArgSpec(collect=producer, output=field_name)
            else:
                outputs[output] = ArgSpec(task=producer, output=field_name)
        for output, source in (
            ((component["dag"].get("outputs") or {}).get("artifacts")) or {}
        ).items():
            selectors = source.get("artifactSelectors") or []
            if len(selectors) == 1:
                value = selectors[0]
                producer = self.members.get(f"{key}/{value['producerSubtask']}", [None])[0]
                outputs[output] = ArgSpec(task=producer, output=value["outputArtifactKey"])
        self.group_outputs[key] = outputs
        return names

    # -- values ----------------------------------------------------------------------------------
    def _inputs(
        self, task: dict[str, Any], scope: _Scope, prefix: str, siblings: dict[str, Any]
    ) -> dict[str, ArgSpec]:
        found: dict[str, ArgSpec] = {}
        inputs = task.get("inputs") or {}
        for name, source in (inputs.get("parameters") or {}).items():
            if "taskFinalStatus" in source:
                continue
            arg = self._source(source, scope, prefix, "Parameter")
            selector = source.get("parameterExpressionSelector")
            if selector:
                match = re.fullmatch(r'parseJson\(string_value\)\["([^"]+)"\]', selector)
                if match is None or arg.loop_item is None:
                    raise InvalidInputError(f"KFP input {name!r}: unsupported {selector!r}")
                arg = ArgSpec(loop_item=arg.loop_item, field=match.group(1))
            found[name] = arg
        for name, source in (inputs.get("artifacts") or {}).items():
            found[name] = self._source(source, scope, prefix, "Artifact")
        return found

    def _source(self, source: dict[str, Any], scope: _Scope, prefix: str, kind: str) -> ArgSpec:
        if "runtimeValue" in source:
            return ArgSpec(constant=(source["runtimeValue"] or {}).get("constant"))
        if f"componentInput{kind}" in source:
            name = source[f"componentInput{kind}"]
            if name not in scope.params:
                raise InvalidInputError(f"KFP input refers to unknown {name!r}")
            return scope.params[name]
        produced = source.get(f"taskOutput{kind}")
        if produced is not None:
            producer = prefix + produced["producerTask"]
            output = produced[f"output{kind}Key"]
            if producer in self.imported:
                return self.imported[producer]
            if producer in self.group_outputs:
                return self.group_outputs[producer][output]
            names = self.members.get(producer)
            if not names:
                raise InvalidInputError(f"KFP input from unknown task {producer!r}")
            return ArgSpec(task=names[0], output=output)
        raise InvalidInputError(f"KFP input {source!r} is not supported")

    def _importer(self, spec: dict[str, Any], inputs: dict[str, ArgSpec], name: str) -> ArgSpec:
        uri = spec.get("artifactUri") or {}
        if "constant" in uri:
            return ArgSpec(constant=uri["constant"])
        if "runtimeParameter" in uri:
            return inputs.get(uri["runtimeParameter"], ArgSpec())
        raise InvalidInputError(f"KFP importer {name!r}: no artifact URI")

    # -- components ------------------------------------------------------------------------------
    def _component(
        self, ref: str, component: dict[str, Any], executor: dict[str, Any], task: dict[str, Any]
    ) -> ComponentSpec:
        container = executor.get("container") or {}
        args = list(container.get("args") or [])
        command = [str(c) for c in container.get("command") or []]
        boxed: ContainerCommandSpec | None = None
        if "--function_to_execute" in args:
            function = args[args.index("--function_to_execute") + 1]
            source: str | None = _mlcore_source(command[-1] if command else "")
            digest = hashlib.sha256((source or "").encode()).hexdigest()
        else:  # a container component: its command, placeholders and all
            boxed = ContainerCommandSpec(command=command, args=[str(a) for a in args])
            function, source = ref.removeprefix("comp-"), None
            digest = hashlib.sha256(
                json.dumps([container.get("image"), command, boxed.args]).encode()
            ).hexdigest()
        definitions = component.get("inputDefinitions") or {}
        inputs = [self._param(n, d) for n, d in (definitions.get("parameters") or {}).items()]
        inputs += [_artifact(n, d) for n, d in (definitions.get("artifacts") or {}).items()]
        produced = component.get("outputDefinitions") or {}
        outputs = [self._param(n, d) for n, d in (produced.get("parameters") or {}).items()]
        outputs += [_artifact(n, d) for n, d in (produced.get("artifacts") or {}).items()]
        retry = task.get("retryPolicy") or {}
        resources = container.get("resources") or {}
        limits = {
            "cpu": resources.get("resourceCpuLimit") or resources.get("resourceCpuRequest"),
            "memory": resources.get("resourceMemoryLimit")
            or resources.get("resourceMemoryRequest"),
        }
        accelerator = resources.get("accelerator") or {}
        if accelerator:
            kind = accelerator.get("resourceType") or accelerator.get("type") or "nvidia.com/gpu"
            limits[kind] = str(accelerator.get("resourceCount") or accelerator.get("count") or "1")
        return ComponentSpec(
            name=ref.removeprefix("comp-"),
            inputs=inputs,
            outputs=outputs,
            retries=int(retry.get("maxRetryCount") or 0),
            retry_backoff=_seconds(retry.get("backoffDuration"), 1.0),
            cache=bool((task.get("cachingOptions") or {}).get("enableCache", False)),
            image=container.get("image"),
            resources={k: str(v) for k, v in limits.items() if v},
            env={str(e["name"]): str(e.get("value", "")) for e in container.get("env") or []},
            packages=_packages(command) if boxed is None else [],
            code=CodeSpec(module="__kfp__", qualname=function, source=source, digest=digest),
            container=boxed,
        )

    def _register(self, ref: str, spec: ComponentSpec) -> str:
        key = ref.removeprefix("comp-")
        if key in self.specs and self.specs[key] != spec:
            digest = hashlib.sha256(spec.model_dump_json().encode()).hexdigest()
            key = f"{key}@{digest[:8]}"
        self.specs[key] = spec
        return key


def _artifact(name: str, definition: dict[str, Any]) -> ParamSpec:
    from mlcore.pipeline.types import ARTIFACT_TYPES

    title = str((definition.get("artifactType") or {}).get("schemaTitle", "system.Artifact"))
    kind = title.removeprefix("system.")
    if definition.get("isArtifactList"):
        raise InvalidInputError(f"KFP artifact {name!r}: lists of artifacts are not supported")
    return ParamSpec(
        name=name,
        type=kind if kind in ARTIFACT_TYPES else "Artifact",
        kind="artifact",
        optional=bool(definition.get("isOptional")),
    )


def _seconds(value: Any, default: float) -> float:
    if value is None:
        return default
    match = re.fullmatch(r"(\d+(?:\.\d+)?)s", str(value))
    return float(match.group(1)) if match else default


def _mlcore_source(source: str) -> str:
    """The embedded source with its ``kfp`` imports pointed at ``mlcore.pipeline``."""
    lines = []
    for line in source.splitlines():
        stripped = line.strip()
        if stripped == "import kfp":
            continue
        line = line.replace("from kfp.dsl import", "from mlcore.pipeline.dsl import")
        line = line.replace("from kfp import dsl", "from mlcore.pipeline import dsl")
        lines.append(line)
    return "\n".join(lines).strip("\n") + "\n"


def _packages(command: list[str]) -> list[str]:
    """``packages_to_install`` from the pip line KFP puts before the program (not KFP's own
    install of itself)."""
    found: list[str] = []
    for part in command:
        for install in re.findall(r"pip install (.*?)(?:&&|$)", part):
            tokens = re.findall(r"'([^']*)'", install)
            if any(t.startswith("kfp==") for t in tokens):
                continue
            found += [t for t in tokens if not t.startswith("-")]
    return found


# -- conditions ----------------------------------------------------------------------------------
_OPERAND = (
    r"(?:(?:int|double|string|bool)\()?inputs\.parameter_values\['([^']+)'\]\)?"
    r"|'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"|(-?\d+(?:\.\d+)?)|(true|false)"
)
_TERM = re.compile(rf"\s*(?:{_OPERAND})\s*(==|!=|<=|>=|<|>)\s*(?:{_OPERAND})\s*")


def _conditions(text: str, inputs: dict[str, ArgSpec], task: str) -> list[ConditionSpec]:
    """A KFP ``triggerPolicy.condition`` (comparisons, ``!(...)``, joined by ``&&``)."""
    found = []
    for term in _split_and(text):
        negate = False
        term = term.strip()
        while term.startswith("!(") and term.endswith(")"):
            negate, term = not negate, term[2:-1].strip()
        while term.startswith("(") and term.endswith(")"):
            term = term[1:-1].strip()
        match = _TERM.fullmatch(term)
        if match is None or "&&" in term or "||" in term:
            raise InvalidInputError(f"KFP task {task!r}: unsupported condition {text!r}")
        groups = match.groups()
        left, op, right = _operand(groups[:5], inputs), groups[5], _operand(groups[6:], inputs)
        found.append(ConditionSpec(left=left, op=_NEGATED[op] if negate else op, right=right))  # type: ignore[arg-type]
    return found


def _operand(groups: tuple[str | None, ...], inputs: dict[str, ArgSpec]) -> ArgSpec:
    param, single, double, number, boolean = groups
    if param is not None:
        if param not in inputs:
            raise InvalidInputError(f"KFP condition refers to unknown input {param!r}")
        return inputs[param]
    if single is not None or double is not None:
        return ArgSpec(constant=json.loads(f'"{single if single is not None else double}"'))
    if number is not None:
        return ArgSpec(constant=float(number) if "." in number else int(number))
    return ArgSpec(constant=boolean == "true")


def _split_and(text: str) -> list[str]:
    parts, depth, quote, start = [], 0, "", 0
    for i, char in enumerate(text):
        if quote:
            if char == quote and text[i - 1] != "\\":
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif text.startswith("&&", i) and depth == 0:
            parts.append(text[start:i])
            start = i + 2
    parts.append(text[start:])
    return parts


def read_kfp_ir(data: dict[str, Any]) -> PipelineSpec:
    """mlcore's spec of a KFP ``PipelineSpec`` (parsed YAML)."""
    try:
        return _Reader(data).read()
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, InvalidInputError):
            raise
        raise InvalidInputError(
            f"cannot read the KFP pipeline: {type(exc).__name__}: {exc}"
        ) from exc
