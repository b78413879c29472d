"""MLflow's JSON messages <-> mlcore's types.

MLflow keeps a run's name, parent, user and source in system tags; mlcore keeps the first three
as fields of the run and the source as ``mlcore.source.*`` tags. Incoming tags are split into
fields and tags (:func:`split_run_tags`); outgoing runs get the system tags back
(:func:`run_json`). Locations under the server's artifact root are shown as
``mlflow-artifacts:/<relative path>``, which the client reads through the artifact proxy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mlcore.server.mlflow_api.errors import MlflowApiError
from mlcore.types import Experiment, Run, RunInfo

__all__ = [
    "HIDDEN_PREFIX",
    "PARENT_TAG",
    "RUN_NAME_TAG",
    "USER_TAG",
    "ArtifactRoot",
    "RunFields",
    "experiment_json",
    "key_values",
    "metric_value",
    "run_info_json",
    "run_json",
    "split_run_tags",
    "stored_tag_key",
    "tag_list",
]

RUN_NAME_TAG = "mlflow.runName"
PARENT_TAG = "mlflow.parentRunId"
USER_TAG = "mlflow.user"
NOTE_TAG = "mlflow.note.content"
#: MLflow's source tags and the mlcore tags that hold the same thing
_SOURCE_TAGS = {
    "mlflow.source.name": "mlcore.source.name",
    "mlflow.source.git.commit": "mlcore.source.git.commit",
}
_MLCORE_SOURCE_TAGS = {v: k for k, v in _SOURCE_TAGS.items()}
SCHEME = "mlflow-artifacts:"


class ArtifactRoot:
    """The server's artifact root as MLflow clients see it."""

    def __init__(self, root: str) -> None:
        self.root = root.rstrip("/")

    def show(self, location: str) -> str:
        """``mlflow-artifacts:/<relative>`` for a location under the root; others as they are."""
        if location == self.root:
            return f"{SCHEME}/"
        if location.startswith(self.root + "/"):
            return f"{SCHEME}/{location[len(self.root) + 1 :]}"
        return location

    def relative(self, location: str) -> str | None:
        """The path under the root of a stored location, None if it lies elsewhere."""
        if location.startswith(self.root + "/"):
            return location[len(self.root) + 1 :]
        return None


def tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in tags.items()]


def key_values(items: Any, what: str) -> dict[str, str]:
    """``[{"key", "value"}, ...]`` as a dict (values as strings)."""
    if items is None:
        return {}
    if not isinstance(items, list):
        raise MlflowApiError(f"{what} must be a list of {{key, value}} objects")
    found: dict[str, str] = {}
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            raise MlflowApiError(f"each of {what} needs a string 'key'")
        value = item.get("value", "")
        found[item["key"]] = "" if value is None else str(value)
    return found


#: the prefix of the tags mlcore keeps for MLflow's own records (dataset inputs, logged models,
#: run outputs): not shown to the client as tags
HIDDEN_PREFIX = "mlcore.mlflow."


def experiment_json(experiment: Experiment, root: ArtifactRoot) -> dict[str, Any]:
    tags = {k: v for k, v in experiment.tags.items() if not k.startswith(HIDDEN_PREFIX)}
    if experiment.description and NOTE_TAG not in tags:
        tags[NOTE_TAG] = experiment.description
    body: dict[str, Any] = {
        "experiment_id": experiment.experiment_id,
        "name": experiment.name,
        "artifact_location": root.show(experiment.artifact_location),
        "lifecycle_stage": experiment.lifecycle_stage.value,
        "tags": tag_list(tags),
    }
    if experiment.creation_time is not None:
        body["creation_time"] = experiment.creation_time
    if experiment.last_update_time is not None:
        body["last_update_time"] = experiment.last_update_time
    return body


def _status(info: RunInfo) -> str:
    status = info.status.value
    return "FAILED" if status == "CRASHED" else status  # MLflow has no CRASHED


def run_info_json(info: RunInfo, root: ArtifactRoot) -> dict[str, Any]:
    body: dict[str, Any] = {
        "run_id": info.run_id,
        "run_uuid": info.run_id,
        "run_name": info.name,
        "experiment_id": info.experiment_id,
        "user_id": info.user or "",
        "status": _status(info),
        "start_time": info.start_time,
        "artifact_uri": root.show(info.artifact_uri),
        "lifecycle_stage": info.lifecycle_stage.value,
    }
    if info.end_time is not None:
        body["end_time"] = info.end_time
    return body


def metric_value(value: Any) -> Any:
    """A metric value as MLflow's JSON writes it: NaN and infinities as ``"NaN"``,
    ``"Infinity"``, ``"-Infinity"`` (protobuf's JSON refuses them bare)."""
    if value != value:
        return "NaN"
    if value in (math.inf, -math.inf):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def run_json(run: Run, root: ArtifactRoot, inputs: list[dict[str, Any]] | None = None) -> Any:
    """A run as MLflow's ``Run`` message, its fields repeated as MLflow's system tags."""
    info = run.info
    tags: dict[str, str] = {}
    for key, value in run.data.tags.items():
        tags[_MLCORE_SOURCE_TAGS.get(key, key)] = value
    tags[RUN_NAME_TAG] = info.name
    if info.user:
        tags[USER_TAG] = info.user
    if info.parent_run_id:
        tags[PARENT_TAG] = info.parent_run_id
    time = info.end_time or info.start_time
    return {
        "info": run_info_json(info, root),
        "data": {
            "metrics": [
                {"key": k, "value": metric_value(v), "timestamp": time, "step": 0}
                for k, v in run.data.metrics.items()
            ],
            "params": tag_list(run.data.params),
            "tags": tag_list(tags),
        },
        "inputs": {"dataset_inputs": inputs or []},
    }


@dataclass
class RunFields:
    """What MLflow's system tags say about a run, and the tags left to store."""

    tags: dict[str, str] = field(default_factory=dict)
    name: str | None = None
    parent_run_id: str | None = None
    user: str | None = None


def split_run_tags(tags: Mapping[str, str]) -> RunFields:
    """Incoming tags: name, parent and user become fields, source tags become mlcore's."""
    fields = RunFields()
    for key, value in tags.items():
        if key == RUN_NAME_TAG:
            fields.name = value or None
        elif key == PARENT_TAG:
            fields.parent_run_id = value or None
        elif key == USER_TAG:
            fields.user = value or None
        else:
            fields.tags[_SOURCE_TAGS.get(key, key)] = value
    return fields


def stored_tag_key(key: str) -> str:
    """The key an incoming tag is stored under."""
    return _SOURCE_TAGS.get(key, key)
