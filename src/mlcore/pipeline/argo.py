"""Argo out: mlcore's spec written as an Argo ``Workflow`` (what Kubeflow runs on).

One ``dag`` template (the entrypoint) whose tasks name one template per component, with
``dependencies``, ``arguments`` (``{{workflow.parameters.x}}``,
``{{tasks.t.outputs.parameters.o}}``, ``from: {{tasks.t.outputs.artifacts.a}}``), ``when``
for conditions, ``withItems``/``withParam`` for loops. A container component's template runs
its command with KFP's placeholders turned into Argo's and files under ``/mlcore``; a Python
component's runs its source with ``python3 -c`` (its image needs ``mlcore``). Exit handlers
become the workflow's ``onExit`` template.

Not written (an :class:`InvalidInputError` says so): ``collect`` of loop outputs (Argo
aggregates them as JSON text, not typed lists) and importers of constant artifact URIs.
"""

from __future__ import annotations

import json
import re
from typing import Any

from mlcore.errors import InvalidInputError
from mlcore.pipeline.spec import ArgSpec, ComponentSpec, ConditionSpec, PipelineSpec

__all__ = ["write_argo_workflow"]

_ROOT = "/mlcore"
_KFP = re.compile(
    r"\{\{\$\.(inputs|outputs)\.(parameters|artifacts)\['([^']+)'\](?:\.(output_file|path|uri))?\}\}"
)
# Runs a Python component: its source, the function, typed inputs, where outputs go.
_BOOT = """\
import json, os, sys
source, name = sys.argv[1], sys.argv[2]
inputs, outputs = json.loads(sys.argv[3]), json.loads(sys.argv[4])
namespace = {"__name__": "__main__"}
header = "from mlcore.pipeline import dsl\\nfrom mlcore.pipeline.dsl import *\\n"
header += "from typing import *\\n"
exec(compile(header + source, "component.py", "exec"), namespace)
function = namespace[name]
function = getattr(function, "func", function)
from mlcore.pipeline.types import ARTIFACT_TYPES
kinds = lambda type_name: ARTIFACT_TYPES.get(type_name, ARTIFACT_TYPES["Artifact"])
kwargs = {}
for key, (kind, type_name, value) in inputs.items():
    if kind == "artifact":
        kwargs[key] = kinds(type_name)(name=key, uri=value, path=value)
    else:
        kwargs[key] = value if type_name == "str" else json.loads(value)
for key, (kind, type_name, path) in outputs.items():
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if kind == "artifact":
        kwargs[key] = kinds(type_name)(name=key, uri=path, path=path)
returned = function(**kwargs)
if "Output" in outputs and outputs["Output"][0] == "parameter":
    with open(outputs["Output"][2], "w") as handle:
        handle.write(returned if isinstance(returned, str) else json.dumps(returned))
"""


