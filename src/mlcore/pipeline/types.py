"""Types components are written with: artifacts (``Dataset``, ``Model``...), ``Input`` /
``Output`` annotations and ``PipelineStatus`` (what an exit handler is told).

``Input[Dataset]`` is ``Annotated[Dataset, INPUT]``: type checkers see a ``Dataset``; mlcore
sees that the step reads it (downloaded to ``.path`` before the function runs).
``Output[Model]`` likewise marks a parameter the function writes (``.path`` is where; mlcore
uploads what is there when the function returns).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from mlcore.tracking.context import run_context

__all__ = [
    "INPUT",
    "OUTPUT",
    "Artifact",
    "Dataset",
    "Input",
    "Metrics",
    "Model",
    "Output",
    "PipelineStatus",
]


class _Direction:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


INPUT = _Direction("INPUT")
OUTPUT = _Direction("OUTPUT")

T = TypeVar("T")

#: A component parameter the step reads: ``raw: Input[Dataset]``.
Input = Annotated[T, INPUT]
#: A component parameter the step writes: ``model: Output[Model]``.
Output = Annotated[T, OUTPUT]


class Artifact:
    """A file or directory passed between steps through the artifact store.

    Attributes:
        name: the input or output name.
        uri: where it lives in the artifact store.
        path: a local path: read it (inputs) or write it (outputs; a file, or a directory).
        metadata: JSON-serialisable details a step may attach to an output.
    """

    type_name = "Artifact"

    def __init__(
        self, name: str = "", uri: str = "", path: str = "", metadata: dict[str, Any] | None = None
    ) -> None:
        self.name = name
        self.uri = uri
        self.path = path
        self.metadata: dict[str, Any] = dict(metadata or {})

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, uri={self.uri!r})"

    def read_text(self) -> str:
        with open(self.path) as handle:
            return handle.read()

    def write_text(self, text: str) -> None:
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        with open(self.path, "w") as handle:
            handle.write(text)


class Dataset(Artifact):
    type_name = "Dataset"


class Model(Artifact):
    type_name = "Model"


class Metrics(Artifact):
    """Metrics as an artifact (``log_metric`` also writes them to the step's run)."""

    type_name = "Metrics"

    def log_metric(self, name: str, value: float) -> None:
        self.metadata[name] = float(value)
        self.write_text(json.dumps(self.metadata))
        run = run_context().active_run()
        if run is not None:  # inside a step: the step's run
            run.log_metric(name, float(value))


ARTIFACT_TYPES: dict[str, type[Artifact]] = {
    cls.type_name: cls for cls in (Artifact, Dataset, Model, Metrics)
}


@dataclass
class PipelineStatus:
    """Passed to an exit-handler step that declares a parameter of this type."""

    state: str  # SUCCEEDED or FAILED
    failed_steps: list[str] = field(default_factory=list)
    pipeline_run_id: str = ""
