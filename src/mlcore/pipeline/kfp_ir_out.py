"""KFP v2 IR out: mlcore's flat spec written as a KFP ``PipelineSpec`` (``schemaVersion 2.1.0``).

mlcore's tasks carry their loop, conditions and exit handler; KFP nests them in sub-DAGs.
Writing one puts each task in its groups (``exit-handler-N`` > ``for-loop-N`` >
``condition-N``), threads every value a group's tasks read from outside through that group's
inputs (``pipelinechannel--...``, as KFP's compiler names them), and exposes a loop's
collected outputs as the loop group's ``LIST`` outputs. Python components keep their source,
with its ``mlcore.pipeline`` imports pointed at ``kfp``, run by ``kfp.dsl.executor_main`` in
the component's image, as a KFP-compiled component is.

Not written (an :class:`InvalidInputError` names them): ``truthy``/``falsy`` conditions on
non-boolean values, and an exit handler whose guarded tasks split a loop.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from mlcore.errors import InvalidInputError
from mlcore.pipeline.spec import ArgSpec, ComponentSpec, ConditionSpec, ParamSpec, PipelineSpec

__all__ = ["write_kfp_ir"]

_TYPES = {
    "str": "STRING",
    "int": "NUMBER_INTEGER",
    "float": "NUMBER_DOUBLE",
    "bool": "BOOLEAN",
    "list": "LIST",
    "dict": "STRUCT",
}
_DEFAULT_IMAGE = "python:3.11"
_HEADER = "import kfp\nfrom kfp import dsl\nfrom kfp.dsl import *\nfrom typing import *\n\n"
# KFP's protocol for a lightweight component: write the source to a file, run the executor.
_INSTALL = (
    '\nif ! [ -x "$(command -v pip)" ]; then\n'
    "    python3 -m ensurepip || python3 -m ensurepip --user || apt-get install python3-pip\n"
    "fi\n\n"
    "PIP_DISABLE_PIP_VERSION_CHECK=1 python3 -m pip install --quiet --no-warn-script-location "
    '{packages} && "$0" "$@"\n'
)
_PROGRAM = (
    'program_path=$(mktemp -d)\n\nprintf "%s" "$0" > "$program_path/ephemeral_component.py"\n'
    "_KFP_RUNTIME=true python3 -m kfp.dsl.executor_main --component_module_path "
    '"$program_path/ephemeral_component.py" "$@"\n'
)


@dataclass
class _Group:
    """A KFP sub-DAG: its task, component, and what crosses its edge."""

    name: str
    parent: str | None
    kind: str  # exit-handler, for-loop, condition
    loop: str | None = None
    conditions: list[ConditionSpec] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)  # channel -> definition
    task_inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    task_inputs_artifacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    output_sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    depends: set[str] = field(default_factory=set)


class _Writer:
    def __init__(self, spec: PipelineSpec) -> None:
        self.spec = spec
        self.tasks = {task.name: task for task in spec.tasks}
        self.groups: dict[str, _Group] = {}
        self.parent: dict[str, str | None] = {}  # leaf or group -> its group (None: root)
        self.counter = 0
        self.loop_groups: dict[str, str] = {}
        self.loop_item_channel: dict[str, str] = {}
        self.root_children: list[str] = []
        self.importers: dict[str, dict[str, Any]] = {}

    # -- placing tasks in groups -----------------------------------------------------------------
    def _new_group(self, kind: str, parent: str | None, **kw: Any) -> str:
        self.counter += 1
        name = f"{kind}-{self.counter}"
        self.groups[name] = _Group(name=name, parent=parent, kind=kind, **kw)
        self._children(parent).append(name)
        self.parent[name] = parent
        return name

    def _children(self, group: str | None) -> list[str]:
        return self.root_children if group is None else self.groups[group].children

    def place(self) -> None:
        guarded: dict[str, str] = {}
        exits: dict[tuple[str, ...], str] = {}
        for task in self.spec.tasks:
            if task.exit_for:
                key = tuple(sorted(task.exit_for))
                if key not in exits:
                    exits[key] = self._new_group("exit-handler", None)
                for name in task.exit_for:
                    guarded.setdefault(name, exits[key])
        condition_groups: dict[tuple[str | None, str], str] = {}
        for task in self.spec.tasks:
            group = guarded.get(task.name)
            if task.loop is not None:
                found = self.loop_groups.get(task.loop)
                if found is None:
                    found = self._new_group("for-loop", group, loop=task.loop)
                    self.loop_groups[task.loop] = found
                    self.loop_item_channel[task.loop] = (
                        f"pipelinechannel--loop-item-param-{self.counter}"
                    )
                elif self.groups[found].parent != group:
                    raise InvalidInputError(
                        f"step {task.name!r}: an exit handler guards part of a loop only; "
                        "KFP IR cannot say that"
                    )
                group = found
            if task.conditions:
                ckey = (group, json.dumps([c.model_dump() for c in task.conditions]))
                if ckey not in condition_groups:
                    condition_groups[ckey] = self._new_group(
                        "condition", group, conditions=list(task.conditions)
                    )
                group = condition_groups[ckey]
            self._children(group).append(task.name)
            self.parent[task.name] = group

    def _ancestors(self, node: str) -> list[str | None]:
        """The groups around ``node``, innermost first, ending with None (the root)."""
        found: list[str | None] = []
        current = self.parent[node]
        while current is not None:
            found.append(current)
            current = self.groups[current].parent
        return [*found, None]

    def _child_towards(self, node: str, group: str | None) -> str | None:
        """The child of ``group`` that is ``node`` or holds it (None: not inside)."""
        current: str | None = node
        while current is not None:
            if self.parent[current] == group:
                return current
            current = self.parent[current]
        return None

    # -- values ----------------------------------------------------------------------------------
    def _kind_of(self, arg: ArgSpec) -> tuple[str, str]:
        """("parameter" | "artifact", the KFP type) of a value."""
        if arg.param is not None:
            param = next(p for p in self.spec.parameters if p.name == arg.param)
            return "parameter", _TYPES.get(param.type, "STRING")
        if arg.task is not None or arg.collect is not None:
            producer = self.tasks[arg.task or arg.collect or ""]
            output = self.spec.components[producer.component].output(arg.output or "")
            assert output is not None
            if output.kind == "artifact":
                return "artifact", output.type
            return "parameter", "LIST" if arg.collect else _TYPES.get(output.type, "STRING")
        if arg.loop_item is not None:
            return "parameter", "STRING"
        return "parameter", _constant_type(arg.constant)

    def resolve(self, arg: ArgSpec, group: str | None, consumer: set[str]) -> dict[str, Any]:
        """The KFP input source of ``arg`` seen inside ``group``; producers it needs at that
        level are added to ``consumer`` (the dependentTasks of the task being written)."""
        kind, type_name = self._kind_of(arg)
        suffix = "Parameter" if kind == "parameter" else "Artifact"
        if arg.kind() == "constant":
            return {"runtimeValue": {"constant": arg.constant}}
        if arg.param is not None and group is None:
            return {f"componentInput{suffix}": arg.param}
        if arg.loop_item is not None:
            loop_group = self.loop_groups[arg.loop_item]
            channel = self.loop_item_channel[arg.loop_item]
            if group != loop_group:
                self._thread(channel, arg, group, kind, type_name)
            source: dict[str, Any] = {"componentInputParameter": channel}
            if arg.field is not None:
                source["parameterExpressionSelector"] = f'parseJson(string_value)["{arg.field}"]'
            return source
        producer = arg.task or arg.collect
        if producer is not None:
            child = self._child_towards(producer, group)
            if child is not None:
                consumer.add(child)
                key = self._expose(child, producer, arg)
                return {f"taskOutput{suffix}": {"producerTask": child, f"output{suffix}Key": key}}
            channel = f"pipelinechannel--{producer}-{arg.output}"
        else:
            channel = f"pipelinechannel--{arg.param}"
        self._thread(channel, arg, group, kind, type_name)
        return {f"componentInput{suffix}": channel}

    def _thread(
        self, channel: str, arg: ArgSpec, group: str | None, kind: str, type_name: str
    ) -> None:
        """Make ``channel`` an input of ``group``, fed from its parent."""
        assert group is not None
        target = self.groups[group]
        definitions = target.inputs if kind == "parameter" else target.task_inputs_artifacts
        if channel in definitions:
            return
        definitions[channel] = _definition(kind, type_name)
        source = self.resolve(arg, target.parent, target.depends)
        target.task_inputs[channel] = source

    def _expose(self, child: str, producer: str, arg: ArgSpec) -> str:
        """The output key under which ``child`` (the producer or a group holding it) gives
        ``arg``'s value."""
        if child == producer:
            return arg.output or ""
        group = self.groups[child]
        inner = self._child_towards(producer, child)
        assert inner is not None
        key = f"pipelinechannel--{producer}-{arg.output}"
        if key not in group.outputs:
            kind, type_name = self._kind_of(arg)
            if group.kind == "for-loop" and arg.collect is None:
                raise InvalidInputError(
                    f"step {producer!r} runs in a loop: read its outputs with collect()"
                )
            group.outputs[key] = _definition(kind, type_name)
            inner_key = self._expose(inner, producer, arg)
            if kind == "parameter":
                group.output_sources[key] = {
                    "valueFromParameter": {
                        "producerSubtask": inner,
                        "outputParameterKey": inner_key,
                    }
                }
            else:
                group.output_sources[key] = {
                    "artifactSelectors": [
                        {"producerSubtask": inner, "outputArtifactKey": inner_key}
                    ]
                }
        return key

    # -- writing ---------------------------------------------------------------------------------
    def write(self) -> dict[str, Any]:
        self.place()
        components: dict[str, Any] = {}
        executors: dict[str, Any] = {}
        leaf_tasks: dict[str, dict[str, Any]] = {}
        for task in self.spec.tasks:
            leaf_tasks[task.name] = self._leaf(task, components, executors)
        # groups: triggers and dependencies between siblings (after), then their components
        for task in self.spec.tasks:
            for ref in task.after:
                self._depend(task.name, ref, leaf_tasks)
        group_tasks = {name: self._group_task(group) for name, group in self.groups.items()}
        for name, group in self.groups.items():
            components[f"comp-{name}"] = self._group_component(group, leaf_tasks, group_tasks)
        root_tasks = {
            name: leaf_tasks[name] if name in leaf_tasks else group_tasks[name]
            for name in self.root_children
        }
        root: dict[str, Any] = {"dag": {"tasks": root_tasks}}
        parameters = {p.name: _parameter_definition(p) for p in self.spec.parameters}
        if parameters:
            root["inputDefinitions"] = {"parameters": parameters}
        info: dict[str, Any] = {"name": self.spec.name}
        if self.spec.description:
            info["description"] = self.spec.description
        for name, importer in self.importers.items():
            executors[f"exec-{name}"] = importer
        return {
            "components": dict(sorted(components.items())),
            "deploymentSpec": {"executors": dict(sorted(executors.items()))},
            "pipelineInfo": info,
            "root": root,
            "schemaVersion": "2.1.0",
            "sdkVersion": "mlcore",
        }

    def _depend(self, name: str, ref: str, leaf_tasks: dict[str, dict[str, Any]]) -> None:
        ancestors = self._ancestors(ref)
        for group in self._ancestors(name):
            if group in ancestors:
                mine = self._child_towards(name, group)
                theirs = self._child_towards(ref, group)
                assert mine is not None
                assert theirs is not None
                if mine != theirs:
                    if mine in leaf_tasks:
                        deps = leaf_tasks[mine].setdefault("dependentTasks", [])
                        if theirs not in deps:
                            deps.append(theirs)
                    else:
                        self.groups[mine].depends.add(theirs)
                return

    def _leaf(
        self, task: Any, components: dict[str, Any], executors: dict[str, Any]
    ) -> dict[str, Any]:
        component = self.spec.components[task.component]
        ref = _safe(task.name)  # one component per task, as KFP's compiler writes
        components[f"comp-{ref}"] = _component_definition(component, ref)
        executors[f"exec-{ref}"] = _executor(component)
        group = self.parent[task.name]
        depends: set[str] = set()
        parameters: dict[str, Any] = {}
        artifacts: dict[str, Any] = {}
        for name, arg in task.arguments.items():
            declared = component.input(name)
            assert declared is not None
            if declared.kind == "artifact" and arg.kind() == "constant":
                importer = f"importer-{task.name}-{name}"
                self.importers[importer] = _importer(str(arg.constant), declared.type)
                components[f"comp-{importer}"] = {
                    "executorLabel": f"exec-{importer}",
                    "inputDefinitions": {"parameters": {"uri": {"parameterType": "STRING"}}},
                    "outputDefinitions": {
                        "artifacts": {"artifact": _definition("artifact", declared.type)}
                    },
                }
                self._children(group).append(importer)
                self.parent[importer] = group
                # a task of its own, written once with the leaf below
                self._pending_importer(importer, str(arg.constant))
                depends.add(importer)
                artifacts[name] = {
                    "taskOutputArtifact": {
                        "producerTask": importer,
                        "outputArtifactKey": "artifact",
                    }
                }
                continue
            source = self.resolve(arg, group, depends)
            (artifacts if declared.kind == "artifact" else parameters)[name] = source
        for status in (p for p in component.inputs if p.kind == "status"):
            handler = self.parent.get(task.exit_for[0]) if task.exit_for else None
            while handler is not None and self.groups[handler].kind != "exit-handler":
                handler = self.groups[handler].parent
            if handler is not None:
                parameters[status.name] = {"taskFinalStatus": {"producerTask": handler}}
                depends.add(handler)
        written: dict[str, Any] = {
            "componentRef": {"name": f"comp-{ref}"},
            "taskInfo": {"name": task.display_name or task.name},
            "cachingOptions": {"enableCache": component.cache},
        }
        inputs: dict[str, Any] = {}
        if parameters:
            inputs["parameters"] = parameters
        if artifacts:
            inputs["artifacts"] = artifacts
        if inputs:
            written["inputs"] = inputs
        if depends:
            written["dependentTasks"] = sorted(depends)
        if task.exit_for:
            written["triggerPolicy"] = {"strategy": "ALL_UPSTREAM_TASKS_COMPLETED"}
        if component.retries:
            written["retryPolicy"] = {
                "maxRetryCount": component.retries,
                "backoffDuration": f"{int(component.retry_backoff)}s",
                "backoffFactor": 2.0,
            }
        return written

    def _pending_importer(self, name: str, uri: str) -> None:
        self._importer_tasks = getattr(self, "_importer_tasks", {})
        self._importer_tasks[name] = {
            "componentRef": {"name": f"comp-{name}"},
            "taskInfo": {"name": name},
            "inputs": {"parameters": {"uri": {"runtimeValue": {"constant": uri}}}},
        }

    def _group_task(self, group: _Group) -> dict[str, Any]:
        written: dict[str, Any] = {
            "componentRef": {"name": f"comp-{group.name}"},
            "taskInfo": {"name": group.name},
        }
        inputs: dict[str, Any] = {}
        parameters = {k: v for k, v in group.task_inputs.items() if k in group.inputs}
        artifacts = {k: v for k, v in group.task_inputs.items() if k in group.task_inputs_artifacts}
        if group.kind == "for-loop":
            loop = self.spec.loops[group.loop or ""]
            item = self.loop_item_channel[group.loop or ""]
            iterator: dict[str, Any] = {"itemInput": item}
            if loop.items.kind() == "constant":
                iterator["items"] = {"raw": json.dumps(loop.items.constant)}
            else:
                channel = f"pipelinechannel--{_channel_name(loop.items)}"
                parameters[channel] = self.resolve(loop.items, group.parent, group.depends)
                group.inputs[channel] = _definition("parameter", "LIST")
                iterator["items"] = {"inputParameter": channel}
            written["parameterIterator"] = iterator
            items = loop.items.constant if loop.items.kind() == "constant" else None
            first = items[0] if isinstance(items, list) and items else ""
            group.inputs.setdefault(item, _definition("parameter", _constant_type(first)))
            if loop.parallelism:
                written["iteratorPolicy"] = {"parallelismLimit": loop.parallelism}
        if group.kind == "condition":
            terms = []
            for condition in group.conditions:
                terms.append(self._cel(condition, group, parameters))
            written["triggerPolicy"] = {"condition": " && ".join(terms)}
        if parameters:
            inputs["parameters"] = parameters
        if artifacts:
            inputs["artifacts"] = artifacts
        if inputs:
            written["inputs"] = inputs
        if group.depends:
            written["dependentTasks"] = sorted(group.depends)
        return written

    def _cel(self, condition: ConditionSpec, group: _Group, parameters: dict[str, Any]) -> str:
        def operand(arg: ArgSpec) -> str:
            if arg.kind() == "constant":
                return _cel_constant(arg.constant)
            channel = f"pipelinechannel--{_channel_name(arg)}"
            if channel not in parameters:
                parameters[channel] = self.resolve(arg, group.parent, group.depends)
                group.inputs[channel] = _definition("parameter", self._kind_of(arg)[1])
            text = f"inputs.parameter_values['{channel}']"
            kfp_type = self._kind_of(arg)[1]
            cast = {"NUMBER_INTEGER": "int", "NUMBER_DOUBLE": "double"}.get(kfp_type)
            return f"{cast}({text})" if cast else text

        if condition.op in ("truthy", "falsy"):
            if self._kind_of(condition.left)[1] != "BOOLEAN":
                raise InvalidInputError(
                    "KFP IR compares values: a truthy/falsy condition on a non-boolean "
                    "cannot be written (compare it with a value instead)"
                )
            value = "true" if condition.op == "truthy" else "false"
            return f"{operand(condition.left)} == {value}"
        assert condition.right is not None
        return f"{operand(condition.left)} {condition.op} {operand(condition.right)}"

    def _group_component(
        self,
        group: _Group,
        leaf_tasks: dict[str, dict[str, Any]],
        group_tasks: dict[str, dict[str, Any]],
    ) -> dict[str, Any]:
        importer_tasks = getattr(self, "_importer_tasks", {})
        tasks = {}
        for child in group.children:
            if child in leaf_tasks:
                tasks[child] = leaf_tasks[child]
            elif child in group_tasks:
                tasks[child] = group_tasks[child]
            else:
                tasks[child] = importer_tasks[child]
        dag: dict[str, Any] = {"tasks": tasks}
        parameter_outputs = {
            k: v for k, v in group.output_sources.items() if "valueFromParameter" in v
        }
        artifact_outputs = {
            k: v for k, v in group.output_sources.items() if "artifactSelectors" in v
        }
        outputs: dict[str, Any] = {}
        if parameter_outputs:
            outputs["parameters"] = parameter_outputs
        if artifact_outputs:
            outputs["artifacts"] = artifact_outputs
        if outputs:
            dag["outputs"] = outputs
        written: dict[str, Any] = {"dag": dag}
        definitions: dict[str, Any] = {}
        if group.inputs:
            definitions["parameters"] = group.inputs
        if group.task_inputs_artifacts:
            definitions["artifacts"] = group.task_inputs_artifacts
        if definitions:
            written["inputDefinitions"] = definitions
        produced: dict[str, Any] = {}
        for key, definition in group.outputs.items():
            kind = "parameters" if "parameterType" in definition else "artifacts"
            produced.setdefault(kind, {})[key] = definition
        if produced:
            written["outputDefinitions"] = produced
        return written


