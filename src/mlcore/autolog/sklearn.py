"""Autologging for scikit-learn: params, training metrics and the fitted model of every fit.

Every estimator's ``fit`` (and ``fit_transform``/``fit_predict`` where a class defines them)
is wrapped. The outermost fit is logged; the fits a Pipeline or a search makes inside it are
not logged again. Hyper-parameter searches (``GridSearchCV``, ``RandomizedSearchCV``) also log
the best params and score and one child run per candidate.
"""

from __future__ import annotations

import math
from typing import Any

from mlcore.autolog import patching
from mlcore.autolog.session import depth, nested, run_for, safely

__all__ = ["FRAMEWORK", "MAX_PARAM_LENGTH", "disable", "enable"]

FRAMEWORK = "sklearn"
MAX_PARAM_LENGTH = 500
_options: dict[str, Any] = {}


def enable(options: dict[str, Any]) -> None:
    import sklearn.base
    from sklearn.model_selection._search import BaseSearchCV
    from sklearn.utils import all_estimators

    _options.clear()
    _options.update(options)
    classes = {cls for _, cls in all_estimators()}
    classes.update({BaseSearchCV, sklearn.pipeline.Pipeline})
    for cls in classes:
        for method in ("fit", "fit_transform", "fit_predict"):
            # patch where the method is defined (RandomForestClassifier inherits BaseForest.fit)
            owner = next((k for k in cls.__mro__ if method in k.__dict__), None)
            if owner is not None and owner.__module__.startswith("sklearn"):
                patching.patch(FRAMEWORK, owner, method, _wrap)


def disable() -> None:
    patching.unpatch(FRAMEWORK)


def _wrap(original: Any) -> Any:
    def fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        if depth() > 0:
            return original(self, *args, **kwargs)
        with run_for(type(self).__name__) as (run, _owned):
            if run is None:
                return original(self, *args, **kwargs)
            safely("log estimator params", lambda: _log_params(run, self))
            with nested():  # fits made inside (pipeline steps, metrics' encoders) are not logged
                result = original(self, *args, **kwargs)
                X = args[0] if args else kwargs.get("X")
                y = args[1] if len(args) > 1 else kwargs.get("y")
                weight = kwargs.get("sample_weight")
                safely("log training metrics", lambda: _log_metrics(run, self, X, y, weight))
                if hasattr(self, "cv_results_"):
                    safely("log the search", lambda: _log_search(run, self))
                if _options.get("log_models", True):
                    safely("log the model", lambda: _log_model(run, self, X))
        return result

    return fit


def _param_text(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= MAX_PARAM_LENGTH else text[: MAX_PARAM_LENGTH - 3] + "..."


def _log_params(run: Any, estimator: Any) -> None:
    params = {
        key: _param_text(value)
        for key, value in estimator.get_params(deep=True).items()
        if not hasattr(value, "get_params")  # nested estimators show up by their own params
    }
    params["estimator_class"] = f"{type(estimator).__module__}.{type(estimator).__name__}"
    safely("log params", lambda: run.log_params(params))


def _log_metrics(run: Any, estimator: Any, X: Any, y: Any, weight: Any) -> None:
    from sklearn import base, metrics

    if X is None:
        return
    values: dict[str, float] = {}
    target = getattr(estimator, "best_estimator_", estimator)
    if y is not None and hasattr(estimator, "score"):
        score = safely("compute score", lambda: float(estimator.score(X, y)))
        if score is not None:
            values["training_score"] = score
    if y is not None and base.is_classifier(target) and hasattr(estimator, "predict"):
        predicted = estimator.predict(X)
        values["training_accuracy_score"] = metrics.accuracy_score(
            y, predicted, sample_weight=weight
        )
        for name, fn in (
            ("precision", metrics.precision_score),
            ("recall", metrics.recall_score),
            ("f1", metrics.f1_score),
        ):
            values[f"training_{name}_score"] = fn(
                y, predicted, average="weighted", sample_weight=weight, zero_division=0
            )
        if hasattr(estimator, "predict_proba"):

            def roc_auc() -> float:
                probabilities = estimator.predict_proba(X)
                if probabilities.shape[1] == 2:
                    probabilities = probabilities[:, 1]
                return float(
                    metrics.roc_auc_score(y, probabilities, multi_class="ovr", sample_weight=weight)
                )

            auc = safely("compute roc_auc", roc_auc)
            if auc is not None:
                values["training_roc_auc"] = auc
    elif y is not None and base.is_regressor(target) and hasattr(estimator, "predict"):
        predicted = estimator.predict(X)
        mse = metrics.mean_squared_error(y, predicted, sample_weight=weight)
        values.update(
            training_mean_squared_error=mse,
            training_root_mean_squared_error=math.sqrt(mse),
            training_mean_absolute_error=metrics.mean_absolute_error(
                y, predicted, sample_weight=weight
            ),
            training_r2_score=metrics.r2_score(y, predicted, sample_weight=weight),
        )
    if values:
        run.log_metrics({k: float(v) for k, v in values.items()})


def _log_search(run: Any, search: Any) -> None:
    results = search.cv_results_
    run.log_params({f"best_{k}": _param_text(v) for k, v in search.best_params_.items()})
    run.log_metrics({"best_cv_score": float(search.best_score_)})
    ranks = list(results["rank_test_score"])
    order = sorted(range(len(ranks)), key=lambda i: ranks[i])
    limit = _options.get("max_tuning_runs")
    chosen = order if limit is None else order[: int(limit)]
    tracker = run.tracker
    metric_keys = [k for k in results if k.startswith(("mean_", "std_", "rank_"))]
    for index in chosen:
        child = tracker.create_run(
            run.info.experiment_id,
            name=f"{type(search.estimator).__name__}-candidate-{index}",
            parent_run_id=run.id,
            params={k: _param_text(v) for k, v in results["params"][index].items()},
        )
        child_id = child.info.run_id
        tracker.log_batch(
            child_id,
            metrics=[
                (k, float(results[k][index]), None, 0)
                for k in metric_keys
                if _is_number(results[k][index])
            ],
        )
        tracker.end_run(child_id, "FINISHED")
    try:
        import pandas as pd
    except ImportError:
        return
    frame = pd.DataFrame({k: list(v) for k, v in results.items() if k != "params"})
    run.log_text(frame.to_csv(index=False), "cv_results.csv")


def _is_number(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _log_model(run: Any, estimator: Any, X: Any) -> None:
    example = None
    if _options.get("log_input_examples") and X is not None:
        example = X[:5] if hasattr(X, "__getitem__") else None
    run.log_model(estimator, "model", flavor="sklearn", input_example=example)
