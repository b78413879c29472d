"""Autologging for XGBoost: params, per-iteration eval metrics, feature importance, the model.

``xgboost.train`` gets a callback that logs every eval metric after every boosting round
(``validation_0-logloss`` at step = round). The scikit-learn API (``XGBClassifier.fit``...)
goes through the same ``train``; its fit additionally logs the estimator as the model.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from mlcore.autolog import patching
from mlcore.autolog.session import depth, nested, run_for, safely

__all__ = ["FRAMEWORK", "disable", "enable"]

FRAMEWORK = "xgboost"
_options: dict[str, Any] = {}


def enable(options: dict[str, Any]) -> None:
    import xgboost
    import xgboost.sklearn
    import xgboost.training

    _options.clear()
    _options.update(options)
    for owner in (xgboost.training, xgboost.sklearn, xgboost):
        patching.patch(FRAMEWORK, owner, "train", _wrap_train)
    for cls in (xgboost.XGBModel, xgboost.XGBClassifier, xgboost.XGBRegressor, xgboost.XGBRanker):
        if "fit" in cls.__dict__:
            patching.patch(FRAMEWORK, cls, "fit", _wrap_fit)


def disable() -> None:
    patching.unpatch(FRAMEWORK)


def _callback(run: Any) -> Any:
    import xgboost

    class LogEvaluations(xgboost.callback.TrainingCallback):
        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            def log() -> None:
                for data, metrics in evals_log.items():
                    for metric, values in metrics.items():
                        value = values[-1]
                        value = value[0] if isinstance(value, tuple) else value
                        run.log_metric(f"{data}-{metric}", float(value), step=epoch)

            safely("log eval metrics", log)
            return False

    return LogEvaluations()


def _log_importance(run: Any, booster: Any) -> None:
    for kind in ("weight", "gain"):
        scores = booster.get_score(importance_type=kind)
        if not scores:
            continue
        ranked = dict(sorted(scores.items(), key=lambda item: item[1], reverse=True))
        run.log_dict(ranked, f"feature_importance_{kind}.json")

        def plot(ranked: dict[str, float] = ranked, kind: str = kind) -> None:
            import matplotlib

            matplotlib.use("Agg", force=False)
            import matplotlib.pyplot as plt

            top = list(ranked.items())[:20][::-1]
            figure, axes = plt.subplots(figsize=(6, max(2.0, 0.3 * len(top))))
            axes.barh([name for name, _ in top], [value for _, value in top])
            axes.set_title(f"feature importance ({kind})")
            figure.tight_layout()
            run.log_figure(figure, f"feature_importance_{kind}.png")
            plt.close(figure)

        safely("plot feature importance", plot)


def _wrap_train(original: Any) -> Any:
    def train(params: dict[str, Any], dtrain: Any, *args: Any, **kwargs: Any) -> Any:
        inside_fit = depth() > 0 and getattr(_state, "fit", False)
        if depth() > 0 and not inside_fit:
            return original(params, dtrain, *args, **kwargs)
        with run_for("xgboost") as (run, _owned):
            if run is None:
                return original(params, dtrain, *args, **kwargs)
            if not inside_fit:
                safely(
                    "log params",
                    lambda: run.log_params(
                        {
                            k: json.dumps(v) if not isinstance(v, str) else v
                            for k, v in dict(params).items()
                        }
                    ),
                )
            callbacks = list(kwargs.pop("callbacks", None) or [])
            callbacks.append(_callback(run))
            with nested():
                booster = original(params, dtrain, *args, callbacks=callbacks, **kwargs)
            best = getattr(booster, "best_iteration", None)
            if best is not None:
                safely("log best iteration", lambda: run.log_metric("best_iteration", best))
            safely("log feature importance", lambda: _log_importance(run, booster))
            if not inside_fit and _options.get("log_models", True):
                safely("log the model", lambda: run.log_model(booster, "model", flavor="xgboost"))
        return booster

    return train


class _FitState(threading.local):
    fit = False


_state = _FitState()  # per thread: whether a scikit-learn API fit is running


def _wrap_fit(original: Any) -> Any:
    def fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        if depth() > 0:
            return original(self, *args, **kwargs)
        with run_for(type(self).__name__) as (run, _owned):
            if run is None:
                return original(self, *args, **kwargs)
            params = {
                k: json.dumps(v) if not isinstance(v, str) else v
                for k, v in self.get_params().items()
                if v is not None
            }
            safely("log params", lambda: run.log_params(params))
            _state.fit = True
            try:
                with nested():
                    result = original(self, *args, **kwargs)
            finally:
                _state.fit = False
            if _options.get("log_models", True):
                X = args[0] if args else kwargs.get("X")
                example = X[:5] if _options.get("log_input_examples") and X is not None else None
                safely(
                    "log the model",
                    lambda: run.log_model(self, "model", flavor="xgboost", input_example=example),
                )
        return result

    return fit
