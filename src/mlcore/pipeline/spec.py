"""The pipeline IR: a versioned pydantic model that round-trips through readable YAML.

``format: mlcore.pipeline/v1``. A spec holds the pipeline's parameters, its components (with
their code: an import path, the source, and a cloudpickle for code that is not importable)
and its tasks. A task argument is one of::

    {constant: <JSON value>}                  a literal
    {param: <pipeline parameter>}             a pipeline argument
    {task: <task>, output: <name>}            an output of an earlier task
    {loop_item: <loop id>, field: <key|null>} the current item of a for_each loop
    {collect: <task>, output: <name>}         every loop iteration's output, as a list
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mlcore.errors import InvalidInputError

__all__ = [
    "FORMAT",
    "ArgSpec",
    "CodeSpec",
    "ComponentSpec",
    "ConditionSpec",
    "ContainerCommandSpec",
    "LoopSpec",
    "ParamSpec",
    "PipelineSpec",
    "TaskSpec",
]

FORMAT = "mlcore.pipeline/v1"
PARAMETER_TYPES = ("str", "int", "float", "bool", "list", "dict")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ParamSpec(_Model):
    """An input or output of a component, or a pipeline parameter."""

    name: str
    type: str  # a parameter type (str, int...) or an artifact type (Dataset, Model...)
    kind: Literal["parameter", "artifact", "status"] = "parameter"
    default: Any = None
    optional: bool = False


class CodeSpec(_Model):
    """Where a component's function comes from, in the order a worker tries: its import path
    (when ``importable``), the embedded cloudpickle (by value), its source."""

    module: str
    qualname: str
    importable: bool = False
    source: str | None = None
    pickle: str | None = None  # base64 cloudpickle of the function and its module's helpers
    digest: str  # sha256 of the source (or of the pickle): part of the cache key


class ContainerCommandSpec(_Model):
    """What a container component runs: ``command`` and ``args`` of its ``image``, with
    KFP's placeholders (``{{$.inputs.parameters['x']}}``,
    ``{{$.outputs.parameters['y'].output_file}}``, ``{{$.inputs.artifacts['a'].path}}``,
    ``{{$.outputs.artifacts['m'].path}}``)."""

    command: list[str] = Field(default_factory=list)
    args: list[str] = Field(default_factory=list)


class ComponentSpec(_Model):
    name: str
    inputs: list[ParamSpec] = Field(default_factory=list)
    outputs: list[ParamSpec] = Field(default_factory=list)
    retries: int = 0
    retry_backoff: float = 1.0
    timeout: float | None = None
    cache: bool = True
    image: str | None = None
    resources: dict[str, str] = Field(default_factory=dict)
    env: dict[str, str] = Field(default_factory=dict)
    packages: list[str] = Field(default_factory=list)  # pip requirements the code needs
    pip_index_urls: list[str] = Field(default_factory=list)
    code: CodeSpec
    container: ContainerCommandSpec | None = None  # a container component: runs this

    def input(self, name: str) -> ParamSpec | None:
        return next((p for p in self.inputs if p.name == name), None)

    def output(self, name: str) -> ParamSpec | None:
        return next((p for p in self.outputs if p.name == name), None)


class ArgSpec(_Model):
    constant: Any = None
    param: str | None = None
    task: str | None = None
    output: str | None = None
    loop_item: str | None = None
    field: str | None = None
    collect: str | None = None

    def kind(self) -> str:
        for name in ("param", "task", "loop_item", "collect"):
            if getattr(self, name) is not None:
                return name
        return "constant"


class ConditionSpec(_Model):
    left: ArgSpec
    op: Literal["==", "!=", "<", "<=", ">", ">=", "truthy", "falsy"]
    right: ArgSpec | None = None


class LoopSpec(_Model):
    items: ArgSpec
    parallelism: int | None = None


class TaskSpec(_Model):
    name: str
    component: str
    arguments: dict[str, ArgSpec] = Field(default_factory=dict)
    after: list[str] = Field(default_factory=list)
    loop: str | None = None
    conditions: list[ConditionSpec] = Field(default_factory=list)
    exit_for: list[str] | None = None  # an exit handler: runs once these tasks have ended
    display_name: str | None = None


class PipelineSpec(_Model):
    format: str = FORMAT
    name: str
    description: str | None = None
    parameters: list[ParamSpec] = Field(default_factory=list)
    components: dict[str, ComponentSpec] = Field(default_factory=dict)
    loops: dict[str, LoopSpec] = Field(default_factory=dict)
    tasks: list[TaskSpec] = Field(default_factory=list)

    def task(self, name: str) -> TaskSpec:
        for task in self.tasks:
            if task.name == name:
                return task
        raise KeyError(name)

    def to_yaml(self) -> str:
        import yaml

        class _Literal(str):
            pass

        def literal(dumper: Any, value: _Literal) -> Any:
            return dumper.represent_scalar("tag:yaml.org,2002:str", str(value), style="|")

        class Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
            pass

        Dumper.add_representer(_Literal, literal)
        data = self.model_dump(mode="json", exclude_defaults=True)
        data = {"format": FORMAT, **data}
        for component in data.get("components", {}).values():
            source = component.get("code", {}).get("source")
            if source:
                component["code"]["source"] = _Literal(source)
        return str(yaml.dump(data, Dumper=Dumper, sort_keys=False, allow_unicode=True, width=100))

    def to_json(self) -> str:
        """The same spec as JSON (which :meth:`from_yaml` reads too: YAML holds JSON)."""
        import json

        data = self.model_dump(mode="json", exclude_defaults=True)
        return json.dumps({"format": FORMAT, **data}, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_yaml(cls, text: str) -> PipelineSpec:
        import yaml

        try:
            data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except yaml.YAMLError as exc:
            raise InvalidInputError(f"pipeline file is not valid YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise InvalidInputError("a pipeline file holds a mapping")
        if "format" not in data:
            raise InvalidInputError(
                f"not a pipeline spec mlcore reads: no 'format: {FORMAT}' key, and not a "
                "KFP v2 PipelineSpec (pipelineInfo, root, components)"
            )
        if data.get("format") != FORMAT:
            raise InvalidInputError(
                f"unsupported pipeline format {data.get('format')!r}; this mlcore reads {FORMAT}"
            )
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise InvalidInputError(f"invalid pipeline spec: {exc}") from exc
