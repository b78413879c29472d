"""``RegistryStore``: the model registry of a store (registered models, versions, stages,
aliases, tags).

Template methods as in :class:`~mlcore.stores.TrackingStore`: the public methods validate
names, versions, stages and aliases, then call the ``_methods`` a backend implements. Version
numbers are allocated by the backend inside the transaction that creates the version, so they
are unique and gap-free under concurrent writers.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, final

from mlcore import _validation as check
from mlcore.errors import InvalidInputError
from mlcore.filters import MODEL_VERSIONS, MODELS, Expr, OrderBy, parse_filter, parse_order_by
from mlcore.stores.checks import (
    check_alias,
    check_model_name,
    check_run_id,
    check_stage,
    check_version,
    clean_tags,
)
from mlcore.stores.model_refs import check_model_source
from mlcore.stores.paging import MAX_RESULTS_LIMIT, ModelPage, decode_page_token, model_page
from mlcore.stores.queries import SearchQuery
from mlcore.stores.store_base import StoreBase

if TYPE_CHECKING:
    from mlcore.types import ModelVersion, RegisteredModel

__all__ = [
    "ModelPage",
    "RegistryMethods",
    "RegistryStore",
    "check_alias",
    "check_model_name",
    "check_stage",
    "check_version",
]


class RegistryStore(StoreBase, abc.ABC):
    """Registered models and their versions, stages, aliases and tags.

    A backend implements it together with :class:`~mlcore.stores.TrackingStore` in one class
    (the same database keeps both), for the same URI scheme. It relies on nothing of the
    tracking interface: a version's source run id is checked by form only, and
    :meth:`model_versions_of_run` asks only its own rows. Services that combine both (the
    ``Registry`` reads the source run with ``get_run`` and the store's ``display_name`` /
    ``default_artifact_root``) get the store through :func:`mlcore.stores.require_registry`.
    ``mlcore.testing.RegistryStoreConformance`` is the executable contract; it creates its
    source runs with ``create_experiment``, ``get_experiment_by_name`` and ``create_run``.
    """

    # -- registered models ---------------------------------------------------------------------
    @final
    def create_registered_model(
        self,
        name: str,
        *,
        description: str | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> RegisteredModel:
        """Raises AlreadyExistsError if the name is taken."""
        name = check_model_name(name)
        clean = clean_tags(tags)
        with self._boundary():
            return self._create_registered_model(name, description, clean)

    @final
    def get_registered_model(self, name: str) -> RegisteredModel:
        """Raises NotFoundError for an unknown name."""
        name = check_model_name(name)
        with self._boundary():
            return self._get_registered_model(name)

    @final
    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        name, new_name = check_model_name(name), check_model_name(new_name)
        with self._boundary():
            return self._rename_registered_model(name, new_name)

    @final
    def update_registered_model(self, name: str, *, description: str | None) -> RegisteredModel:
        name = check_model_name(name)
        with self._boundary():
            return self._update_registered_model(name, description)

    @final
    def delete_registered_model(self, name: str) -> None:
        """Delete a model with all its versions, tags and aliases."""
        name = check_model_name(name)
        with self._boundary():
            self._delete_registered_model(name)

    @final
    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        self.set_registered_model_tags(name, {key: value})

    @final
    def set_registered_model_tags(self, name: str, tags: Mapping[str, Any]) -> None:
        """Set several tags at once: all are checked first, then stored together or not at all."""
        name = check_model_name(name)
        cleaned = clean_tags(tags)
        with self._boundary():
            self._set_registered_model_tags(name, cleaned)

    @final
    def delete_registered_model_tag(self, name: str, key: str) -> None:
        name = check_model_name(name)
        check.check_key(key, "tag key")
        with self._boundary():
            self._delete_registered_model_tag(name, key)

    @final
    def search_registered_models(
        self,
        filter: str | None = None,
        order_by: Sequence[str] | str | None = None,
        *,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> ModelPage:
        """Registered models matching ``filter`` (``name LIKE 'credit%' AND tags.team =
        'risk'``); ordered by name unless ``order_by`` says otherwise."""
        expr, orders, offset = self._query_parts(filter, order_by, max_results, page_token, MODELS)
        query = SearchQuery(filter, order_by, max_results, page_token)
        with self._boundary():
            return self._search_models_page("registered_models", expr, orders, offset, query)

    # -- versions --------------------------------------------------------------------------------
    @final
    def create_model_version(
        self,
        name: str,
        source: str,
        *,
        run_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
        description: str | None = None,
        manifest_sha256: str | None = None,
        user: str | None = None,
    ) -> ModelVersion:
        """Add the next version of ``name`` (created if missing). ``source`` must already be
        validated by the caller (the Registry checks it lies in the store's artifact roots)."""
        name = check_model_name(name)
        source = check_model_source(name, source)
        if run_id is not None:
            check_run_id(run_id)
        clean = clean_tags(tags)
        with self._boundary():
            return self._create_model_version(
                name, source, run_id, clean, description, manifest_sha256, user
            )

    @final
    def get_model_version(self, name: str, version: int | str) -> ModelVersion:
        """Raises NotFoundError for an unknown model or version."""
        name, number = check_model_name(name), check_version(version)
        with self._boundary():
            return self._get_model_version(name, number)

    @final
    def update_model_version(
        self, name: str, version: int | str, *, description: str | None
    ) -> ModelVersion:
        name, number = check_model_name(name), check_version(version)
        with self._boundary():
            return self._update_model_version(name, number, description)

    @final
    def delete_model_version(self, name: str, version: int | str) -> None:
        name, number = check_model_name(name), check_version(version)
        with self._boundary():
            self._delete_model_version(name, number)

    @final
    def transition_model_version_stage(
        self, name: str, version: int | str, stage: str, *, archive_existing: bool = False
    ) -> ModelVersion:
        """Move a version to a stage; with ``archive_existing`` the versions already in that
        stage (Staging or Production) move to Archived, in the same transaction."""
        name, number, target = check_model_name(name), check_version(version), check_stage(stage)
        with self._boundary():
            return self._transition_stage(name, number, target.value, archive_existing)

    @final
    def set_model_version_tag(self, name: str, version: int | str, key: str, value: Any) -> None:
        self.set_model_version_tags(name, version, {key: value})

    @final
    def set_model_version_tags(
        self, name: str, version: int | str, tags: Mapping[str, Any]
    ) -> None:
        """Set several tags at once: all are checked first, then stored together or not at all."""
        name, number = check_model_name(name), check_version(version)
        cleaned = clean_tags(tags)
        with self._boundary():
            self._set_model_version_tags(name, number, cleaned)

    @final
    def delete_model_version_tag(self, name: str, version: int | str, key: str) -> None:
        name, number = check_model_name(name), check_version(version)
        check.check_key(key, "tag key")
        with self._boundary():
            self._delete_model_version_tag(name, number, key)

    @final
    def set_model_alias(self, name: str, alias: str, version: int | str) -> None:
        """Point ``alias`` at ``version`` (moving it from any other version)."""
        name, alias, number = check_model_name(name), check_alias(alias), check_version(version)
        with self._boundary():
            self._set_model_alias(name, alias, number)

    @final
    def delete_model_alias(self, name: str, alias: str) -> None:
        name, alias = check_model_name(name), check_alias(alias)
        with self._boundary():
            self._delete_model_alias(name, alias)

    @final
    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        name, alias = check_model_name(name), check_alias(alias)
        with self._boundary():
            return self._get_model_version_by_alias(name, alias)

    @final
    def get_latest_versions(
        self, name: str, stages: Sequence[str] | None = None
    ) -> list[ModelVersion]:
        """The newest version in each stage (of ``stages``, default all), by stage order."""
        name = check_model_name(name)
        wanted = [check_stage(s).value for s in stages] if stages else None
        with self._boundary():
            return self._get_latest_versions(name, wanted)

    @final
    def search_model_versions(
        self,
        filter: str | None = None,
        order_by: Sequence[str] | str | None = None,
        *,
        max_results: int = 1000,
        page_token: str | None = None,
    ) -> ModelPage:
        """Versions matching ``filter`` (``name = 'credit' AND stage = 'Production'``)."""
        expr, orders, offset = self._query_parts(
            filter, order_by, max_results, page_token, MODEL_VERSIONS
        )
        query = SearchQuery(filter, order_by, max_results, page_token)
        with self._boundary():
            return self._search_models_page("model_versions", expr, orders, offset, query)

    def _search_models_page(
        self,
        kind: str,
        expr: Expr | None,
        orders: list[OrderBy],
        offset: int,
        query: SearchQuery,
    ) -> ModelPage:
        """One page of a model (``kind="registered_models"``) or version search; a remote
        store overrides it to send ``query`` as the caller wrote it."""
        search = (
            self._search_registered_models
            if kind == "registered_models"
            else self._search_model_versions
        )
        items, more = search(expr, orders, query.max_results, offset)
        return model_page(list(items), offset, more)

    @final
    def model_versions_of_run(self, run_id: str) -> list[ModelVersion]:
        """Versions whose source run is ``run_id`` (lineage)."""
        run_id = check_run_id(run_id)
        with self._boundary():
            return self._model_versions_of_run(run_id)

    @staticmethod
    def _query_parts(
        filter: str | None,
        order_by: Sequence[str] | str | None,
        max_results: int,
        page_token: str | None,
        context: Any,
    ) -> tuple[Expr | None, list[OrderBy], int]:
        if not isinstance(max_results, int) or not 0 < max_results <= MAX_RESULTS_LIMIT:
            raise InvalidInputError(
                f"max_results must be an integer in 1..{MAX_RESULTS_LIMIT}", field="max_results"
            )
        orders = parse_order_by(
            order_by if order_by is None or isinstance(order_by, str) else list(order_by), context
        )
        return parse_filter(filter, context), orders, decode_page_token(page_token)

    # -- what a backend implements ---------------------------------------------------------------
    @abc.abstractmethod
    def _create_registered_model(
        self, name: str, description: str | None, tags: dict[str, str]
    ) -> RegisteredModel: ...

    @abc.abstractmethod
    def _get_registered_model(self, name: str) -> RegisteredModel: ...

    @abc.abstractmethod
    def _rename_registered_model(self, name: str, new_name: str) -> RegisteredModel: ...

    @abc.abstractmethod
    def _update_registered_model(self, name: str, description: str | None) -> RegisteredModel: ...

    @abc.abstractmethod
    def _delete_registered_model(self, name: str) -> None: ...

    @abc.abstractmethod
    def _set_registered_model_tags(self, name: str, tags: dict[str, str]) -> None: ...

    @abc.abstractmethod
    def _delete_registered_model_tag(self, name: str, key: str) -> None: ...

    @abc.abstractmethod
    def _search_registered_models(
        self, expr: Expr | None, order_by: list[OrderBy], max_results: int, offset: int
    ) -> tuple[list[RegisteredModel], bool]: ...

    @abc.abstractmethod
    def _create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None,
        tags: dict[str, str],
        description: str | None,
        manifest_sha256: str | None,
        user: str | None,
    ) -> ModelVersion: ...

    @abc.abstractmethod
    def _get_model_version(self, name: str, version: int) -> ModelVersion: ...

    @abc.abstractmethod
    def _update_model_version(
        self, name: str, version: int, description: str | None
    ) -> ModelVersion: ...

    @abc.abstractmethod
    def _delete_model_version(self, name: str, version: int) -> None: ...

    @abc.abstractmethod
    def _transition_stage(
        self, name: str, version: int, stage: str, archive_existing: bool
    ) -> ModelVersion: ...

    @abc.abstractmethod
    def _set_model_version_tags(self, name: str, version: int, tags: dict[str, str]) -> None: ...

    @abc.abstractmethod
    def _delete_model_version_tag(self, name: str, version: int, key: str) -> None: ...

    @abc.abstractmethod
    def _set_model_alias(self, name: str, alias: str, version: int) -> None: ...

    @abc.abstractmethod
    def _delete_model_alias(self, name: str, alias: str) -> None: ...

    @abc.abstractmethod
    def _get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion: ...

    @abc.abstractmethod
    def _get_latest_versions(self, name: str, stages: list[str] | None) -> list[ModelVersion]: ...

    @abc.abstractmethod
    def _search_model_versions(
        self, expr: Expr | None, order_by: list[OrderBy], max_results: int, offset: int
    ) -> tuple[list[ModelVersion], bool]: ...

    @abc.abstractmethod
    def _model_versions_of_run(self, run_id: str) -> list[ModelVersion]: ...


#: The former name of :class:`RegistryStore`, when it was a mix-in of ``MetadataStore``.
RegistryMethods = RegistryStore
