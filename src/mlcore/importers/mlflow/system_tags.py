"""MLflow's system tags and mlcore's fields: what an imported run keeps where."""

from __future__ import annotations

import json
from collections.abc import Mapping

from mlcore.importers.mlflow.records import DatasetInput

__all__ = ["IMPORTED_FROM", "INPUTS_TAG", "run_tags"]

#: set on every run an import completed, with the source it came from
IMPORTED_FROM = "mlcore.imported_from"
#: the datasets a run used (``mlflow.log_input``), as JSON
INPUTS_TAG = "mlcore.inputs"

#: MLflow tags that become run fields (name, parent, user): not kept as tags
_FIELDS = {"mlflow.runName", "mlflow.parentRunId", "mlflow.user"}
#: MLflow tags with an mlcore name
_RENAMED = {
    "mlflow.source.name": "mlcore.source.name",
    "mlflow.source.git.commit": "mlcore.source.git.commit",
}


def run_tags(tags: Mapping[str, str], inputs: list[DatasetInput]) -> dict[str, str]:
    """The tags an imported run gets: MLflow's system tags mapped, the others as they are."""
    mapped = {_RENAMED.get(key, key): value for key, value in tags.items() if key not in _FIELDS}
    if inputs:
        mapped[INPUTS_TAG] = json.dumps(
            [{k: v for k, v in vars(i).items() if v is not None} for i in inputs],
            sort_keys=True,
        )
    return mapped
