"""MLflow's system tags and mlcore's fields: what an imported run keeps where."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlcore.importers.mlflow.records import DatasetInput

__all__ = ["IMPORTED_FROM", "input_messages", "run_tags"]

#: set on every run an import completed, with the source it came from
IMPORTED_FROM = "mlcore.imported_from"

#: MLflow tags that become run fields (name, parent, user): not kept as tags
_FIELDS = {"mlflow.runName", "mlflow.parentRunId", "mlflow.user"}
#: MLflow tags with an mlcore name
_RENAMED = {
    "mlflow.source.name": "mlcore.source.name",
    "mlflow.source.git.commit": "mlcore.source.git.commit",
}


def run_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """The tags an imported run gets: MLflow's system tags mapped, the others as they are."""
    return {_RENAMED.get(key, key): value for key, value in tags.items() if key not in _FIELDS}


def input_messages(inputs: list[DatasetInput]) -> list[dict[str, Any]]:
    """A run's dataset inputs as MLflow's ``DatasetInput`` messages (what
    :func:`mlcore.tracking.dataset_inputs.log_dataset_inputs` records)."""
    messages = []
    for item in inputs:
        dataset = {k: v for k, v in vars(item).items() if v is not None and k != "context"}
        tags = [{"key": "mlflow.data.context", "value": item.context}] if item.context else []
        messages.append({"dataset": dataset, "tags": tags})
    return messages
