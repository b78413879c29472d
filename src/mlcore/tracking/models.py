"""Logging models to runs and loading them back from any model URI.

``log_model`` saves the model directory locally (manifest with per-file sha256), uploads it
into the run's artifacts (each file's sha256 also recorded in the metadata store) and
optionally registers it. ``load_model`` resolves ``runs:/``, ``models:/``, artifact URIs and
local paths, pins the manifest to the hash the store recorded when it was logged, verifies
every file and only then lets the flavor deserialise.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlcore.errors import InvalidInputError
from mlcore.flavors import (
    Flavor,
    LoadedModel,
    ModelSpec,
    Signature,
    detect_flavor,
    load_model,
    resolve_flavor,
    save_model,
)
from mlcore.flavors.spec import MANIFEST
from mlcore.types import FileInfo, build
from mlcore.uris import file_uri_to_path, join_uri, parse_runs_uri, uri_scheme

if TYPE_CHECKING:
    from mlcore.tracking.tracker import Tracker
    from mlcore.types import ModelVersion

LOGGED_MODELS_TAG = "mlcore.logged_models"


@dataclass(frozen=True)
class ModelInfo:
    """What ``log_model`` returns."""

    model_uri: str
    run_id: str
    artifact_path: str
    flavor: str
    spec: ModelSpec
    registered_model_version: ModelVersion | None = None

    @property
    def signature(self) -> Signature | None:
        return self.spec.signature


def _flavor(model: Any, flavor: str | Flavor | None) -> Flavor:
    if isinstance(flavor, Flavor):
        return flavor
    if flavor is not None:
        chosen = resolve_flavor(flavor)
        if not chosen.can_save(model) and chosen.name != "python":
            raise InvalidInputError(
                f"the {chosen.name} flavor cannot save a {type(model).__name__}", field="flavor"
            )
        return chosen
    return detect_flavor(model)


def log_model(
    tracker: Tracker,
    run_id: str,
    model: Any,
    artifact_path: str = "model",
    *,
    flavor: str | Flavor | None = None,
    input_example: Any = None,
    signature: Signature | None = None,
    requirements: Sequence[str] | None = None,
    registered_model_name: str | None = None,
    flavor_options: dict[str, Any] | None = None,
) -> ModelInfo:
    from mlcore.uris import validate_artifact_path

    path = validate_artifact_path(artifact_path, allow_root=False)
    if registered_model_name is not None:
        from mlcore.stores.registry_api import check_model_name

        check_model_name(registered_model_name)  # refuse before anything is written
    tracker.get_run(run_id)  # NotFoundError before any work
    chosen = _flavor(model, flavor)
    options: dict[str, Any] = {
        "flavor": chosen,
        "input_example": input_example,
        "signature": signature,
        "requirements": requirements,
        "run_id": run_id,
        "artifact_path": path,
        "flavor_kwargs": flavor_options,
    }
    artifacts = tracker.artifact_store(run_id)
    root = getattr(artifacts, "root", None)
    target = os.path.join(root, *path.split("/")) if isinstance(root, str) else None
    if target is not None and not os.path.exists(target):
        # a local store: save straight into place (save_model renames a complete directory
        # into the target) and record the hashes the manifest already computed
        spec = save_model(model, target, **options)
        with open(os.path.join(target, MANIFEST), "rb") as handle:
            manifest = hashlib.sha256(handle.read()).hexdigest()
        sizes = {
            name: os.path.getsize(os.path.join(target, *name.split("/")))
            for name in [*spec.files, MANIFEST]
        }
        hashes = {**spec.files, MANIFEST: manifest}
        tracker.store.record_artifacts(
            run_id,
            [
                build(
                    FileInfo,
                    {
                        "path": f"{path}/{name}",
                        "is_dir": False,
                        "size": sizes[name],
                        "sha256": digest,
                    },
                )
                for name, digest in hashes.items()
            ],
        )
    else:
        staging = tempfile.mkdtemp(prefix="mlcore-log-model-")
        try:
            local = os.path.join(staging, "model")
            spec = save_model(model, local, **options)
            tracker.log_artifacts(run_id, local, path)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    _remember(tracker, run_id, path, spec)
    model_uri = f"runs:/{run_id}/{path}"
    version = None
    if registered_model_name is not None:
        from mlcore.registry import Registry

        version = Registry(tracker=tracker).create_version(registered_model_name, model_uri)
    return ModelInfo(model_uri, run_id, path, chosen.name, spec, version)


def _remember(tracker: Tracker, run_id: str, path: str, spec: ModelSpec) -> None:
    """Keep a small list of the run's models in a tag (what a UI shows)."""
    tags = tracker.store.get_run(run_id).data.tags
    try:
        logged = json.loads(tags.get(LOGGED_MODELS_TAG, "[]"))
    except ValueError:
        logged = []
    logged = [m for m in logged if m.get("artifact_path") != path]
    logged.append({"artifact_path": path, "flavor": spec.flavor, "created": spec.created})
    tracker.set_tags(run_id, {LOGGED_MODELS_TAG: json.dumps(logged)})


class _Materialized:
    """A model directory on local disk, removed when the loaded model is collected."""

    def __init__(self, directory: str, expected_manifest: str | None, owned: bool) -> None:
        self.directory = directory
        self.expected_manifest = expected_manifest
        self.owned = owned


def materialize(tracker: Tracker, uri: str, *, pin: str | None = None) -> _Materialized:
    """Find or download the model directory behind ``uri``."""
    if not isinstance(uri, str) or not uri.strip():
        raise InvalidInputError("a model URI must be a non-empty string", field="model_uri")
    if uri.startswith("models:/"):
        from mlcore.registry import Registry

        version = Registry(tracker=tracker).resolve(uri)
        return materialize(tracker, version.source, pin=version.manifest_sha256)
    if uri.startswith("runs:/"):
        parsed = parse_runs_uri(uri)
        manifest_path = join_uri(parsed.path, MANIFEST) if parsed.path else MANIFEST
        records = tracker.store.artifact_records(parsed.run_id, parsed.path)
        record = records.get(manifest_path)
        expected = pin or (record.sha256 if record else None)
        artifacts = tracker.artifact_store(parsed.run_id)
        root = getattr(artifacts, "root", None)
        if isinstance(root, str):  # a local store: load in place, verified
            local = os.path.join(root, *parsed.path.split("/")) if parsed.path else root
            return _Materialized(local, expected, owned=False)
        target = tempfile.mkdtemp(prefix="mlcore-model-")
        hashes = {p: r.sha256 for p, r in records.items() if r.sha256}
        local = artifacts.download(parsed.path, target, expected=hashes)
        return _Materialized(local, expected, owned=True)
    scheme = uri_scheme(uri)
    if scheme in ("", "file"):
        return _Materialized(os.path.abspath(file_uri_to_path(uri)), pin, owned=False)
    from mlcore.artifacts import resolve_artifact_store

    parent, _, name = uri.rstrip("/").rpartition("/")
    store = resolve_artifact_store(parent)
    target = tempfile.mkdtemp(prefix="mlcore-model-")
    return _Materialized(store.download(name, target), pin, owned=True)


def load(tracker: Tracker, uri: str) -> LoadedModel:
    found = materialize(tracker, uri)
    try:
        model = load_model(found.directory, expected_manifest_sha256=found.expected_manifest)
    except BaseException:
        if found.owned:
            shutil.rmtree(found.directory, ignore_errors=True)
        raise
    if found.owned:
        weakref.finalize(model, shutil.rmtree, found.directory, True)
    return model
