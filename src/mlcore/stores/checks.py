"""Argument checks and clean-ups the store interfaces share: ids, names, versions, stages,
aliases, tags, params and configs.

The public store methods call these before a backend hook runs, so every store refuses the
same bad input with the same error. ``mlcore.types`` (pydantic) is imported only when a check
needs an enum, which keeps ``import mlcore.stores`` light.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mlcore import _validation as check
from mlcore.errors import InvalidInputError, NotFoundError
from mlcore.stores.records import RunUpdate

if TYPE_CHECKING:
    from mlcore.types import ModelStage

__all__ = [
    "check_alias",
    "check_artifact_name",
    "check_artifact_type",
    "check_experiment_id",
    "check_model_name",
    "check_run_id",
    "check_stage",
    "check_version",
    "clean_params",
    "clean_tags",
    "clean_updates",
    "config_json",
    "flatten_config",
    "parse_artifact_ref",
    "parse_view",
    "run_tags",
]

_RUN_ID = re.compile(r"^[0-9a-f]{32}$")
_ALIAS = re.compile(r"^[A-Za-z0-9_\-]{1,255}$")
_RESERVED_ALIAS = re.compile(r"^(latest|v\d+)$", re.IGNORECASE)
_ARTIFACT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")
_ARTIFACT_TYPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
_VERSION_REF = re.compile(r"^v(\d+)$")


# -- tracking -------------------------------------------------------------------------------------
def check_run_id(run_id: object) -> str:
    """A run id is 32 lower-case hex digits; anything else cannot exist."""
    if not isinstance(run_id, str) or not _RUN_ID.match(run_id):
        raise NotFoundError(f"run {run_id!r} not found (run ids are 32 hex digits)")
    return run_id


def check_experiment_id(experiment_id: object) -> str:
    text = str(experiment_id) if isinstance(experiment_id, int) else experiment_id
    if not isinstance(text, str) or not text.isdigit():
        raise NotFoundError(f"experiment {experiment_id!r} not found")
    return text


def parse_view(view: Any) -> Any:
    """``"active"``, ``"deleted"``, ``"all"`` or a ``ViewType`` -> ``ViewType``."""
    from mlcore.types import ViewType

    try:
        return ViewType(view.value if hasattr(view, "value") else str(view).lower())
    except ValueError:
        raise InvalidInputError(
            f"view must be 'active', 'deleted' or 'all', got {view!r}", field="view"
        ) from None


def clean_updates(updates: Sequence[RunUpdate]) -> list[RunUpdate]:
    from mlcore.types import RunStatus

    clean = []
    for change in updates:
        status = None
        if change.status is not None:
            try:
                status = RunStatus(str(change.status).upper()).value
            except ValueError:
                raise InvalidInputError(
                    f"unknown run status {change.status!r}", field="status"
                ) from None
            if status == "CRASHED":
                raise InvalidInputError(
                    "CRASHED is derived from a stale heartbeat and cannot be set", field="status"
                )
        clean.append(
            RunUpdate(
                run_id=check_run_id(change.run_id),
                status=status,
                end_time=change.end_time,
                tags=clean_tags(change.tags) if change.tags else {},
            )
        )
    return clean


def clean_tags(tags: Mapping[str, Any] | None) -> dict[str, str]:
    if not tags:
        return {}
    if not isinstance(tags, Mapping):
        raise InvalidInputError("tags must be a mapping of key to value", field="tags")
    return {check.check_key(k, "tag key"): check.tag_value(k, v) for k, v in tags.items()}


def run_tags(tags: Mapping[str, Any] | Collection[str] | None) -> dict[str, Any]:
    """The tags given to a new run as a mapping: a mapping as it is, or a list, tuple or set of
    names as W&B takes them, each name becoming a tag with an empty value (``["baseline"]`` ->
    ``{"baseline": ""}``, found by ``tags.baseline IS NOT NULL``).

    Raises:
        InvalidInputError: ``tags`` is neither a mapping nor a collection of strings.
    """
    if tags is None:
        return {}
    if isinstance(tags, Mapping):
        return dict(tags)
    if isinstance(tags, (list, tuple, set, frozenset)):
        names = list(tags)
        wrong = [name for name in names if not isinstance(name, str)]
        if not wrong:
            return dict.fromkeys(names, "")
        raise InvalidInputError(
            f"tags must be a mapping of key to value or a list of tag names (strings); the "
            f"list holds {type(wrong[0]).__name__} {wrong[0]!r}",
            field="tags",
        )
    raise InvalidInputError(
        f"tags must be a mapping of key to value or a list of tag names (strings), not "
        f"{type(tags).__name__}",
        field="tags",
    )


def clean_params(params: Mapping[str, Any] | None) -> dict[str, str]:
    if not params:
        return {}
    if not isinstance(params, Mapping):
        raise InvalidInputError("params must be a mapping of key to value", field="params")
    return {check.check_key(k, "param key"): check.param_value(k, v) for k, v in params.items()}


def flatten_config(config: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Config as params: nested mappings flattened with dots, values as text."""
    flat: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten_config(value, name + "."))
        else:
            flat[check.check_key(name, "config key")] = check.param_value(name, value)
    return flat


def config_json(config: Mapping[str, Any]) -> str:
    """A run config (or artifact metadata) as JSON; InvalidInputError if it is not JSON."""
    if not isinstance(config, Mapping):
        raise InvalidInputError("config must be a mapping", field="config")
    for key in config:
        check.check_key(key, "config key")
    try:
        return json.dumps(dict(config), default=_json_default, allow_nan=True, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"config is not JSON-serialisable: {exc}", field="config") from exc


def _json_default(value: Any) -> Any:
    """NumPy scalars and arrays, paths and the like become plain JSON values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "__fspath__"):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


# -- model registry -------------------------------------------------------------------------------
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


# -- artifact versions ----------------------------------------------------------------------------
def check_artifact_name(name: object, what: str = "artifact name") -> str:
    if not isinstance(name, str) or not _ARTIFACT_NAME.match(name):
        raise InvalidInputError(
            f"{what} must be 1-128 letters, digits, '_', '-' or '.', starting with a letter or "
            f"digit, got {name!r}",
            field="name",
        )
    return name


def check_artifact_type(type: object) -> str:
    if not isinstance(type, str) or not _ARTIFACT_TYPE.match(type):
        raise InvalidInputError(f"artifact type must be a short name, got {type!r}", field="type")
    return type


def parse_artifact_ref(ref: str) -> tuple[str, str]:
    """``"name:v3"`` / ``"name:latest"`` / ``"name:alias"`` / ``"name"`` -> (name, ref)."""
    if not isinstance(ref, str):
        raise InvalidInputError(f"artifact reference must be a string, got {ref!r}", field="ref")
    text = ref.removeprefix("artifact:")
    name, _, version = text.partition(":")
    check_artifact_name(name)
    version = version or "latest"
    if not (_VERSION_REF.match(version) or version == "latest"):
        try:
            check_alias(version)
        except InvalidInputError:
            raise InvalidInputError(
                f"artifact reference {ref!r}: expected name:vN, name:latest or name:<alias>",
                field="ref",
            ) from None
    return name, version
