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

from mlcore._config import current_user
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
from mlcore.flavors.mlflow_format import MLMODEL, mlflow_model_hashes
from mlcore.flavors.spec import MANIFEST
from mlcore.stores.model_refs import resolve_model_version
from mlcore.stores.registry_api import check_model_name
from mlcore.types import FileInfo, build
from mlcore.uris import (
    file_uri_to_path,
    join_uri,
    parse_runs_uri,
    uri_scheme,
    validate_artifact_path,
)

if TYPE_CHECKING:
    from mlcore.stores import MetadataStore
    from mlcore.tracking.tracker import Tracker
    from mlcore.types import ModelVersion

__all__ = [
    "LOGGED_MODELS_TAG",
    "ModelInfo",
    "ModelSource",
    "load",
    "log_model",
    "logged_model_source",
    "materialize",
    "record_mlflow_model",
]

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
    path = validate_artifact_path(artifact_path, allow_root=False)
    if registered_model_name is not None:
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
        version = _register(tracker, registered_model_name, model_uri)
    return ModelInfo(model_uri, run_id, path, chosen.name, spec, version)


@dataclass(frozen=True)
class ModelSource:
    """What a model version records about where its model lies."""

    uri: str
    run_id: str | None
    manifest_sha256: str | None


def logged_model_source(store: MetadataStore, uri: str) -> ModelSource:
    """The source of a model logged at a ``runs:/`` URI: the URI normalised, its run, and the
    sha256 of its manifest as the store recorded it when the model was logged.

    Raises:
        InvalidInputError: no model was logged there.
        NotFoundError: the run does not exist.
    """
    parsed = parse_runs_uri(uri)
    manifest_path = join_uri(parsed.path, MANIFEST) if parsed.path else MANIFEST
    # NotFoundError for an unknown run, else the manifest's record (if a model is there)
    record = store.artifact_records(parsed.run_id, manifest_path).get(manifest_path)
    if record is None:  # an MLflow model (imported, or recorded with record_mlflow_model)
        mlmodel_path = join_uri(parsed.path, MLMODEL) if parsed.path else MLMODEL
        record = store.artifact_records(parsed.run_id, mlmodel_path).get(mlmodel_path)
    if record is None:
        raise InvalidInputError(
            f"no mlcore model at {uri} (log one there with log_model first)", field="source"
        )
    normal = f"runs:/{parsed.run_id}/{parsed.path}" if parsed.path else f"runs:/{parsed.run_id}"
    return ModelSource(normal, parsed.run_id, record.sha256)


def _register(tracker: Tracker, name: str, model_uri: str) -> ModelVersion:
    """Register the model just logged at ``model_uri`` as the next version of ``name``."""
    source = logged_model_source(tracker.store, model_uri)
    return tracker.store.create_model_version(
        name,
        source.uri,
        run_id=source.run_id,
        manifest_sha256=source.manifest_sha256,
        user=current_user(),
    )


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


def record_mlflow_model(
    store: MetadataStore, run_id: str, artifact_path: str, directory: str
) -> str:
    """Record the sha256 and size of every file of the MLflow model at ``directory`` (a local
    copy of what lies at ``artifact_path`` in the run's artifacts), as ``log_model`` records
    mlcore's own, so that ``runs:/RUN/ARTIFACT_PATH`` (and a registered version of it) loads
    verified. Returns the sha256 of its ``MLmodel``, the hash a model version pins
    (``create_model_version(..., manifest_sha256=...)``).

    Raises:
        NotFoundError: not an MLflow model directory, or no such run.
    """
    path = validate_artifact_path(artifact_path, allow_root=True)
    hashes = mlflow_model_hashes(directory)
    store.record_artifacts(
        run_id,
        [
            build(
                FileInfo,
                {
                    "path": join_uri(path, name) if path else name,
                    "is_dir": False,
                    "size": os.path.getsize(os.path.join(directory, *name.split("/"))),
                    "sha256": digest,
                },
            )
            for name, digest in hashes.items()
        ],
    )
    return hashes[MLMODEL]


