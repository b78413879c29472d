"""Entities: what the stores return and the API hands to users (pydantic v2 models).

They are immutable and validated when built from outside input (``Model(...)``); stores build
them from trusted rows with ``model_construct`` so reading 10,000 runs pays no validation.
Importing this module imports pydantic, so ``import mlcore`` does not import it (see
``mlcore.__getattr__``).
"""

from __future__ import annotations

import enum
import math
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator

__all__ = [
    "ArtifactFile",
    "ArtifactVersion",
    "Experiment",
    "ExperimentSummary",
    "FileInfo",
    "LifecycleStage",
    "LineageEdge",
    "LineageGraph",
    "LineageNode",
    "Metric",
    "ModelStage",
    "ModelVersion",
    "ModelVersionStatus",
    "RegisteredModel",
    "Run",
    "RunColumns",
    "RunData",
    "RunInfo",
    "RunStatus",
    "SampledSeries",
    "ViewType",
    "build",
]


class RunStatus(str, enum.Enum):
    """Status of a run. CRASHED is derived: RUNNING with a stale heartbeat."""

    RUNNING = "RUNNING"
    SCHEDULED = "SCHEDULED"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"
    CRASHED = "CRASHED"

    @property
    def is_terminal(self) -> bool:
        return self not in (RunStatus.RUNNING, RunStatus.SCHEDULED)

    def __str__(self) -> str:
        return self.value


class LifecycleStage(str, enum.Enum):
    ACTIVE = "active"
    DELETED = "deleted"

    def __str__(self) -> str:
        return self.value


class ViewType(str, enum.Enum):
    """Which lifecycle stages a search returns."""

    ACTIVE_ONLY = "active"
    DELETED_ONLY = "deleted"
    ALL = "all"


class _Entity(BaseModel):
    # NaN and infinities stay NaN and Infinity in JSON (metrics have them), not null.
    # defer_build: validators and serializers are built on a class's first validation or
    # dump, not at import (stores build entities with ``build``, which needs neither), which
    # takes about 100 ms off the first use of a store.
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        use_enum_values=False,
        ser_json_inf_nan="constants",
        defer_build=True,
    )


E = TypeVar("E", bound=BaseModel)


# the slots every pydantic model has, set directly (``object.__setattr__`` costs twice as much)
_slots = vars(BaseModel)
_set_dict = _slots["__dict__"].__set__
_set_fields = _slots["__pydantic_fields_set__"].__set__
_set_extra = _slots["__pydantic_extra__"].__set__
_set_private = _slots["__pydantic_private__"].__set__
_new = object.__new__


def build(cls: type[E], values: dict[str, Any]) -> E:
    """Build an entity from trusted values (every field given), without validation.

    What stores use when turning their own rows into entities: the result is the same as
    ``cls.model_construct(**values)`` (a test checks it), at an eighth of the cost, which is
    what lets a search return thousands of runs in milliseconds.
    """
    entity = _new(cls)
    _set_dict(entity, values)
    _set_fields(entity, set(values))
    _set_extra(entity, None)
    _set_private(entity, None)
    return entity


class Experiment(_Entity):
    """A named group of runs."""

    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: LifecycleStage = LifecycleStage.ACTIVE
    tags: dict[str, str] = Field(default_factory=dict)
    description: str | None = None
    creation_time: int | None = None
    last_update_time: int | None = None

    @property
    def id(self) -> str:
        return self.experiment_id


class RunInfo(_Entity):
    """Everything about a run except what was logged to it."""

    run_id: str
    experiment_id: str
    name: str
    status: RunStatus
    start_time: int
    end_time: int | None = None
    parent_run_id: str | None = None
    artifact_uri: str
    lifecycle_stage: LifecycleStage = LifecycleStage.ACTIVE
    user: str | None = None

    @property
    def run_name(self) -> str:  # MLflow spelling
        return self.name


class RunData(_Entity):
    """What was logged to a run: params, the latest value of each metric, tags."""

    params: dict[str, str] = Field(default_factory=dict)
    metrics: dict[str, float] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)


class Run(_Entity):
    """A run: ``.info``, ``.data`` and the W&B-style ``.config`` it was started with."""

    info: RunInfo
    data: RunData = Field(default_factory=RunData)
    config: dict[str, Any] = Field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.info.run_id


class Metric(_Entity):
    """One metric point."""

    key: str
    value: float
    timestamp: int
    step: int = 0


class FileInfo(_Entity):
    """A file or directory in an artifact store; ``path`` is relative to the listed root."""

    path: str
    is_dir: bool = False
    size: int | None = None
    sha256: str | None = None


# -- model registry ------------------------------------------------------------------------------
class ModelStage(str, enum.Enum):
    """Lifecycle stage of a model version (MLflow's stages)."""

    NONE = "None"
    STAGING = "Staging"
    PRODUCTION = "Production"
    ARCHIVED = "Archived"

    def __str__(self) -> str:
        return self.value


class ModelVersionStatus(str, enum.Enum):
    READY = "READY"
    PENDING_REGISTRATION = "PENDING_REGISTRATION"
    FAILED_REGISTRATION = "FAILED_REGISTRATION"

    def __str__(self) -> str:
        return self.value


