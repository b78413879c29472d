"""A run's dataset inputs (MLflow's ``log_input``) as mlcore artifact versions the run used.

An MLflow dataset input (a dataset's name, digest, source, schema and profile, and the input's
tags such as ``mlflow.data.context``) is kept as a version of the artifact collection of that
name, of type ``dataset``, with the MLflow record in its metadata and no stored bytes (one
reference file, ``mlflow-input:<sha256 of the record>``, gives the version its digest); the run is
linked to it as a run that *used* it (lineage). Logging the same dataset with the same tags
again answers the same version. ``mlcore server``'s MLflow API and ``mlcore import mlflow``
both write inputs this way and read them back with :func:`dataset_inputs`, which also shows
any other artifact version a run used as an input of source type ``mlcore``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from hashlib import sha256
from typing import TYPE_CHECKING, Any

from mlcore.errors import InvalidInputError

if TYPE_CHECKING:
    from mlcore.stores.store_base import StoreBase
    from mlcore.types import ArtifactVersion, Run

__all__ = [
    "DATASET_TYPE",
    "LEGACY_INPUTS_TAG",
    "LEGACY_INPUT_PREFIX",
    "METADATA_KEY",
    "REFERENCE_PATH",
    "collection_name",
    "dataset_inputs",
    "inputs_of_versions",
    "log_dataset_inputs",
]

#: the artifact type of a dataset an MLflow client logged
DATASET_TYPE = "dataset"
#: the artifact version metadata key holding the MLflow record ({"dataset", "tags"})
METADATA_KEY = "mlflow_input"
#: where earlier versions kept inputs: run tags (server) and one JSON tag (importer); read only
LEGACY_INPUT_PREFIX = "mlcore.mlflow.input."
LEGACY_INPUTS_TAG = "mlcore.inputs"

#: the one (reference) file of a dataset input's version
REFERENCE_PATH = "mlflow-dataset"
_DATASET_FIELDS = ("name", "digest", "source_type", "source", "schema", "profile")
_BAD = re.compile(r"[^A-Za-z0-9_.\-]+")


def collection_name(name: str) -> str:
    """The artifact collection an MLflow dataset named ``name`` goes to (its name when mlcore
    accepts it, else letters, digits, ``_.-`` with the rest as ``-``, 128 at most)."""
    cleaned = _BAD.sub("-", name).strip("-.") or "dataset"
    if not cleaned[0].isalnum():
        cleaned = "d" + cleaned
    return cleaned[:128]


def _record(item: Mapping[str, Any]) -> dict[str, Any]:
    """One input as MLflow's ``DatasetInput`` message, checked and with string fields only."""
    dataset = item.get("dataset")
    if not isinstance(dataset, Mapping) or not isinstance(dataset.get("name"), str):
        raise InvalidInputError("each dataset input needs a dataset with a name", field="datasets")
    if not dataset["name"]:
        raise InvalidInputError("each dataset input needs a dataset with a name", field="datasets")
    clean = {}
    for key in _DATASET_FIELDS:
        value = dataset.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise InvalidInputError(f"dataset {key} must be a string", field="datasets")
        clean[key] = value
    clean.setdefault("digest", "")
    tags = []
    for tag in item.get("tags") or []:
        if not isinstance(tag, Mapping) or not isinstance(tag.get("key"), str):
            raise InvalidInputError("each input tag needs a string key", field="datasets")
        tags.append({"key": tag["key"], "value": str(tag.get("value") or "")})
    return {"dataset": clean, "tags": sorted(tags, key=lambda t: (t["key"], t["value"]))}


def log_dataset_inputs(
    store: StoreBase, run_id: str, inputs: Sequence[Mapping[str, Any]]
) -> list[ArtifactVersion]:
    """Record ``inputs`` (MLflow ``DatasetInput`` messages: ``{"dataset": {...}, "tags":
    [...]}``) as dataset artifact versions ``run_id`` used; returns the versions.

    Raises:
        InvalidInputError: an input without a dataset name, non-string fields, or a collection
            of that name that holds another type of artifact. Nothing is recorded then.
    """
    from mlcore.stores import require_artifact_versions
    from mlcore.stores.artifact_versions_api import manifest_digest
    from mlcore.types import ArtifactFile

    versions_store = require_artifact_versions(store)
    records = [_record(item) for item in inputs]
    used = []
    for record in records:
        canonical = json.dumps(record, sort_keys=True, separators=(",", ":"))
        # no bytes are stored: one reference names the record, and makes the version's digest
        record_sha = sha256(canonical.encode()).hexdigest()
        reference = ArtifactFile(path=REFERENCE_PATH, ref=f"mlflow-input:{record_sha}")
        version, _created = versions_store.create_artifact_version(
            collection_name(record["dataset"]["name"]),
            DATASET_TYPE,
            digest=manifest_digest([reference]),
            files=[reference],
            metadata={METADATA_KEY: record},
        )
        used.append(versions_store.record_artifact_use(version.qualified_name, run_id))
    return used


def inputs_of_versions(versions: Sequence[ArtifactVersion]) -> list[dict[str, Any]]:
    """MLflow ``DatasetInput`` messages for the artifact versions a run used."""
    found = []
    for version in versions:
        record = version.metadata.get(METADATA_KEY)
        if isinstance(record, dict) and isinstance(record.get("dataset"), dict):
            found.append(record)
            continue
        found.append(
            {
                "dataset": {
                    "name": version.name,
                    "digest": version.digest[:8],
                    "source_type": "mlcore",
                    "source": json.dumps({"uri": f"artifact:{version.qualified_name}"}),
                },
                "tags": [],
            }
        )
    return found


def _legacy(run: Run) -> list[dict[str, Any]]:
    """Inputs an earlier mlcore kept in run tags (``mlcore.mlflow.input.*``, ``mlcore.inputs``)."""
    found: list[dict[str, Any]] = []
    for key, value in sorted(run.data.tags.items()):
        try:
            if key.startswith(LEGACY_INPUT_PREFIX):
                item = json.loads(value)
                if isinstance(item, dict):
                    found.append(item)
            elif key == LEGACY_INPUTS_TAG:
                for entry in json.loads(value):
                    context = entry.pop("context", None)
                    tags = [{"key": "mlflow.data.context", "value": context}] if context else []
                    found.append({"dataset": entry, "tags": tags})
        except (ValueError, TypeError, AttributeError):
            continue
    return found


def dataset_inputs(store: StoreBase, runs: Sequence[Run]) -> dict[str, list[dict[str, Any]]]:
    """Each run's dataset inputs as MLflow ``DatasetInput`` messages, by run id (one store
    read for all of ``runs`` where the backend offers it)."""
    from mlcore.stores import ArtifactVersionStore

    used: dict[str, list[ArtifactVersion]] = {}
    if runs and isinstance(store, ArtifactVersionStore):
        used = store.artifacts_used_by_runs([r.info.run_id for r in runs])
    return {
        r.info.run_id: _legacy(r) + inputs_of_versions(used.get(r.info.run_id, [])) for r in runs
    }
