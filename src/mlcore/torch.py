"""PyTorch: log, save and load ``nn.Module`` models, and ``watch`` them while training.

``watch(model, log_freq=100)`` logs gradient and parameter norms as metrics every
``log_freq`` optimizer steps and histograms as an artifact, like ``wandb.watch``.
"""

from __future__ import annotations

from typing import Any

from mlcore._native import autolog_function, framework_functions

FLAVOR = "torch"
__all__ = ["autolog", "load_model", "log_model", "save_model", "unwatch", "watch"]

_functions = framework_functions(
    FLAVOR,
    __name__,
    model_keyword="pytorch_model",
    log_model_doc='Log an ``nn.Module`` (``flavor_options={"torchscript": True}`` to script it).',
    load_model_doc="The ``nn.Module`` at ``model_uri``, in eval mode.",
)
log_model = _functions.log_model
save_model = _functions.save_model
load_model = _functions.load_model
autolog = autolog_function(
    FLAVOR, __name__, doc="Autolog Lightning training (see :func:`mlcore.autolog`)."
)


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
