"""Step caching: a step's cache key, and the earlier step runs whose outputs it may reuse.

A step is cached by the hash of its component's name and code, its input values and its
input artifacts' sha256. A step run records its key (``CACHE_TAG``) and its outputs
(``OUTPUTS_TAG``, or a file of the run when too large for a tag); a later step with the same
key reuses the outputs of the latest such run whose artifacts still exist, and its own run
records where they came from (``CACHED_FROM_TAG``).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mlcore.errors import InvalidInputError
from mlcore.pipeline import worker
from mlcore.pipeline.worker import ArtifactRef

if TYPE_CHECKING:
    from mlcore.pipeline.spec import ComponentSpec
    from mlcore.stores import MetadataStore
    from mlcore.types import Run

__all__ = [
    "CACHED_FROM_TAG",
    "CACHE_TAG",
    "OUTPUTS_TAG",
    "cache_hit_tags",
    "cache_key",
    "find_cached",
    "import_artifact",
    "outputs_tag",
    "reused_outputs",
    "stored_outputs",
]

CACHE_TAG = "mlcore.pipeline.cache_key"
OUTPUTS_TAG = "mlcore.pipeline.outputs"
CACHED_FROM_TAG = "mlcore.pipeline.cached_from"
#: Outputs larger than this (as JSON) are kept in a file of the step run, not in a tag.
INLINE_OUTPUTS_LIMIT = 60_000
OUTPUTS_FILE = "_mlcore/outputs.json"
_LOOKUP_CHUNK = 200


def cache_key(
    component: ComponentSpec, parameters: Mapping[str, Any], artifacts: Mapping[str, ArtifactRef]
) -> str:
    """The hash of the component's name and code, the input values and the input
    artifacts' sha256."""
    material = {
        "component": component.name,
        "code": component.code.digest,
        "parameters": parameters,
        "artifacts": {k: v.sha256 for k, v in artifacts.items()},
    }
    text = json.dumps(material, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def find_cached(
    store: MetadataStore, experiment_id: str, keys: list[str]
) -> dict[str, dict[str, Any]]:
    """For each cache key, the outputs of the latest step run that produced them (not a
    reuse itself) whose artifacts are still there."""
    found: dict[str, dict[str, Any]] = {}
    unique = list(dict.fromkeys(keys))
    for start in range(0, len(unique), _LOOKUP_CHUNK):
        part = unique[start : start + _LOOKUP_CHUNK]
        quoted = ", ".join(f"'{key}'" for key in part)
        runs = store.search_runs(
            [experiment_id],
            f"tags.`{CACHE_TAG}` IN ({quoted}) AND attributes.status = 'FINISHED' "
            f"AND tags.`{CACHED_FROM_TAG}` IS NULL",
            ["attributes.start_time DESC"],
            max_results=50_000,
        )
        for run in runs:
            key = run.data.tags.get(CACHE_TAG, "")
            if key in found:
                continue
            stored = stored_outputs(run)
            if stored is not None:
                found[key] = stored
    return found


def stored_outputs(run: Run) -> dict[str, Any] | None:
    """What a finished step run recorded as its outputs, with its ``run_id`` (None if
    unusable: damaged, deleted, or an artifact is gone)."""
    try:
        stored = json.loads(run.data.tags.get(OUTPUTS_TAG, "null"))
        if isinstance(stored, dict) and "file" in stored:
            from mlcore.artifacts import resolve_artifact_store

            text = resolve_artifact_store(run.info.artifact_uri).get_bytes(stored["file"])
            stored = json.loads(text)
    except Exception:  # a damaged or deleted record: run the step again
        return None
    if not isinstance(stored, dict) or not _artifacts_exist(stored.get("artifacts", {})):
        return None
    stored["run_id"] = run.info.run_id
    return stored


def reused_outputs(stored: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, ArtifactRef]]:
    """The values and artifacts of :func:`stored_outputs`, as a step's outputs."""
    values = dict(stored.get("values", {}))
    artifacts = {k: ArtifactRef.model_validate(v) for k, v in stored.get("artifacts", {}).items()}
    return values, artifacts


def outputs_tag(
    values: Mapping[str, Any], artifacts: Mapping[str, ArtifactRef], artifact_uri: str | None
) -> dict[str, str]:
    """What a step produced, as the tag a later run reuses it from (a file of the step run,
    under ``artifact_uri``, when it is too large for a tag)."""
    refs = {k: v.model_dump() for k, v in artifacts.items()}
    text = json.dumps({"values": values, "artifacts": refs})
    if len(text) > INLINE_OUTPUTS_LIMIT and artifact_uri is not None:
        from mlcore.artifacts import resolve_artifact_store

        resolve_artifact_store(artifact_uri).put_bytes(text.encode(), OUTPUTS_FILE)
        text = json.dumps({"file": OUTPUTS_FILE})
    return {OUTPUTS_TAG: text}


def cache_hit_tags(
    hit: Mapping[str, Any],
    values: Mapping[str, Any],
    artifacts: Mapping[str, ArtifactRef],
    artifact_uri: str | None,
) -> dict[str, str]:
    """The tags of a step run that reused the outputs ``hit`` of an earlier one."""
    return {CACHED_FROM_TAG: str(hit["run_id"]), **outputs_tag(values, artifacts, artifact_uri)}


def import_artifact(location: str, type_name: str) -> ArtifactRef:
    """An artifact input given as a URI or path (KFP's importer): hashed for caching."""
    from mlcore.uris import path_to_file_uri, uri_scheme

    if uri_scheme(location) == "":
        location = path_to_file_uri(os.path.abspath(location))
    sha = size = None
    if uri_scheme(location) == "file":
        from mlcore.uris import file_uri_to_path

        path = file_uri_to_path(location)
        if not os.path.exists(path):
            raise InvalidInputError(f"input artifact {location} does not exist")
        sha, size = worker._digest(path)
    return ArtifactRef(uri=location, type=type_name, sha256=sha, size=size)


def _artifacts_exist(artifacts: dict[str, Any]) -> bool:
    from mlcore.artifacts import resolve_artifact_store

    for ref in artifacts.values():
        uri = ref.get("uri", "") if isinstance(ref, dict) else ""
        parent, _, leaf = uri.rstrip("/").rpartition("/")
        try:
            if not resolve_artifact_store(parent).exists(leaf):
                return False
        except Exception:
            return False
    return True
