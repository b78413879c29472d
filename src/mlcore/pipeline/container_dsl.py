"""KFP's container components: ``@container_component`` on a function that returns
``ContainerSpec(image, command, args)``. The function is called once, with placeholders for
its parameters (``{{$.inputs.parameters['x']}}``, an ``OutputPath``'s
``{{$.outputs.parameters['y'].output_file}}``...), and the command it returns is the step."""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlcore.errors import InvalidInputError
from mlcore.pipeline.dsl import Component
from mlcore.pipeline.spec import ContainerCommandSpec, ParamSpec

__all__ = ["ContainerSpec", "container_component"]


@dataclass
class ContainerSpec:
    """What a container component runs (KFP's ``dsl.ContainerSpec``)."""

    image: str
    command: list[Any] | None = None
    args: list[Any] | None = None
    env: dict[str, str] = field(default_factory=dict)


def _placeholder(param: ParamSpec, output: bool) -> str:
    side = "outputs" if output else "inputs"
    if param.kind == "artifact":
        return f"{{{{$.{side}.artifacts['{param.name}'].path}}}}"
    if output:
        return f"{{{{$.outputs.parameters['{param.name}'].output_file}}}}"
    return f"{{{{$.inputs.parameters['{param.name}']}}}}"


class _ArtifactPlaceholder(str):
    """An ``Input[...]``/``Output[...]`` seen by a container component: ``.path``, ``.uri``."""

    def __new__(cls, side: str, name: str) -> _ArtifactPlaceholder:
        made = super().__new__(cls, f"{{{{$.{side}.artifacts['{name}'].path}}}}")
        made.path = str(made)
        made.uri = f"{{{{$.{side}.artifacts['{name}'].uri}}}}"
        return made

    path: str
    uri: str


class ContainerComponent(Component):
    """A component whose step runs a command in an image."""

    def __init__(self, func: Callable[..., Any], options: dict[str, Any]) -> None:
        super().__init__(func, options)
        where = f"container component {self.spec.name!r}"
        from mlcore.pipeline.components import path_parameters

        paths = path_parameters(func)
        placeholders: dict[str, Any] = {}
        for output, params in ((False, self.spec.inputs), (True, self.spec.outputs)):
            for p in params:
                if p.kind == "artifact" and p.name not in paths:
                    side = "outputs" if output else "inputs"
                    placeholders[p.name] = _ArtifactPlaceholder(side, p.name)
                else:
                    placeholders[p.name] = _placeholder(p, output)
        returned = func(**placeholders)
        if not isinstance(returned, ContainerSpec):
            raise InvalidInputError(f"{where} must return dsl.ContainerSpec(image, command, args)")
        if any(p.kind == "parameter" for p in self.spec.outputs if p.name == "Output"):
            raise InvalidInputError(f"{where}: outputs are OutputPath parameters, not a return")
        command = [str(part) for part in returned.command or []]
        args = [str(part) for part in returned.args or []]
        container = ContainerCommandSpec(command=command, args=args)
        digest = hashlib.sha256(
            json.dumps([returned.image, command, args], sort_keys=True).encode()
        ).hexdigest()
        self.spec = self.spec.model_copy(
            update={
                "image": returned.image,
                "container": container,
                "env": {**self.spec.env, **returned.env},
                "code": self.spec.code.model_copy(update={"digest": digest}),
            }
        )
        self.key = f"{self.spec.name}-{digest[:8]}"


def container_component(func: Callable[..., Any]) -> ContainerComponent:
    """Turn a function returning :class:`ContainerSpec` into a component."""
    frame = sys._getframe(1)
    return ContainerComponent(func, {"localns": dict(frame.f_locals)})