def _channel_name(arg: ArgSpec) -> str:
    if arg.param is not None:
        return arg.param
    if arg.task or arg.collect:
        return f"{arg.task or arg.collect}-{arg.output}"
    return f"loop-item-{arg.loop_item}"


def _safe(name: str) -> str:
    """A name as a KFP key."""
    return name.replace("@", "-").replace("_", "-").lower()


def _constant_type(value: Any) -> str:
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, int):
        return "NUMBER_INTEGER"
    if isinstance(value, float):
        return "NUMBER_DOUBLE"
    if isinstance(value, list):
        return "LIST"
    if isinstance(value, dict):
        return "STRUCT"
    return "STRING"


def _cel_constant(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"


def _definition(kind: str, type_name: str) -> dict[str, Any]:
    if kind == "parameter":
        return {"parameterType": type_name}
    return {"artifactType": {"schemaTitle": f"system.{type_name}", "schemaVersion": "0.0.1"}}


def _parameter_definition(param: ParamSpec) -> dict[str, Any]:
    if param.kind == "status":
        return {"parameterType": "TASK_FINAL_STATUS", "isOptional": True}
    if param.kind == "artifact":
        found = _definition("artifact", param.type)
    else:
        found = {"parameterType": _TYPES.get(param.type, "STRING")}
        if param.default is not None:
            found["defaultValue"] = param.default
    if param.optional:
        found["isOptional"] = True
    return found


def _component_definition(component: ComponentSpec, ref: str) -> dict[str, Any]:
    written: dict[str, Any] = {"executorLabel": f"exec-{ref}"}
    for key, params in (
        ("inputDefinitions", component.inputs),
        ("outputDefinitions", component.outputs),
    ):
        parameters = {p.name: _parameter_definition(p) for p in params if p.kind != "artifact"}
        artifacts = {p.name: _parameter_definition(p) for p in params if p.kind == "artifact"}
        if key == "outputDefinitions":
            for definition in parameters.values():
                definition.pop("isOptional", None)
                definition.pop("defaultValue", None)
            for definition in artifacts.values():
                definition.pop("isOptional", None)
        section: dict[str, Any] = {}
        if parameters:
            section["parameters"] = parameters
        if artifacts:
            section["artifacts"] = artifacts
        if section:
            written[key] = section
    return written


def _executor(component: ComponentSpec) -> dict[str, Any]:
    if component.container is not None:
        boxed: dict[str, Any] = {"image": component.image or _DEFAULT_IMAGE}
        if component.container.command:
            boxed["command"] = list(component.container.command)
        if component.container.args:
            boxed["args"] = list(component.container.args)
        if component.env:
            boxed["env"] = [{"name": k, "value": v} for k, v in component.env.items()]
        return {"container": boxed}
    source = _kfp_source(component.code.source or "")
    packages = " ".join(f"'{p}'" for p in ["kfp", "--no-deps", *component.packages] if "'" not in p)
    install = _INSTALL.format(packages=packages)
    if component.pip_index_urls:
        install = install.replace(
            "--no-warn-script-location",
            "--no-warn-script-location "
            + " ".join(f"--extra-index-url {u}" for u in component.pip_index_urls),
        )
    container: dict[str, Any] = {
        "image": component.image or _DEFAULT_IMAGE,
        "command": ["sh", "-c", install, "sh", "-ec", _PROGRAM, source],
        "args": ["--executor_input", "{{$}}", "--function_to_execute", component.code.qualname],
    }
    if component.env:
        container["env"] = [{"name": k, "value": v} for k, v in component.env.items()]
    resources: dict[str, Any] = {}
    for key, value in component.resources.items():
        if key == "cpu":
            resources["resourceCpuLimit"] = value
        elif key == "memory":
            resources["resourceMemoryLimit"] = value
        else:
            resources["accelerator"] = {"resourceType": key, "resourceCount": value}
    if resources:
        container["resources"] = resources
    return {"container": container}


def _importer(uri: str, type_name: str) -> dict[str, Any]:
    return {
        "importer": {
            "artifactUri": {"runtimeParameter": "uri"},
            "typeSchema": {"schemaTitle": f"system.{type_name}", "schemaVersion": "0.0.1"},
        }
    }


def _kfp_source(source: str) -> str:
    """mlcore's component source with its ``mlcore.pipeline`` imports pointed at ``kfp``."""
    text = source.replace("from mlcore.pipeline.dsl import", "from kfp.dsl import")
    text = text.replace("from mlcore.pipeline import dsl", "from kfp import dsl")
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(("def ", "async def "))), 0)
    if all(line.startswith(("@", " ", ")")) or not line.strip() for line in lines[:start]):
        lines = lines[start:]  # the decorator: KFP's runtime calls the plain function
    body = "\n".join(lines) + "\n"
    return body if "from kfp import dsl" in lines else _HEADER + body


def write_kfp_ir(spec: PipelineSpec) -> dict[str, Any]:
    """The KFP ``PipelineSpec`` (a dict, ready for YAML) of an mlcore spec."""
    return _Writer(spec).write()
