"""PyTorch: log, save and load ``nn.Module`` models, and ``watch`` them while training.

``watch(model, log_freq=100)`` logs gradient and parameter norms as metrics every
``log_freq`` optimizer steps and histograms as an artifact, like ``wandb.watch``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from mlcore._native import load_native, log_model_as, save_model_as

if TYPE_CHECKING:
    from mlcore.flavors import ModelSpec
    from mlcore.tracking import ModelInfo

FLAVOR = "torch"
__all__ = ["autolog", "load_model", "log_model", "save_model", "unwatch", "watch"]


def log_model(model: Any, artifact_path: str = "model", **options: Any) -> ModelInfo:
    """Log an ``nn.Module`` (``flavor_options={"torchscript": True}`` to script it)."""
    return log_model_as(FLAVOR, model, artifact_path, options)


def save_model(model: Any, path: str | os.PathLike[str], **options: Any) -> ModelSpec:
    return save_model_as(FLAVOR, model, path, options)


def load_model(model_uri: str) -> Any:
    """The ``nn.Module`` at ``model_uri``, in eval mode."""
    return load_native(FLAVOR, model_uri)


def watch(model: Any, log: str = "all", log_freq: int = 100, run: Any = None) -> Any:
    """Log norms (metrics) and histograms (artifact) of gradients and/or parameters.

    Args:
        log: ``"gradients"``, ``"parameters"`` or ``"all"``.
        log_freq: every how many backward passes.
        run: the run to log to (default: the active run).
    """
    from mlcore.autolog.torch_watch import watch as _watch

    return _watch(model, log=log, log_freq=log_freq, run=run)


def unwatch(model: Any) -> None:
    """Stop watching ``model`` and write its histograms."""
    from mlcore.autolog.torch_watch import unwatch as _unwatch

    _unwatch(model)


def autolog(disable: bool = False, **options: Any) -> None:
    """Autolog Lightning training (see :func:`mlcore.autolog`)."""
    from mlcore import _fluent
    from mlcore.autolog import configure

    configure(FLAVOR, disable=disable, provider=_fluent, **options)
