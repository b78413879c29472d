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
    "HTML",
    "INPUT",
    "OUTPUT",
    "Artifact",
    "ClassificationMetrics",
    "Dataset",
    "Input",
    "InputPath",
    "Markdown",
    "Metrics",
    "Model",
    "Output",
    "OutputPath",
    "PipelineStatus",
    "PipelineTaskFinalStatus",
    "SlicedClassificationMetrics",
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


class ClassificationMetrics(Artifact):
    """ROC points and a confusion matrix, in ``metadata`` (KFP's layout)."""

    type_name = "ClassificationMetrics"

    def _save(self) -> None:
        self.write_text(json.dumps(self.metadata))

    def log_roc_data_point(self, fpr: float, tpr: float, threshold: float) -> None:
        point = {"confidenceThreshold": threshold, "recall": tpr, "falsePositiveRate": fpr}
        self.metadata.setdefault("confidenceMetrics", []).append(point)
        self._save()

    def log_roc_curve(self, fpr: list[float], tpr: list[float], threshold: list[float]) -> None:
        if not len(fpr) == len(tpr) == len(threshold):
            raise ValueError("fpr, tpr and threshold must have the same length")
        for f, t, h in zip(fpr, tpr, threshold):
            self.log_roc_data_point(f, t, h)

    def set_confusion_matrix_categories(self, categories: list[str]) -> None:
        self.metadata["confusionMatrix"] = {
            "annotationSpecs": [{"displayName": c} for c in categories],
            "rows": [{"row": [0] * len(categories)} for _ in categories],
        }
        self._save()

    def _categories(self) -> list[str]:
        matrix = self.metadata.get("confusionMatrix")
        if matrix is None:
            raise ValueError("call set_confusion_matrix_categories first")
        return [spec["displayName"] for spec in matrix["annotationSpecs"]]

    def log_confusion_matrix_row(self, row_category: str, row: list[Any]) -> None:
        categories = self._categories()
        if row_category not in categories or len(row) != len(categories):
            raise ValueError(f"invalid row {row_category!r} for categories {categories}")
        self.metadata["confusionMatrix"]["rows"][categories.index(row_category)] = {
            "row": list(row)
        }
        self._save()

    def log_confusion_matrix_cell(self, row_category: str, col_category: str, value: int) -> None:
        categories = self._categories()
        if row_category not in categories or col_category not in categories:
            raise ValueError(f"categories must be among {categories}")
        rows = self.metadata["confusionMatrix"]["rows"]
        rows[categories.index(row_category)]["row"][categories.index(col_category)] = value
        self._save()

    def log_confusion_matrix(self, categories: list[str], matrix: list[list[int]]) -> None:
        if len(matrix) != len(categories) or any(len(r) != len(categories) for r in matrix):
            raise ValueError(f"a {len(categories)}x{len(categories)} matrix is needed")
        self.set_confusion_matrix_categories(categories)
        for category, row in zip(categories, matrix):
            self.log_confusion_matrix_row(category, row)


class SlicedClassificationMetrics(Artifact):
    type_name = "SlicedClassificationMetrics"


class HTML(Artifact):
    type_name = "HTML"


class Markdown(Artifact):
    type_name = "Markdown"


ARTIFACT_TYPES: dict[str, type[Artifact]] = {
    cls.type_name: cls
    for cls in (
        Artifact,
        Dataset,
        Model,
        Metrics,
        ClassificationMetrics,
        SlicedClassificationMetrics,
        HTML,
        Markdown,
    )
}


class InputPath:
    """KFP's ``InputPath('Dataset')``: the step gets the local path of an input artifact
    (a ``str``), not an :class:`Artifact`."""

    def __init__(self, type: Any = None) -> None:
        self.type = type

    def __repr__(self) -> str:
        return f"InputPath({self.type!r})"


class OutputPath:
    """KFP's ``OutputPath(int)`` / ``OutputPath('Model')``: the step gets a path to write.
    For a parameter type the file's content is the output value (text for ``str``, JSON
    otherwise); for an artifact type the file is the artifact."""

    def __init__(self, type: Any = None) -> None:
        self.type = type

    def __repr__(self) -> str:
        return f"OutputPath({self.type!r})"


@dataclass
class PipelineStatus:
    """Passed to an exit-handler step that declares a parameter of this type."""

    state: str  # SUCCEEDED or FAILED
    failed_steps: list[str] = field(default_factory=list)
    pipeline_run_id: str = ""


@dataclass
class PipelineTaskFinalStatus:
    """KFP's exit-handler status: ``state`` SUCCEEDED or FAILED, the pipeline run (as
    ``pipeline_job_resource_name``), the exit handler's name and the first failure."""

    state: str
    pipeline_job_resource_name: str = ""
    pipeline_task_name: str = ""
    error_code: int | None = None
    error_message: str | None = None
