"""The neutral records both MLflow readers produce and the writer consumes."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "DatasetInput",
    "LoggedModel",
    "ModelVersionRecord",
    "Problem",
    "RegisteredModelRecord",
    "RunRecord",
    "SourceExperiment",
    "SourceFile",
]

#: MLflow's integer run statuses (file store ``meta.yaml``) by name
STATUS_BY_NUMBER = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}


@dataclass(frozen=True)
class Problem:
    """Something the import skipped: what, and why."""

    what: str
    reason: str


@dataclass(frozen=True)
class SourceFile:
    """An artifact file in the source: its path under the run (or model) and where it is."""

    path: str
    location: str
    size: int


@dataclass
class SourceExperiment:
    experiment_id: str
    name: str
    lifecycle_stage: str = "active"
    tags: dict[str, str] = field(default_factory=dict)
    creation_time: int | None = None


@dataclass(frozen=True)
class DatasetInput:
    """A dataset a run used (``mlflow.log_input``)."""

    name: str
    digest: str
    source_type: str | None = None
    source: str | None = None
    schema: str | None = None
    profile: str | None = None
    context: str | None = None


@dataclass
class RunRecord:
    """One MLflow run, read whole: a run is imported entirely or not at all."""

    run_id: str
    experiment_id: str
    name: str
    status: str
    start_time: int
    end_time: int | None
    lifecycle_stage: str
    user: str | None
    artifact_uri: str
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    #: key -> [(timestamp ms, step, value)] in logging order
    metrics: dict[str, list[tuple[int, int, float]]] = field(default_factory=dict)
    files: list[SourceFile] = field(default_factory=list)
    inputs: list[DatasetInput] = field(default_factory=list)

    @property
    def parent_run_id(self) -> str | None:
        return self.tags.get("mlflow.parentRunId") or None

    @property
    def points(self) -> int:
        return sum(len(history) for history in self.metrics.values())


@dataclass
class LoggedModel:
    """An MLflow 3 logged model (``mlflow.<flavor>.log_model(model, name=...)``)."""

    model_id: str
    experiment_id: str
    name: str
    source_run_id: str | None
    artifact_location: str
    files: list[SourceFile] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)


@dataclass
class ModelVersionRecord:
    version: int
    source: str
    run_id: str | None
    stage: str
    description: str | None
    tags: dict[str, str] = field(default_factory=dict)
    user: str | None = None
    storage_location: str | None = None
    model_id: str | None = None


@dataclass
class RegisteredModelRecord:
    name: str
    description: str | None
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)
    versions: list[ModelVersionRecord] = field(default_factory=list)
