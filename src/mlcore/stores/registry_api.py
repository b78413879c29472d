"""The model-registry half of ``MetadataStore``: registered models, versions, stages, aliases.

Template methods as in :mod:`mlcore.stores.base`: the public methods validate names,
versions, stages and aliases, then call the ``_methods`` a backend implements. Version
numbers are allocated by the backend inside the transaction that creates the version, so they
are unique and gap-free under concurrent writers.
"""

from __future__ import annotations

import abc
import re
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, final

from mlcore import _validation as check
from mlcore.errors import InvalidInputError
from mlcore.filters import MODEL_VERSIONS, MODELS, Expr, OrderBy, parse_filter, parse_order_by
from mlcore.stores.queries import SearchQuery

if TYPE_CHECKING:
    from mlcore.types import ModelStage, ModelVersion, RegisteredModel

__all__ = [
    "ModelPage",
    "RegistryMethods",
    "check_alias",
    "check_model_name",
    "check_stage",
    "check_version",
]

_ALIAS = re.compile(r"^[A-Za-z0-9_\-]{1,255}$")
_RESERVED_ALIAS = re.compile(r"^(latest|v\d+)$", re.IGNORECASE)


class ModelPage(list[Any]):
    """A page of registered models or model versions; ``next_page_token`` None on the last."""

    next_page_token: str | None = None


def check_model_name(name: object) -> str:
    """Model names are names (see ``check_name``) without ``/`` or ``@`` (they delimit
    ``models:/`` URIs)."""
    text = check.check_name(name, "model name")
    if "/" in text or "@" in text:
        raise InvalidInputError(
            f"model name must not contain '/' or '@' (they delimit models:/ URIs): {text!r}",
            field="name",
        )
    return text


def check_version(version: object) -> int:
    if isinstance(version, bool):
        raise InvalidInputError(f"model version must be a positive integer, got {version!r}")
    try:
        number = int(str(version).strip())
    except (TypeError, ValueError):
        raise InvalidInputError(
            f"model version must be a positive integer, got {version!r}", field="version"
        ) from None
    if number < 1 or str(version).strip() != str(number):
        raise InvalidInputError(
            f"model version must be a positive integer, got {version!r}", field="version"
        )
    return number


def check_stage(stage: object) -> ModelStage:
    from mlcore.types import ModelStage

    for member in ModelStage:
        if isinstance(stage, str) and stage.strip().lower() == member.value.lower():
            return member
        if stage is member:
            return member
    raise InvalidInputError(
        f"unknown stage {stage!r}; stages are {', '.join(s.value for s in ModelStage)}",
        field="stage",
    )


def check_alias(alias: object) -> str:
    if not isinstance(alias, str) or not _ALIAS.match(alias):
        raise InvalidInputError(
            f"alias must be 1-255 letters, digits, '_' or '-', got {alias!r}", field="alias"
        )
    if _RESERVED_ALIAS.match(alias):
        raise InvalidInputError(
            f"alias {alias!r} is reserved (it reads as a version reference)", field="alias"
        )
    return alias


def _clean_tags(tags: Mapping[str, Any] | None) -> dict[str, str]:
    if not tags:
        return {}
    return {check.check_key(k, "tag key"): check.tag_value(k, v) for k, v in tags.items()}


class RegistryMethods(abc.ABC):
    """Mixed into ``MetadataStore``."""

    def _boundary(self) -> AbstractContextManager[None]:  # provided by MetadataStore
        raise NotImplementedError

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
        clean = _clean_tags(tags)
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
        name = check_model_name(name)
        with self._boundary():
            self._set_registered_model_tags(name, _clean_tags({key: value}))

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
        from mlcore.stores.base import check_run_id
        from mlcore.stores.model_refs import check_model_source

        name = check_model_name(name)
        source = check_model_source(name, source)
        if run_id is not None:
            check_run_id(run_id)
        clean = _clean_tags(tags)
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
        name, number = check_model_name(name), check_version(version)
        with self._boundary():
            self._set_model_version_tags(name, number, _clean_tags({key: value}))

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
        return _page(list(items), offset, more)

    @final
    def model_versions_of_run(self, run_id: str) -> list[ModelVersion]:
        """Versions whose source run is ``run_id`` (lineage)."""
        from mlcore.stores.base import check_run_id

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
        from mlcore.stores.base import MAX_RESULTS_LIMIT, decode_page_token

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


def _page(items: list[Any], offset: int, more: bool) -> ModelPage:
    from mlcore.stores.base import encode_page_token

    page = ModelPage(items)
    page.next_page_token = encode_page_token(offset + len(items)) if more else None
    return page