def _argo_placeholders(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        side, kind, name, _attribute = match.groups()
        if side == "inputs" and kind == "parameters":
            return f"{{{{inputs.parameters.{name}}}}}"
        return _path(side, kind, name)

    return _KFP.sub(replace, text)


def _path(side: str, kind: str, name: str) -> str:
    return f"{_ROOT}/{side}/{kind}/{name}"


def _template(key: str, component: ComponentSpec) -> dict[str, Any]:
    inputs: dict[str, Any] = {}
    outputs: dict[str, Any] = {}
    parameters = [p for p in component.inputs if p.kind == "parameter"]
    artifacts = [p for p in component.inputs if p.kind == "artifact"]
    if parameters:
        inputs["parameters"] = [{"name": p.name} for p in parameters]
    if artifacts:
        inputs["artifacts"] = [
            {"name": p.name, "path": _path("inputs", "artifacts", p.name)} for p in artifacts
        ]
    produced = [p for p in component.outputs if p.kind == "parameter"]
    made = [p for p in component.outputs if p.kind == "artifact"]
    if produced:
        outputs["parameters"] = [
            {"name": p.name, "valueFrom": {"path": _path("outputs", "parameters", p.name)}}
            for p in produced
        ]
    if made:
        outputs["artifacts"] = [
            {"name": p.name, "path": _path("outputs", "artifacts", p.name)} for p in made
        ]
    container: dict[str, Any] = {"image": component.image or "python:3.11"}
    if component.container is not None:
        if component.container.command:
            container["command"] = [_argo_placeholders(c) for c in component.container.command]
        if component.container.args:
            container["args"] = [_argo_placeholders(a) for a in component.container.args]
    else:
        typed_in = {
            p.name: [
                p.kind,
                p.type,
                f"{{{{inputs.parameters.{p.name}}}}}"
                if p.kind == "parameter"
                else _path("inputs", "artifacts", p.name),
            ]
            for p in component.inputs
            if p.kind != "status"
        }
        typed_out = {
            p.name: [p.kind, p.type, _path("outputs", p.kind + "s", p.name)]
            for p in component.outputs
        }
        container["command"] = ["python3", "-c", _BOOT]
        container["args"] = [
            component.code.source or "",
            component.code.qualname,
            json.dumps(typed_in),
            json.dumps(typed_out),
        ]
    if component.env:
        container["env"] = [{"name": k, "value": v} for k, v in component.env.items()]
    if component.resources:
        container["resources"] = {"limits": dict(component.resources)}
    written: dict[str, Any] = {"name": key}
    if inputs:
        written["inputs"] = inputs
    if outputs:
        written["outputs"] = outputs
    written["container"] = container
    if component.retries:
        written["retryStrategy"] = {
            "limit": component.retries,
            "backoff": {"duration": f"{int(component.retry_backoff)}s", "factor": 2},
        }
    if component.timeout:
        written["activeDeadlineSeconds"] = int(component.timeout)
    return written


def _value(arg: ArgSpec, spec: PipelineSpec, where: str) -> str:
    if arg.param is not None:
        return f"{{{{workflow.parameters.{arg.param}}}}}"
    if arg.task is not None:
        return f"{{{{tasks.{arg.task}.outputs.parameters.{arg.output}}}}}"
    if arg.loop_item is not None:
        return "{{item}}" if arg.field is None else f"{{{{item.{arg.field}}}}}"
    if arg.collect is not None:
        raise InvalidInputError(f"{where}: collected loop outputs are not written to Argo")
    value = arg.constant
    return value if isinstance(value, str) else json.dumps(value)


def _when(condition: ConditionSpec, spec: PipelineSpec, where: str) -> str:
    left = _value(condition.left, spec, where)
    if condition.op in ("truthy", "falsy"):
        return f"{left} {'==' if condition.op == 'truthy' else '!='} true"
    assert condition.right is not None
    right = _value(condition.right, spec, where)
    if condition.right.kind() == "constant" and isinstance(condition.right.constant, str):
        right = f"'{right}'"  # Argo's govaluate: quoted strings
        left = f"'{left}'"
    return f"{left} {condition.op} {right}"


def write_argo_workflow(spec: PipelineSpec) -> dict[str, Any]:
    """The Argo ``Workflow`` (a dict, ready for YAML) of an mlcore spec."""
    templates: list[dict[str, Any]] = []
    names: dict[str, str] = {}
    for key, component in spec.components.items():
        name = re.sub(r"[^a-z0-9-]", "-", key.lower())
        names[key] = name
        templates.append(_template(name, component))
    tasks: list[dict[str, Any]] = []
    exit_tasks = [t for t in spec.tasks if t.exit_for]
    for task in spec.tasks:
        if task.exit_for:
            continue
        where = f"step {task.name!r}"
        component = spec.components[task.component]
        written: dict[str, Any] = {"name": task.name, "template": names[task.component]}
        depends = set(task.after)
        parameters, artifacts = [], []
        for name, arg in task.arguments.items():
            declared = component.input(name)
            if declared is not None and declared.kind == "artifact":
                if arg.task is None:
                    raise InvalidInputError(f"{where}: artifact {name!r} must come from a step")
                artifacts.append(
                    {
                        "name": name,
                        "from": f"{{{{tasks.{arg.task}.outputs.artifacts.{arg.output}}}}}",
                    }
                )
                depends.add(arg.task)
            else:
                parameters.append({"name": name, "value": _value(arg, spec, where)})
                if arg.task:
                    depends.add(arg.task)
        if parameters or artifacts:
            written["arguments"] = {}
            if parameters:
                written["arguments"]["parameters"] = parameters
            if artifacts:
                written["arguments"]["artifacts"] = artifacts
        if depends:
            written["dependencies"] = sorted(depends)
        if task.conditions:
            written["when"] = " && ".join(_when(c, spec, where) for c in task.conditions)
        if task.loop is not None:
            loop = spec.loops[task.loop]
            if loop.items.kind() == "constant":
                written["withItems"] = loop.items.constant
            else:
                written["withParam"] = _value(loop.items, spec, where)
        tasks.append(written)
    entry = re.sub(r"[^a-z0-9-]", "-", spec.name.lower())
    templates.insert(0, {"name": entry, "dag": {"tasks": tasks}})
    workflow_spec: dict[str, Any] = {"entrypoint": entry}
    parameters = [
        {
            "name": p.name,
            **(
                {"value": _value(ArgSpec(constant=p.default), spec, p.name)}
                if p.default is not None
                else {}
            ),
        }
        for p in spec.parameters
    ]
    if parameters:
        workflow_spec["arguments"] = {"parameters": parameters}
    if exit_tasks:
        exit_name = f"{entry}-exit"
        templates.append(
            {
                "name": exit_name,
                "steps": [[{"name": t.name, "template": names[t.component]} for t in exit_tasks]],
            }
        )
        workflow_spec["onExit"] = exit_name
    workflow_spec["templates"] = templates
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"generateName": f"{entry}-"},
        "spec": workflow_spec,
    }
