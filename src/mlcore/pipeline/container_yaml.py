"""Plain YAML pipelines of container steps, as Kubeflow and Argo users write them by hand:

- a ``kind: Pipeline`` document whose ``spec.pipelineSpec.tasks`` each have a ``container``
  (``image``, ``command``, ``args``), ``inputs``/``outputs`` of ``artifacts`` (an input
  names the ``task`` it comes from) and ``dependencies``;
- an Argo ``Workflow`` (or a bare ``templates`` list): a ``dag`` template whose tasks name
  container templates, with ``dependencies`` and ``arguments``.

Placeholders become KFP's (``{{$.inputs.parameters['x']}}``...): the dotted form
(``{{$.outputs.artifacts.model.path}}``), Argo's (``{{inputs.parameters.x}}``), and a
declared artifact ``path`` used literally in the command (it is where the runtime puts it).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from mlcore.errors import InvalidInputError
from mlcore.pipeline.spec import (
    ArgSpec,
    CodeSpec,
    ComponentSpec,
    ContainerCommandSpec,
    ParamSpec,
    PipelineSpec,
    TaskSpec,
)

__all__ = ["is_container_yaml", "read_container_yaml"]

_DOTTED = re.compile(
    r"\{\{\s*\$?\.?(inputs|outputs)\.(parameters|artifacts)\.([\w-]+)(\.\w+)?\s*\}\}"
)
_TASK_REF = re.compile(r"\{\{\s*tasks\.([\w-]+)\.outputs\.(parameters|artifacts)\.([\w-]+)\s*\}\}")
_WORKFLOW_REF = re.compile(r"\{\{\s*workflow\.parameters\.([\w-]+)\s*\}\}")


def is_container_yaml(data: Any) -> bool:
    """Whether a parsed document is one of the forms this module reads."""
    if not isinstance(data, dict):
        return False
    spec = data.get("spec") or {}
    if isinstance(spec, dict) and (spec.get("pipelineSpec") or {}).get("tasks"):
        return True
    return bool((spec if isinstance(spec, dict) else {}).get("templates") or data.get("templates"))


def _placeholders(text: str, paths: dict[str, tuple[str, str, str]]) -> str:
    def dotted(match: re.Match[str]) -> str:
        side, kind, name, attribute = match.groups()
        if kind == "parameters" and side == "inputs":
            return f"{{{{$.inputs.parameters['{name}']}}}}"
        if kind == "parameters":
            return f"{{{{$.outputs.parameters['{name}'].output_file}}}}"
        return f"{{{{$.{side}.artifacts['{name}']{attribute or '.path'}}}}}"

    text = _DOTTED.sub(dotted, text)
    for literal, (side, kind, name) in sorted(paths.items(), key=lambda kv: -len(kv[0])):
        suffix = ".output_file" if (side, kind) == ("outputs", "parameters") else ".path"
        text = text.replace(literal, f"{{{{$.{side}.{kind}['{name}']{suffix}}}}}")
    return text


def _component(name: str, body: dict[str, Any]) -> ComponentSpec:
    container = body.get("container") or body.get("script")
    if not isinstance(container, dict) or not container.get("image"):
        raise InvalidInputError(f"step {name!r}: needs a container with an image")
    inputs: list[ParamSpec] = []
    outputs: list[ParamSpec] = []
    paths: dict[str, tuple[str, str, str]] = {}
    for side, found in (("inputs", inputs), ("outputs", outputs)):
        declared = body.get(side) or {}
        for param in declared.get("parameters") or []:
            found.append(ParamSpec(name=param["name"], type="str", optional="value" in param))
            source = (param.get("valueFrom") or {}).get("path")
            if source:
                paths[str(source)] = (side, "parameters", param["name"])
        for artifact in declared.get("artifacts") or []:
            found.append(ParamSpec(name=artifact["name"], type="Artifact", kind="artifact"))
            if artifact.get("path"):
                paths[str(artifact["path"])] = (side, "artifacts", artifact["name"])
    command = [_placeholders(str(c), paths) for c in container.get("command") or []]
    args = [_placeholders(str(a), paths) for a in container.get("args") or []]
    if "source" in container:  # an Argo script template: the source is the last argument
        args.append(_placeholders(str(container["source"]), paths))
    declared = {(p.kind, p.name) for p in inputs} | {(p.kind, p.name) for p in outputs}
    for side, kind, used in re.findall(
        r"\{\{\$\.(inputs|outputs)\.(parameters|artifacts)\['([^']+)'\]", " ".join(command + args)
    ):  # used in the command without being declared: declared here
        param_kind = "artifact" if kind == "artifacts" else "parameter"
        if (param_kind, used) not in declared:
            declared.add((param_kind, used))
            added = ParamSpec(name=used, type="str")
            if kind == "artifacts":
                added = ParamSpec(name=used, type="Artifact", kind="artifact")
            (inputs if side == "inputs" else outputs).append(added)
    env = {str(e["name"]): str(e.get("value", "")) for e in container.get("env") or []}
    digest = hashlib.sha256(json.dumps([container["image"], command, args]).encode()).hexdigest()
    return ComponentSpec(
        name=name,
        inputs=inputs,
        outputs=outputs,
        image=str(container["image"]),
        env=env,
        code=CodeSpec(module="__container__", qualname=name, digest=digest),
        container=ContainerCommandSpec(command=command, args=args),
    )


def _argument(value: Any, producers: dict[str, str], params: set[str]) -> ArgSpec:
    text = str(value)
    match = _TASK_REF.fullmatch(text.strip())
    if match:
        return ArgSpec(task=match.group(1), output=match.group(3))
    match = _WORKFLOW_REF.fullmatch(text.strip())
    if match and match.group(1) in params:
        return ArgSpec(param=match.group(1))
    return ArgSpec(constant=value)


def _read_kubeflow(data: dict[str, Any]) -> PipelineSpec:
    tasks_in = data["spec"]["pipelineSpec"]["tasks"]
    components: dict[str, ComponentSpec] = {}
    tasks: list[TaskSpec] = []
    for task in tasks_in:
        name = str(task["name"])
        components[name] = _component(name, task)
        arguments: dict[str, ArgSpec] = {}
        after = [str(d) for d in task.get("dependencies") or []]
        for artifact in (task.get("inputs") or {}).get("artifacts") or []:
            if artifact.get("task"):
                output = artifact.get("output") or artifact.get("from") or artifact["name"]
                arguments[artifact["name"]] = ArgSpec(task=artifact["task"], output=output)
            elif artifact.get("uri") or artifact.get("value"):
                arguments[artifact["name"]] = ArgSpec(
                    constant=artifact.get("uri") or artifact.get("value")
                )
        for param in (task.get("inputs") or {}).get("parameters") or []:
            if "value" in param:
                arguments[param["name"]] = ArgSpec(constant=param["value"])
        tasks.append(TaskSpec(name=name, component=name, arguments=arguments, after=after))
    name = (data.get("metadata") or {}).get("name") or "pipeline"
    return PipelineSpec(name=str(name), components=components, tasks=tasks)


def _read_argo(data: dict[str, Any]) -> PipelineSpec:
    spec = data.get("spec") or data
    templates = {str(t["name"]): t for t in spec.get("templates") or []}
    entry = spec.get("entrypoint")
    dags = [t for t in templates.values() if "dag" in t]
    dag_template = templates.get(entry) if entry in templates else (dags[0] if dags else None)
    if dag_template is None or "dag" not in dag_template:
        raise InvalidInputError("the Argo workflow has no dag template to run")
    parameters = [
        ParamSpec(name=str(p["name"]), type="str", default=p.get("value"), optional="value" in p)
        for p in ((spec.get("arguments") or {}).get("parameters") or [])
    ]
    names = {p.name for p in parameters}
    components: dict[str, ComponentSpec] = {}
    tasks: list[TaskSpec] = []
    for task in dag_template["dag"].get("tasks") or []:
        template = str(task.get("template"))
        if template not in templates:
            raise InvalidInputError(
                f"Argo task {task.get('name')!r}: unknown template {template!r}"
            )
        if "dag" in templates[template] or "steps" in templates[template]:
            raise InvalidInputError(f"Argo template {template!r}: nested DAGs are not read")
        if template not in components:
            components[template] = _component(template, templates[template])
        arguments: dict[str, ArgSpec] = {}
        given = task.get("arguments") or {}
        for param in given.get("parameters") or []:
            arguments[param["name"]] = _argument(param.get("value"), {}, names)
        for artifact in given.get("artifacts") or []:
            arguments[artifact["name"]] = _argument(artifact.get("from"), {}, names)
        after = [str(d) for d in task.get("dependencies") or []]
        tasks.append(
            TaskSpec(name=str(task["name"]), component=template, arguments=arguments, after=after)
        )
    name = (data.get("metadata") or {}).get("name") or (data.get("metadata") or {}).get(
        "generateName", "workflow"
    ).rstrip("-")
    return PipelineSpec(name=str(name), parameters=parameters, components=components, tasks=tasks)


def read_container_yaml(data: dict[str, Any]) -> PipelineSpec:
    """mlcore's spec of a plain container-pipeline document (parsed YAML)."""
    try:
        if ((data.get("spec") or {}).get("pipelineSpec") or {}).get("tasks"):
            return _read_kubeflow(data)
        return _read_argo(data)
    except (KeyError, TypeError, AttributeError) as exc:
        raise InvalidInputError(
            f"cannot read the container pipeline: {type(exc).__name__}: {exc}"
        ) from exc
