"""``Registry``: the model registry client — registered models, versions, stages, aliases.

It shares the metadata store of a :class:`~mlcore.Tracker` (the default one unless told
otherwise). Version sources are validated: ``runs:/<run>/<path>`` must point at a logged
model, and any other URI must lie inside one of the store's artifact roots, so a registry
entry can never make a server read ``file:///etc`` or another tenant's bucket.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mlcore._config import current_user
from mlcore._validation import mlflow_alias
from mlcore.artifacts import resolve_artifact_store
from mlcore.errors import InvalidInputError, NotFoundError
from mlcore.flavors.spec import MANIFEST
from mlcore.stores import require_registry
from mlcore.stores.model_refs import (
    ModelRef,
    check_model_source,
    parse_model_ref,
    resolve_model_version,
)
from mlcore.stores.registry_api import ModelPage
from mlcore.tracking import Tracker
from mlcore.tracking.models import ModelSource, logged_model_source
from mlcore.uris import join_uri, parse_runs_uri, uri_scheme, validate_artifact_path

if TYPE_CHECKING:
    from mlcore.flavors import LoadedModel
    from mlcore.types import ModelVersion, RegisteredModel

__all__ = ["Registry"]


class Registry:
    """Model registry over a tracker's store.

    Args:
        tracking_uri: store to use (default: the fluent API's default tracker's).
        tracker: an existing Tracker to share.
    """

    def __init__(self, tracking_uri: str | None = None, *, tracker: Tracker | None = None) -> None:
        if tracker is None and tracking_uri is None:
            from mlcore.tracking.context import run_context

            tracker = run_context().default_tracker()
        if tracker is None:
            tracker = Tracker(tracking_uri)
        self.tracker = tracker
        require_registry(tracker.store)  # a tracking-only store: a clear UnsupportedError
        self.store = tracker.store

    def __repr__(self) -> str:
        return f"Registry({self.store.display_name!r})"

    # -- registered models ---------------------------------------------------------------------
    def create_model(
        self, name: str, description: str | None = None, tags: Mapping[str, Any] | None = None
    ) -> RegisteredModel:
        """Create a registered model; AlreadyExistsError if the name is taken."""
        return self.store.create_registered_model(name, description=description, tags=tags)

    def get_model(self, name: str) -> RegisteredModel:
        return self.store.get_registered_model(name)

    def rename_model(self, name: str, new_name: str) -> RegisteredModel:
        return self.store.rename_registered_model(name, new_name)

    def update_model(self, name: str, *, description: str | None) -> RegisteredModel:
        return self.store.update_registered_model(name, description=description)

    def delete_model(self, name: str) -> None:
        """Delete a registered model and all its versions."""
        self.store.delete_registered_model(name)

    def set_model_tag(self, name: str, key: str, value: Any) -> None:
        self.store.set_registered_model_tag(name, key, value)

    def delete_model_tag(self, name: str, key: str) -> None:
        self.store.delete_registered_model_tag(name, key)

    def search_models(
        self,
        filter: str | None = None,
        order_by: Sequence[str] | str | None = None,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> ModelPage:
        """Registered models matching ``filter``, e.g. ``"name LIKE 'credit%' AND
        tags.team = 'risk'"``."""
        return self.store.search_registered_models(
            filter, order_by, max_results=max_results, page_token=page_token
        )

    # -- versions --------------------------------------------------------------------------------
    def create_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
        description: str | None = None,
    ) -> ModelVersion:
        """Register the model at ``source`` (``runs:/<run id>/<path>``, ``models:/...`` or a
        URI inside the store's artifact roots) as the next version of ``name`` (created if
        missing). Numbers are unique and gap-free, even with concurrent writers.

        A source inside a run's artifact directory is recorded with that run's id (its
        lineage) unless ``run_id`` is given.

        Raises:
            InvalidInputError: the source is outside the artifact roots or holds no model, or
                is a ``models:/`` URI that is not plain or points at ``name`` itself.
            NotFoundError: the source run or model does not exist.
        """
        check_model_source(name, source)
        checked = self._validated_source(source)
        return self.store.create_model_version(
            name,
            checked.uri,
            run_id=run_id or checked.run_id,
            tags=tags,
            description=description,
            manifest_sha256=checked.manifest_sha256,
            user=current_user(),
        )

    def get_version(self, name: str, version: int | str) -> ModelVersion:
        """``version``: a number, ``"@alias"``, a stage (``"Production"``) or ``"latest"``."""
        return self.resolve_ref(parse_model_ref(name, version))

    def resolve(self, uri: str) -> ModelVersion:
        """The model version a ``models:/`` URI names."""
        return resolve_model_version(self.store, uri)

    def resolve_ref(self, ref: ModelRef) -> ModelVersion:
        return resolve_model_version(self.store, ref)

    def update_version(
        self, name: str, version: int | str, *, description: str | None
    ) -> ModelVersion:
        return self.store.update_model_version(name, version, description=description)

    def delete_version(self, name: str, version: int | str) -> None:
        self.store.delete_model_version(name, version)

    def transition_stage(
        self,
        name: str,
        version: int | str,
        stage: str,
        archive_existing: bool | None = None,
        *,
        archive_existing_versions: bool | None = None,
    ) -> ModelVersion:
        """Move a version to None/Staging/Production/Archived; ``archive_existing`` archives
        the versions already in that stage (``archive_existing_versions``: MLflow's name)."""
        archive = mlflow_alias(
            "transition_stage",
            "archive_existing",
            archive_existing,
            "archive_existing_versions",
            archive_existing_versions,
        )
        return self.store.transition_model_version_stage(
            name, version, stage, archive_existing=bool(archive)
        )

    def set_alias(self, name: str, alias: str, version: int | str) -> None:
        """Point ``models:/<name>@<alias>`` at ``version``."""
        self.store.set_model_alias(name, alias, version)

    def delete_alias(self, name: str, alias: str) -> None:
        self.store.delete_model_alias(name, alias)

    def set_version_tag(self, name: str, version: int | str, key: str, value: Any) -> None:
        self.store.set_model_version_tag(name, version, key, value)

    def delete_version_tag(self, name: str, version: int | str, key: str) -> None:
        self.store.delete_model_version_tag(name, version, key)

    def get_latest_versions(
        self, name: str, stages: Sequence[str] | None = None
    ) -> list[ModelVersion]:
        """The newest version in each stage (or in ``stages``)."""
        return self.store.get_latest_versions(name, stages)

    def search_versions(
        self,
        filter: str | None = None,
        order_by: Sequence[str] | str | None = None,
        max_results: int = 1000,
        page_token: str | None = None,
    ) -> ModelPage:
        """Versions matching ``filter``, e.g. ``"name = 'credit' AND stage = 'Production'"``."""
        return self.store.search_model_versions(
            filter, order_by, max_results=max_results, page_token=page_token
        )

    def load_model(self, name_or_uri: str, version: int | str | None = None) -> LoadedModel:
        """Load a registered model: ``load_model("credit", "@champion")`` or a URI."""
        uri = name_or_uri if version is None else str(parse_model_ref(name_or_uri, version))
        model: LoadedModel = self.tracker.load_model(uri)
        return model

    def get_model_version_download_uri(self, name: str, version: int | str) -> str:
        """Where the files of a version lie: the artifact URI of its source."""
        source = self.get_version(name, version).source
        if source.startswith("runs:/"):
            parsed = parse_runs_uri(source)
            return self.tracker.artifact_store(parsed.run_id).uri(parsed.path)
        return source

    # MLflow's names (MlflowClient's), for users moving over: the same methods, or a thin
    # wrapper where MLflow's positional order differs.
    create_registered_model = create_model
    get_registered_model = get_model
    rename_registered_model = rename_model
    delete_registered_model = delete_model
    set_registered_model_tag = set_model_tag
    delete_registered_model_tag = delete_model_tag
    create_model_version = create_version
    get_model_version = get_version
    delete_model_version = delete_version
    transition_model_version_stage = transition_stage
    set_registered_model_alias = set_alias
    delete_registered_model_alias = delete_alias
    set_model_version_tag = set_version_tag
    delete_model_version_tag = delete_version_tag

    def update_registered_model(self, name: str, description: str | None = None) -> RegisteredModel:
        """MLflow's name for :meth:`update_model`."""
        return self.update_model(name, description=description)

    def update_model_version(
        self, name: str, version: int | str, description: str | None = None
    ) -> ModelVersion:
        """MLflow's name for :meth:`update_version`."""
        return self.update_version(name, version, description=description)

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | str | None = None,
        page_token: str | None = None,
    ) -> ModelPage:
        """MLflow's name (and argument order) for :meth:`search_models`."""
        return self.search_models(filter_string, order_by, max_results, page_token)

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 1000,
        order_by: Sequence[str] | str | None = None,
        page_token: str | None = None,
    ) -> ModelPage:
        """MLflow's name (and argument order) for :meth:`search_versions`."""
        return self.search_versions(filter_string, order_by, max_results, page_token)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        return self.store.get_model_version_by_alias(name, alias)

    # -- source validation -----------------------------------------------------------------------
    def _validated_source(self, source: str) -> ModelSource:
        """Where a source that may be registered lies: its URI, run and manifest sha256."""
        if not isinstance(source, str) or not source.strip():
            raise InvalidInputError("a model version needs a source URI", field="source")
        if source.startswith("models:/"):
            version = self.resolve(source)
            return ModelSource(version.source, version.run_id, version.manifest_sha256)
        if source.startswith("runs:/"):
            return logged_model_source(self.store, source)
        return self._source_in_roots(source)

    def _source_in_roots(self, source: str) -> ModelSource:
        if uri_scheme(source) in ("", "runs", "models"):
            raise InvalidInputError(
                f"model source {source!r} must be runs:/..., models:/... or a URI in the "
                "store's artifact roots; local paths are not accepted",
                field="source",
            )
        roots = {self.store.default_artifact_root.rstrip("/")}
        roots.update(e.artifact_location.rstrip("/") for e in self.store.search_experiments("all"))
        for root in sorted(roots, key=len, reverse=True):
            if source == root or source.startswith(root + "/"):
                relative = validate_artifact_path(source[len(root) :].lstrip("/"))
                artifacts = resolve_artifact_store(root)
                manifest_path = join_uri(relative, MANIFEST) if relative else MANIFEST
                if not artifacts.exists(manifest_path):
                    raise InvalidInputError(f"no mlcore model at {source}", field="source")
                manifest = hashlib.sha256(artifacts.get_bytes(manifest_path)).hexdigest()
                uri = join_uri(root, relative)
                return ModelSource(uri, self._run_holding(uri, relative), manifest)
        raise InvalidInputError(
            f"model source {source!r} lies outside the store's artifact roots; register "
            "models logged to this store (runs:/...) or stored under its artifact roots",
            field="source",
        )

    def _run_holding(self, uri: str, relative: str) -> str | None:
        """The run whose artifact directory holds ``uri`` (``<root>/<experiment>/<run>/...``),
        if that run exists."""
        for part in relative.split("/"):
            if len(part) != 32:
                continue
            try:
                run = self.store.get_run(part)
            except (NotFoundError, InvalidInputError):
                continue
            location = run.info.artifact_uri.rstrip("/")
            if uri == location or uri.startswith(location + "/"):
                return run.info.run_id
        return None
