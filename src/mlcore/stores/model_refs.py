"""Model references over a metadata store: ``models:/`` URIs and the version one names.

``models:/name/3``, ``models:/name/Production``, ``models:/name/latest`` and
``models:/name@alias`` name a registered model version. Resolving one needs only the store,
so tracking (``load_model``, lineage), serving and the ``Registry`` client all resolve through
here and none of them needs another.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from mlcore.errors import InvalidInputError, NotFoundError
from mlcore.stores.checks import check_alias, check_model_name, check_stage, check_version

if TYPE_CHECKING:
    from mlcore.stores.paging import ModelPage
    from mlcore.types import ModelVersion, RegisteredModel


class VersionLookup(Protocol):
    """What resolving a model reference reads of a store (a ``RegistryStore`` has it)."""

    def get_registered_model(self, name: str) -> RegisteredModel: ...

    def get_model_version(self, name: str, version: int | str) -> ModelVersion: ...

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion: ...

    def search_model_versions(
        self,
        filter: str | None = None,
        order_by: Sequence[str] | str | None = None,
        *,
        max_results: int = 1000,
        page_token: str | None = None,
    ) -> ModelPage: ...


__all__ = [
    "ModelRef",
    "check_model_source",
    "parse_model_ref",
    "parse_models_uri",
    "resolve_model_version",
]


@dataclass(frozen=True)
class ModelRef:
    """Which version of a model: exactly one of version, stage, alias, latest."""

    name: str
    version: int | None = None
    stage: str | None = None
    alias: str | None = None
    latest: bool = False

    def __str__(self) -> str:
        if self.alias:
            return f"models:/{self.name}@{self.alias}"
        if self.version is not None:
            return f"models:/{self.name}/{self.version}"
        return f"models:/{self.name}/{'latest' if self.latest else self.stage}"


def parse_model_ref(name: str, ref: object) -> ModelRef:
    """``ref``: a version number (int or digits), ``"@alias"``, a stage, or ``"latest"``."""
    name = check_model_name(name)
    if isinstance(ref, int) and not isinstance(ref, bool):
        return ModelRef(name, version=check_version(ref))
    if not isinstance(ref, str) or not ref:
        raise InvalidInputError(
            f"a model version is a number, '@alias', a stage or 'latest'; got {ref!r}",
            field="version",
        )
    if ref.startswith("@"):
        return ModelRef(name, alias=check_alias(ref[1:]))
    if ref.isdigit():
        return ModelRef(name, version=check_version(ref))
    if ref.lower() == "latest":
        return ModelRef(name, latest=True)
    return ModelRef(name, stage=check_stage(ref).value)


def parse_models_uri(uri: str) -> ModelRef:
    """Parse a ``models:/`` URI.

    Raises:
        InvalidInputError: not a models URI, or a bad name, version, stage or alias.
    """
    if not isinstance(uri, str) or not uri.startswith("models:/"):
        raise InvalidInputError(f"not a models:/ URI: {uri!r}", field="uri")
    rest = uri[len("models:/") :].strip("/")
    if "@" in rest and "/" not in rest:
        name, alias = rest.split("@", 1)
        return ModelRef(check_model_name(name), alias=check_alias(alias))
    name, slash, ref = rest.partition("/")
    if not slash or not ref or "/" in ref:
        raise InvalidInputError(
            f"models URI {uri!r}: expected models:/<name>/<version|stage|latest> or "
            "models:/<name>@<alias>",
            field="uri",
        )
    return parse_model_ref(name, ref)


def check_model_source(name: str, source: str) -> str:
    """``source`` if a version of model ``name`` may record it.

    A ``models:/`` source must be a plain, canonical reference to another model's version: no
    percent-encoding, backslashes or dot segments (which a later resolver might read as
    something else) and no reference to ``name`` itself (its ``latest`` or an alias could name
    the new version, a cycle that a load would follow forever).

    Raises:
        InvalidInputError: a source a version must not record.
    """
    if not isinstance(source, str) or not source.strip():
        raise InvalidInputError("a model version needs a source URI", field="source")
    if not source.startswith("models:/"):
        return source
    rest = source[len("models:/") :]
    if "%" in rest or "\\" in rest or any(p in (".", "..") for p in rest.split("/")):
        raise InvalidInputError(
            f"model source {source!r} is not a plain models:/ URI (no percent-encoding, "
            "backslashes or dot segments)",
            field="source",
        )
    ref = parse_models_uri(source)
    if ref.name == name:
        raise InvalidInputError(
            f"model source {source!r} points at model {name!r} itself; register the model "
            "its version was made from (runs:/... or another model)",
            field="source",
        )
    return source


def resolve_model_version(store: VersionLookup, uri_or_ref: str | ModelRef) -> ModelVersion:
    """The model version a ``models:/`` URI or a :class:`ModelRef` names in ``store``.

    Raises:
        InvalidInputError: a malformed URI.
        NotFoundError: no such model, version or alias, or no version in that stage.
    """
    ref = uri_or_ref if isinstance(uri_or_ref, ModelRef) else parse_models_uri(uri_or_ref)
    if ref.version is not None:
        return store.get_model_version(ref.name, ref.version)
    if ref.alias is not None:
        return store.get_model_version_by_alias(ref.name, ref.alias)
    condition = f"name = '{_quote(ref.name)}'"
    if not ref.latest:
        condition += f" AND stage = '{ref.stage}'"
    versions = store.search_model_versions(condition, ["version DESC"], max_results=1)
    if not versions:
        store.get_registered_model(ref.name)  # NotFoundError for an unknown model
        what = "no versions" if ref.latest else f"no version in stage {ref.stage}"
        raise NotFoundError(f"model {ref.name!r} has {what}")
    version: ModelVersion = versions[0]
    return version


def _quote(text: str) -> str:
    return text.replace("'", "''")
