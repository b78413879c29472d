"""scikit-learn estimators and Pipelines: log, save and load them as native objects.

``mlcore.log_model`` detects the flavor on its own; these functions fix it and give back the
framework's own object (``mlcore.load_model`` gives a generic model with ``predict``).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from mlcore._native import load_native, log_model_as, save_model_as

if TYPE_CHECKING:
    from mlcore.flavors import ModelSpec
    from mlcore.tracking import ModelInfo

FLAVOR = "sklearn"
__all__ = ["autolog", "load_model", "log_model", "save_model"]


def log_model(model: Any, artifact_path: str = "model", **options: Any) -> ModelInfo:
    """Log ``model`` to the active run (see :func:`mlcore.log_model`)."""
    return log_model_as(FLAVOR, model, artifact_path, options)


def save_model(model: Any, path: str | os.PathLike[str], **options: Any) -> ModelSpec:
    """Save ``model`` as a model directory at ``path``."""
    return save_model_as(FLAVOR, model, path, options)


def load_model(model_uri: str) -> Any:
    """The native model at ``model_uri`` (verified like :func:`mlcore.load_model`)."""
    return load_native(FLAVOR, model_uri)


def autolog(disable: bool = False, **options: Any) -> None:
    """Turn autologging on (or off) for this framework only (see :func:`mlcore.autolog`)."""
    from mlcore import _fluent
    from mlcore.autolog import configure

    configure(FLAVOR, disable=disable, provider=_fluent, **options)