class ModelVersion(_Entity):
    """One registered version of a model."""

    name: str
    version: int
    stage: ModelStage = ModelStage.NONE
    aliases: list[str] = Field(default_factory=list)
    tags: dict[str, str] = Field(default_factory=dict)
    description: str | None = None
    source: str
    run_id: str | None = None
    status: ModelVersionStatus = ModelVersionStatus.READY
    manifest_sha256: str | None = None
    creation_time: int | None = None
    last_update_time: int | None = None
    user: str | None = None

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"

    @property
    def current_stage(self) -> str:  # MLflow spelling
        return self.stage.value


class RegisteredModel(_Entity):
    """A named model with versions, tags, aliases and a description."""

    name: str
    description: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    aliases: dict[str, int] = Field(default_factory=dict)
    latest_versions: list[ModelVersion] = Field(default_factory=list)
    creation_time: int | None = None
    last_update_time: int | None = None


# -- versioned artifacts -------------------------------------------------------------------------
class ArtifactFile(_Entity):
    """A file of an artifact version: content-addressed, or a reference to a URI."""

    path: str
    sha256: str | None = None
    size: int | None = None
    ref: str | None = None


class ArtifactVersion(_Entity):
    """``name:vN`` of a versioned artifact (W&B Artifacts)."""

    name: str
    type: str
    version: int
    digest: str
    description: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    aliases: list[str] = Field(default_factory=list)
    files: list[ArtifactFile] = Field(default_factory=list)
    size: int = 0
    producer_run_id: str | None = None
    creation_time: int | None = None

    @property
    def qualified_name(self) -> str:
        return f"{self.name}:v{self.version}"


# -- lineage -------------------------------------------------------------------------------------
class LineageNode(_Entity):
    """A run, an artifact version or a model version in a lineage graph."""

    kind: str  # "run" | "artifact" | "model"
    id: str  # run id, "name:vN", or "models:/name/N"
    label: str


class LineageEdge(_Entity):
    """``source`` produced or was used by ``target``: run -> artifact/model (produced),
    artifact -> run (used)."""

    source: str
    target: str
    relation: str  # "produced" | "used"


class LineageGraph(_Entity):
    """Runs, artifact versions and model versions connected to a starting node."""

    root: str
    nodes: list[LineageNode] = Field(default_factory=list)
    edges: list[LineageEdge] = Field(default_factory=list)

    def node(self, node_id: str) -> LineageNode:
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)

    def producers(self, node_id: str) -> list[LineageNode]:
        """Nodes with an edge into ``node_id``."""
        return [self.node(e.source) for e in self.edges if e.target == node_id]

    def consumers(self, node_id: str) -> list[LineageNode]:
        """Nodes ``node_id`` has an edge to."""
        return [self.node(e.target) for e in self.edges if e.source == node_id]


class ExperimentSummary(_Entity):
    """An experiment with its number of runs and its last activity (what a list of
    experiments shows)."""

    experiment_id: str
    name: str
    lifecycle_stage: LifecycleStage = LifecycleStage.ACTIVE
    tags: dict[str, str] = Field(default_factory=dict)
    description: str | None = None
    creation_time: int | None = None
    last_update_time: int | None = None
    #: runs of the experiment that are not deleted
    run_count: int = 0
    #: ms: the latest run start or end, or experiment update; None when nothing is known
    last_activity: int | None = None


class RunColumns(_Entity):
    """The distinct param, metric and tag keys the runs of some experiments use, sorted."""

    params: list[str] = Field(default_factory=list)
    metrics: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)


JsonFloat = float | Literal["Infinity", "-Infinity"] | None


class SampledSeries(_Entity):
    """One metric of one run, downsampled so its extremes survive (M4 per bucket of steps).

    In JSON, ``values`` holds numbers, ``null`` for NaN and the strings ``"Infinity"`` /
    ``"-Infinity"`` for infinite values (JavaScript's ``Number(v)`` reads all three).
    """

    run_id: str
    key: str
    steps: list[int] = Field(default_factory=list)
    values: list[float | None] = Field(
        default_factory=list,
        description="metric values by step: numbers; null for NaN; the strings "
        '"Infinity" and "-Infinity" for infinite values',
    )
    #: ms since the epoch
    timestamps: list[int] = Field(default_factory=list)
    #: points the requested step range holds before downsampling
    total_points: int = 0
    #: True when points were dropped (``total_points > len(steps)``)
    sampled: bool = False

    @field_validator("values", mode="after")
    @classmethod
    def _null_is_nan(cls, values: list[float | None]) -> list[float | None]:
        """``null`` read from JSON is NaN again (what a local store returns)."""
        if None in values:
            return [math.nan if v is None else v for v in values]
        return values

    @field_serializer("values", when_used="json")
    def _json_values(self, values: list[float | None]) -> list[JsonFloat]:
        # the usual case (all finite) is checked at C speed, without a copy point by point
        if None not in values and all(map(math.isfinite, values)):  # type: ignore[arg-type]
            return list(values)
        return [_json_float(v) for v in values]


def _json_float(value: float | None) -> JsonFloat:
    if value is None or value != value:
        return None
    if value == math.inf:
        return "Infinity"
    if value == -math.inf:
        return "-Infinity"
    return value
