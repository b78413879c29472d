"""``models:/`` URIs: ``models:/name/3``, ``models:/name/Production``, ``models:/name/latest``,
``models:/name@alias``."""

from __future__ import annotations

from dataclasses import dataclass

from mlcore.errors import InvalidInputError
from mlcore.stores.registry_api import check_alias, check_model_name, check_stage, check_version

__all__ = ["ModelRef", "parse_model_ref", "parse_models_uri"]


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