def _mlflow_file_hashes(records: dict[str, FileInfo], prefix: str) -> dict[str, str] | None:
    """The recorded sha256 of each file of an MLflow model under ``prefix`` (relative path ->
    hex), or None when that is not an MLflow model every file of which was recorded."""
    start = f"{prefix}/" if prefix else ""
    hashes: dict[str, str | None] = {
        path[len(start) :]: record.sha256
        for path, record in records.items()
        if path.startswith(start) and not record.is_dir
    }
    if MLMODEL not in hashes or any(digest is None for digest in hashes.values()):
        return None
    return {name: digest for name, digest in hashes.items() if digest is not None}


class _Materialized:
    """A model directory on local disk, removed when the loaded model is collected."""

    def __init__(
        self,
        directory: str,
        expected_manifest: str | None,
        owned: bool,
        expected_files: dict[str, str] | None = None,
    ) -> None:
        self.directory = directory
        self.expected_manifest = expected_manifest
        self.owned = owned
        #: an MLflow model's recorded file hashes (mlcore's own list theirs in the manifest)
        self.expected_files = expected_files


#: the most ``models:/`` sources followed from one URI (a version whose source names another
#: version); a cycle or a longer chain is refused, not followed until the stack runs out
MAX_MODEL_REFERENCES = 10


def materialize(tracker: Tracker, uri: str, *, pin: str | None = None) -> _Materialized:
    """Find or download the model directory behind ``uri``.

    Raises:
        InvalidInputError: a malformed URI, or ``models:/`` sources that name each other more
            than :data:`MAX_MODEL_REFERENCES` times (a cycle).
    """
    if not isinstance(uri, str) or not uri.strip():
        raise InvalidInputError("a model URI must be a non-empty string", field="model_uri")
    seen = [uri]
    while uri.startswith("models:/"):
        if len(seen) > MAX_MODEL_REFERENCES:
            raise InvalidInputError(
                f"model URI {seen[0]} names a chain of more than {MAX_MODEL_REFERENCES} "
                f"models:/ sources ({' -> '.join(seen[:4])} ...); a version's source must "
                "lead to a logged model",
                field="model_uri",
            )
        version = resolve_model_version(tracker.store, uri)
        uri, pin = version.source, version.manifest_sha256 or pin
        seen.append(uri)
    if uri.startswith("runs:/"):
        parsed = parse_runs_uri(uri)
        manifest_path = join_uri(parsed.path, MANIFEST) if parsed.path else MANIFEST
        records = tracker.store.artifact_records(parsed.run_id, parsed.path)
        record = records.get(manifest_path)
        expected = pin or (record.sha256 if record else None)
        mlflow_files = _mlflow_file_hashes(records, parsed.path) if record is None else None
        artifacts = tracker.artifact_store(parsed.run_id)
        root = getattr(artifacts, "root", None)
        if isinstance(root, str):  # a local store: load in place, verified
            local = os.path.join(root, *parsed.path.split("/")) if parsed.path else root
            return _Materialized(local, expected, owned=False, expected_files=mlflow_files)
        target = tempfile.mkdtemp(prefix="mlcore-model-")
        hashes = {p: r.sha256 for p, r in records.items() if r.sha256}
        local = artifacts.download(parsed.path, target, expected=hashes)
        return _Materialized(local, expected, owned=True, expected_files=mlflow_files)
    scheme = uri_scheme(uri)
    if scheme in ("", "file"):
        return _Materialized(os.path.abspath(file_uri_to_path(uri)), pin, owned=False)
    from mlcore.artifacts import resolve_artifact_store

    parent, _, name = uri.rstrip("/").rpartition("/")
    store = resolve_artifact_store(parent)
    target = tempfile.mkdtemp(prefix="mlcore-model-")
    return _Materialized(store.download(name, target), pin, owned=True)


def load(tracker: Tracker, uri: str, *, trust_unrecorded: bool | None = None) -> LoadedModel:
    """The model behind ``uri``, verified against the manifest sha256 the store recorded (see
    :func:`mlcore.flavors.load_model`; a model with no recorded hash, e.g. a plain path, needs
    ``trust_unrecorded``)."""
    found = materialize(tracker, uri)
    try:
        model = load_model(
            found.directory,
            expected_manifest_sha256=found.expected_manifest,
            trust_unrecorded=trust_unrecorded,
            expected_files=found.expected_files,
        )
    except BaseException:
        if found.owned:
            shutil.rmtree(found.directory, ignore_errors=True)
        raise
    if found.owned:
        weakref.finalize(model, shutil.rmtree, found.directory, True)
    return model
