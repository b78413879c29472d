"""What the per-framework modules (``mlcore.sklearn``, ``mlcore.xgboost``, ``mlcore.torch``,
``mlcore.onnx``) share: logging, saving and loading with a fixed flavor."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from mlcore.errors import InvalidInputError

if TYPE_CHECKING:
    from mlcore.flavors import ModelSpec
    from mlcore.tracking import ModelInfo


def log_model_as(flavor: str, model: Any, artifact_path: str, options: dict[str, Any]) -> ModelInfo:
    from mlcore import _fluent

    return _fluent.log_model(model, artifact_path, flavor=flavor, **options)


def save_model_as(
    flavor: str, model: Any, path: str | os.PathLike[str], options: dict[str, Any]
) -> ModelSpec:
    from mlcore.flavors import resolve_flavor, save_model

    chosen = resolve_flavor(flavor)
    if not chosen.can_save(model):
        raise InvalidInputError(f"the {flavor} flavor cannot save a {type(model).__name__}")
    return save_model(model, path, flavor=chosen, **options)


def load_native(flavor: str, model_uri: str) -> Any:
    from mlcore import _fluent

    model = _fluent.load_model(model_uri)
    if model.spec.flavor != flavor:
        raise InvalidInputError(
            f"{model_uri} is a {model.spec.flavor} model, not {flavor}; use mlcore.load_model "
            f"or mlcore.{model.spec.flavor}.load_model",
            field="model_uri",
        )
    return model.native
