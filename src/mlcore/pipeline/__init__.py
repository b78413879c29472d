"""Pipelines (services layer): typed components, a traced DAG, a YAML IR and a runner.

::

    from mlcore.pipeline import component, pipeline, Input, Output, Dataset, Model

    @component(retries=2)
    def preprocess(raw: Input[Dataset], clean: Output[Dataset], drop_na: bool = True): ...

    @component
    def train(data: Input[Dataset], model: Output[Model], n_estimators: int = 100) -> float: ...

    @pipeline(name="training")
    def training(data_uri: str, n_estimators: int = 100):
        p = preprocess(raw=data_uri)
        train(data=p.outputs["clean"], n_estimators=n_estimators)

    training.compile("training.yaml")
    result = training.run({"data_uri": "data.csv"}, executor="process")

See ``docs/pipelines.md``.
"""

from __future__ import annotations

from mlcore.pipeline import dsl
from mlcore.pipeline.dsl import (
    Collected,
    Component,
    PipelineTask,
    Task,
    component,
    exit_handler,
    for_each,
    when,
)
from mlcore.pipeline.kfp_dsl import Condition, Elif, Else, ExitHandler, If, ParallelFor, importer
from mlcore.pipeline.pipeline import Pipeline, pipeline
from mlcore.pipeline.runner import PipelineResult, StepInfo
from mlcore.pipeline.spec import PipelineSpec
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
    "Pipeline",
    "PipelineResult",
    "PipelineSpec",
    "PipelineStatus",
    "PipelineTask",
    "PipelineTaskFinalStatus",
    "SlicedClassificationMetrics",
    "StepInfo",
    "Task",
    "component",
    "dsl",
    "exit_handler",
    "for_each",
    "importer",
    "pipeline",
    "when",
]
