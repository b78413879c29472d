"""Autologging for PyTorch Lightning: hyper-parameters, per-epoch metrics, the best
checkpoint and the trained model.

``Trainer.fit`` gets a callback that logs the module's ``hparams`` and the optimizer as
params, every scalar in ``trainer.callback_metrics`` at the end of each epoch (step = epoch;
train and validation metrics), and when fitting ends the best checkpoint as an artifact and
the module as a ``torch`` model. Works with ``lightning`` and ``pytorch_lightning``.
"""

from __future__ import annotations

import functools
import importlib
import os
from typing import Any

from mlcore.autolog import patching
from mlcore.autolog.session import depth, nested, run_for, safely

__all__ = ["FRAMEWORK", "disable", "enable"]

FRAMEWORK = "torch"
_options: dict[str, Any] = {}


def _lightning_modules() -> list[Any]:
    found = []
    for name in ("lightning.pytorch", "pytorch_lightning"):
        try:
            found.append(importlib.import_module(name))
        except ImportError:
            continue
    return found


def enable(options: dict[str, Any]) -> bool:
    """Patch ``Trainer.fit``; False when no Lightning is installed."""
    _options.clear()
    _options.update(options)
    modules = _lightning_modules()
    for module in modules:
        patching.patch(FRAMEWORK, module.Trainer, "fit", functools.partial(_wrap, lightning=module))
    return bool(modules)


def disable() -> None:
    patching.unpatch(FRAMEWORK)


def _scalars(metrics: dict[str, Any]) -> dict[str, float]:
    values = {}
    for key, value in metrics.items():
        try:
            number = float(value.item() if hasattr(value, "item") else value)
        except (TypeError, ValueError):
            continue
        values[key] = number
    return values


def _callback_class(module: Any) -> Any:
    class MlcoreLightningCallback(module.Callback):  # type: ignore[misc]
        def __init__(self, run: Any) -> None:
            self.run = run
            self.logged: set[tuple[str, int]] = set()  # (metric, epoch) already logged

        def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
            def params() -> None:
                values = {k: str(v) for k, v in dict(getattr(pl_module, "hparams", {})).items()}
                values["epochs"] = str(trainer.max_epochs)
                optimizers = getattr(trainer, "optimizers", []) or []
                if optimizers:
                    optimizer = optimizers[0]
                    values["optimizer_name"] = type(optimizer).__name__
                    for key in ("lr", "weight_decay", "momentum"):
                        if key in optimizer.defaults:
                            values[f"optimizer_{key}"] = str(optimizer.defaults[key])
                self.run.log_params(values)

            safely("log hyper-parameters", params)

        def _log(self, trainer: Any) -> None:
            if getattr(trainer, "sanity_checking", False):
                return
            epoch = int(trainer.current_epoch)
            # callback_metrics holds train and val values at both hooks: each once per epoch
            metrics = {
                key: value
                for key, value in _scalars(dict(trainer.callback_metrics)).items()
                if (key, epoch) not in self.logged
            }
            self.logged.update((key, epoch) for key in metrics)
            if metrics:
                safely("log epoch metrics", lambda: self.run.log_metrics(metrics, step=epoch))

        def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
            # Lightning validates before this hook: both train aggregates and this epoch's
            # validation metrics are current here (at validation end, train ones are stale)
            self._log(trainer)

        def on_fit_end(self, trainer: Any, pl_module: Any) -> None:
            checkpoint = getattr(trainer, "checkpoint_callback", None)
            best = getattr(checkpoint, "best_model_path", "") if checkpoint else ""
            if best and os.path.isfile(best):
                safely(
                    "log the best checkpoint", lambda: self.run.log_artifact(best, "checkpoints")
                )
                score = getattr(checkpoint, "best_model_score", None)
                if score is not None:
                    safely(
                        "log the best score",
                        lambda: self.run.log_metric("best_model_score", float(score)),
                    )
            if _options.get("log_models", True):
                safely(
                    "log the model", lambda: self.run.log_model(pl_module, "model", flavor="torch")
                )

    return MlcoreLightningCallback


def _wrap(original: Any, lightning: Any) -> Any:
    callback_class = _callback_class(lightning)

    def fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        if depth() > 0:
            return original(self, *args, **kwargs)
        with run_for("lightning") as (run, _owned):
            if run is None:
                return original(self, *args, **kwargs)
            callback = callback_class(run)
            self.callbacks.append(callback)
            try:
                with nested():
                    return original(self, *args, **kwargs)
            finally:
                if callback in self.callbacks:
                    self.callbacks.remove(callback)

    return fit
