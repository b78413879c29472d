"""MLflow's tracking endpoints (``/mlflow/experiments/*``, ``/mlflow/runs/*``,
``/mlflow/metrics/*``) over an mlcore store: an MLflow run is an ordinary mlcore run."""

from __future__ import annotations

import json
import time
from typing import Any

from mlcore import _config
from mlcore import _validation as check
from mlcore.errors import InvalidInputError, NotFoundError
from mlcore.server.mlflow_api import filters
from mlcore.server.mlflow_api.errors import DOES_NOT_EXIST, MlflowApiError
from mlcore.server.mlflow_api.messages import (
    HIDDEN_PREFIX,
    RUN_NAME_TAG,
    SCHEME,
    experiment_json,
    key_values,
    metric_value,
    run_info_json,
    run_json,
    split_run_tags,
    stored_tag_key,
)
from mlcore.server.mlflow_api.routes import Context, Endpoint, int_arg
from mlcore.stores.paging import decode_page_token, encode_page_token
from mlcore.tracking.dataset_inputs import LEGACY_INPUTS_TAG, dataset_inputs, log_dataset_inputs
from mlcore.types import Experiment, Run
from mlcore.uris import validate_artifact_path

__all__ = [
    "DEFAULT_EXPERIMENT_ID",
    "LIMITS",
    "OUTPUTS_TAG",
    "endpoints",
    "experiment_of",
]

#: MLflow's limits on one log-batch request (its clients split larger ones)
LIMITS = {
    "metrics": 1000,
    "params": 100,
    "tags": 100,
    "entities": 1000,
    "key_length": 250,
    "param_value_length": 6000,
    "tag_value_length": 8000,
}
#: the tag keeping a run's model outputs (MLflow 3's logged models it produced, with steps)
OUTPUTS_TAG = "mlcore.mlflow.outputs"
_VIEWS = {"ACTIVE_ONLY": "active", "DELETED_ONLY": "deleted", "ALL": "all"}
_TERMINAL = ("FINISHED", "FAILED", "KILLED")


def _text(arguments: dict[str, Any], name: str, *, required: bool = True) -> str:
    value = arguments.get(name)
    if value is None or value == "":
        if required:
            raise MlflowApiError(f"Missing value for required parameter '{name}'.")
        return ""
    if not isinstance(value, str):
        raise MlflowApiError(f"{name} must be a string, got {type(value).__name__}")
    return value


def _strings(arguments: dict[str, Any], name: str) -> list[str]:
    value = arguments.get(name)
    if value is None:
        return []
    values = value if isinstance(value, list) else [value]
    if not all(isinstance(v, str) for v in values):
        raise MlflowApiError(f"{name} must be a list of strings")
    return values


def _run_id(arguments: dict[str, Any]) -> str:
    return _text(arguments, "run_id", required=False) or _text(arguments, "run_uuid")


def _view(arguments: dict[str, Any], name: str) -> str:
    value = arguments.get(name) or "ACTIVE_ONLY"
    if isinstance(value, int) and not isinstance(value, bool):
        value = {1: "ACTIVE_ONLY", 2: "DELETED_ONLY", 3: "ALL"}.get(value, "")
    if value not in _VIEWS:
        raise MlflowApiError(f"{name} must be one of {', '.join(_VIEWS)}, got {value!r:.40}")
    return _VIEWS[value]


def _stored_value(value: Any, what: str) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        raise MlflowApiError(f"{what} must be a string")
    return value if isinstance(value, str) else json.dumps(value)


# -- experiments --------------------------------------------------------------------------------
#: MLflow's id of its default experiment, which a client uses when none is set
DEFAULT_EXPERIMENT_ID = "0"


def _default_experiment(context: Context) -> Experiment:
    """mlcore's default experiment (the fluent API's ``Default``), created on first use."""
    from mlcore.errors import AlreadyExistsError

    name = _config.DEFAULT_EXPERIMENT
    found = context.store.get_experiment_by_name(name)
    if found is None:
        try:
            found = context.store.create_experiment(name)
        except AlreadyExistsError:  # created meanwhile by another request
            found = context.store.get_experiment_by_name(name)
    assert found is not None
    return found


def experiment_of(context: Context, experiment_id: str) -> Experiment:
    """The experiment an MLflow id names: ``"0"`` is mlcore's default experiment."""
    if experiment_id == DEFAULT_EXPERIMENT_ID:
        return _default_experiment(context)
    try:
        return context.store.get_experiment(experiment_id)
    except (NotFoundError, InvalidInputError):
        raise MlflowApiError(
            f"No Experiment with id={experiment_id} exists", DOES_NOT_EXIST
        ) from None


_experiment = experiment_of


def get_experiment(context: Context, arguments: dict[str, Any]) -> Any:
    found = _experiment(context, _text(arguments, "experiment_id"))
    return {"experiment": experiment_json(found, context.root)}


def get_experiment_by_name(context: Context, arguments: dict[str, Any]) -> Any:
    name = _text(arguments, "experiment_name")
    found = context.store.get_experiment_by_name(name)
    if found is None:
        raise MlflowApiError(f"Could not find experiment with name '{name}'", DOES_NOT_EXIST)
    return {"experiment": experiment_json(found, context.root)}


def _artifact_location(context: Context, location: str) -> str | None:
    if not location:
        return None
    if not location.startswith(SCHEME):
        raise MlflowApiError(
            f"artifact_location {location!r:.200} lies outside this server's artifact root; "
            f"leave it empty or use {SCHEME}/<path>"
        )
    relative = validate_artifact_path(location[len(SCHEME) :].lstrip("/"), allow_root=False)
    return f"{context.root.root}/{relative}"


def create_experiment(context: Context, arguments: dict[str, Any]) -> Any:
    name = _text(arguments, "name")
    tags = key_values(arguments.get("tags"), "tags")
    description = tags.pop("mlflow.note.content", None)
    location = _artifact_location(context, _text(arguments, "artifact_location", required=False))
    created = context.store.create_experiment(
        name, artifact_location=location, tags=tags, description=description
    )
    return {"experiment_id": created.experiment_id}


def search_experiments(context: Context, arguments: dict[str, Any]) -> Any:
    max_results = int_arg(arguments, "max_results", 1000) or 1000
    if not 0 < max_results <= 50_000:
        raise MlflowApiError(f"max_results must be in 1..50000, got {max_results}")
    matches = filters.match_experiment(_text(arguments, "filter", required=False) or None)
    found = [
        e for e in context.store.search_experiments(_view(arguments, "view_type")) if matches(e)
    ]
    filters.sort_experiments(found, _strings(arguments, "order_by"))
    offset = decode_page_token(_text(arguments, "page_token", required=False) or None)
    page = found[offset : offset + max_results]
    body: dict[str, Any] = {"experiments": [experiment_json(e, context.root) for e in page]}
    if offset + max_results < len(found):
        body["next_page_token"] = encode_page_token(offset + max_results)
    return body


def update_experiment(context: Context, arguments: dict[str, Any]) -> Any:
    experiment_id = _experiment(context, _text(arguments, "experiment_id")).experiment_id
    new_name = _text(arguments, "new_name", required=False)
    if new_name:
        context.store.rename_experiment(experiment_id, new_name)
    return {}


def delete_experiment(context: Context, arguments: dict[str, Any]) -> Any:
    experiment_id = _experiment(context, _text(arguments, "experiment_id")).experiment_id
    context.active_runs.clear()  # its runs are deleted with it
    context.store.delete_experiment(experiment_id)
    return {}


def restore_experiment(context: Context, arguments: dict[str, Any]) -> Any:
    experiment_id = _experiment(context, _text(arguments, "experiment_id")).experiment_id
    context.store.restore_experiment(experiment_id)
    return {}


def set_experiment_tag(context: Context, arguments: dict[str, Any]) -> Any:
    experiment_id = _experiment(context, _text(arguments, "experiment_id")).experiment_id
    key = _text(arguments, "key")
    context.store.set_experiment_tag(experiment_id, key, _stored_value(arguments.get("value"), key))
    return {}


# -- runs -----------------------------------------------------------------------------------------
def _run(context: Context, run_id: str) -> Run:
    try:
        return context.store.get_run(run_id)
    except NotFoundError:
        raise MlflowApiError(f"Run with id={run_id} not found", DOES_NOT_EXIST) from None


#: how long a run found active is taken to stay so by the logging calls
_ACTIVE_FOR_S = 1.0


def _active_run(context: Context, run_id: str) -> Run:
    run = _run(context, run_id)
    if run.info.lifecycle_stage.value != "active":
        context.active_runs.pop(run_id, None)
        raise MlflowApiError(
            f"The run {run_id} must be in the 'active' state. "
            f"Current state is {run.info.lifecycle_stage.value}."
        )
    if len(context.active_runs) > 10_000:
        context.active_runs.clear()
    context.active_runs[run_id] = time.monotonic() + _ACTIVE_FOR_S
    return run


def _check_active(context: Context, run_id: str) -> None:
    """:func:`_active_run`, answered from the recent lookups when it can."""
    if context.active_runs.get(run_id, 0.0) < time.monotonic():
        _active_run(context, run_id)


def _outputs_of(run: Run) -> list[dict[str, Any]]:
    try:
        found = json.loads(run.data.tags.get(OUTPUTS_TAG, "[]"))
    except ValueError:
        return []
    return found if isinstance(found, list) else []


def _run_body(run: Run, context: Context, inputs: list[dict[str, Any]] | None = None) -> Any:
    """A run as MLflow's message; ``inputs`` its dataset inputs (read when not given)."""
    if inputs is None:
        inputs = dataset_inputs(context.store, [run])[run.info.run_id]
    visible = {
        k: v
        for k, v in run.data.tags.items()
        if not k.startswith(HIDDEN_PREFIX) and k != LEGACY_INPUTS_TAG
    }
    shown = run.model_copy(update={"data": run.data.model_copy(update={"tags": visible})})
    body = run_json(shown, context.root, inputs)
    outputs = _outputs_of(run)
    if outputs:
        body["outputs"] = {"model_outputs": outputs}
    return body


def create_run(context: Context, arguments: dict[str, Any]) -> Any:
    from mlcore.tracking.run_source import generate_run_name

    experiment_id = _experiment(
        context, _text(arguments, "experiment_id", required=False) or DEFAULT_EXPERIMENT_ID
    ).experiment_id
    fields = split_run_tags(key_values(arguments.get("tags"), "tags"))
    name = _text(arguments, "run_name", required=False) or fields.name or generate_run_name()
    start_time = int_arg(arguments, "start_time") or int(time.time() * 1000)
    if fields.parent_run_id:
        _run(context, fields.parent_run_id)
    run = context.store.create_run(
        experiment_id,
        name=name,
        start_time=start_time,
        tags=fields.tags,
        parent_run_id=fields.parent_run_id,
        user=_text(arguments, "user_id", required=False) or fields.user,
    )
    return {"run": _run_body(run, context)}


def get_run(context: Context, arguments: dict[str, Any]) -> Any:
    return {"run": _run_body(_run(context, _run_id(arguments)), context)}


def update_run(context: Context, arguments: dict[str, Any]) -> Any:
    run_id = _run_id(arguments)
    _run(context, run_id)
    status = _text(arguments, "status", required=False) or None
    end_time = int_arg(arguments, "end_time")
    name = _text(arguments, "run_name", required=False) or None
    if status in _TERMINAL and end_time is not None and name is None:
        info = context.store.end_run(run_id, status=status, end_time=end_time)
    else:
        info = context.store.update_run(run_id, status=status, end_time=end_time, name=name)
    return {"run_info": run_info_json(info, context.root)}


def delete_run(context: Context, arguments: dict[str, Any]) -> Any:
    run_id = _run_id(arguments)
    _run(context, run_id)
    context.active_runs.pop(run_id, None)
    context.store.delete_run(run_id)
    return {}


def restore_run(context: Context, arguments: dict[str, Any]) -> Any:
    run_id = _run_id(arguments)
    _run(context, run_id)
    context.store.restore_run(run_id)
    return {}


_SPECIAL_FLOATS = frozenset({"NaN", "nan", "Infinity", "-Infinity", "inf", "-inf"})


def _metric_points(run_id: str, metrics: list[Any]) -> list[tuple[str, str, float, int, int]]:
    """MLflow's metric objects as mlcore points; each distinct key is checked once, and the
    common case (a float value, int timestamp and step) takes no conversion."""
    points: list[tuple[str, str, float, int, int]] = []
    keys: set[str] = set()
    now = 0
    for metric in metrics:
        if type(metric) is not dict:
            raise MlflowApiError("each metric must be an object with key, value, timestamp, step")
        key: str = metric.get("key")  # type: ignore[assignment]
        value = metric.get("value")
        timestamp = metric.get("timestamp")
        step = metric.get("step", 0)
        if type(key) is not str:
            check.check_key(key, "metric key")
        keys.add(key)
        if type(value) is not float:
            if value is None:
                raise MlflowApiError(f"Missing value for required parameter 'value' of {key!r}")
            value = check.metric_value(
                float(value) if isinstance(value, str) and value in _SPECIAL_FLOATS else value, key
            )
        if type(timestamp) is not int or timestamp < 0:
            if timestamp is None:
                now = now or int(time.time() * 1000)
            timestamp = (
                now if timestamp is None else check.timestamp_ms(int_arg(metric, "timestamp"))
            )
        if type(step) is not int:
            step = check.step_value(int_arg(metric, "step", 0))
        points.append((run_id, key, value, timestamp, step))
    for key in keys:
        check.check_key(key, "metric key")
    return points


def _check_batch(metrics: list[Any], params: dict[str, str], tags: dict[str, str]) -> None:
    for what, count in (("metrics", len(metrics)), ("params", len(params)), ("tags", len(tags))):
        if count > LIMITS[what]:
            raise MlflowApiError(
                f"A batch logging request can contain at most {LIMITS[what]} {what}. "
                f"Got {count} {what}. Please split up {what} across multiple requests and try "
                "again."
            )
    total = len(metrics) + len(params) + len(tags)
    if total > LIMITS["entities"]:
        raise MlflowApiError(
            f"A batch logging request can contain at most {LIMITS['entities']} metrics, params "
            f"and tags in total. Got {total}."
        )
    for kind, items, limit in (
        ("param", params, LIMITS["param_value_length"]),
        ("tag", tags, LIMITS["tag_value_length"]),
    ):
        for key, value in items.items():
            if len(key) > LIMITS["key_length"]:
                raise MlflowApiError(
                    f"{kind} name {key[:40]!r}... is longer than {LIMITS['key_length']} characters"
                )
            if len(value) > limit:
                raise MlflowApiError(
                    f"{kind} value of {key!r} is {len(value)} characters long; at most {limit}"
                )


def _set_tags(context: Context, run_id: str, tags: dict[str, str]) -> None:
    name = tags.pop(RUN_NAME_TAG, None)
    fields = split_run_tags(tags)  # parent and user are fixed when a run is created
    if name:
        context.store.update_run(run_id, name=name)
    if fields.tags:
        context.store.set_tags(run_id, fields.tags)


def log_batch(context: Context, arguments: dict[str, Any]) -> Any:
    run_id = _run_id(arguments)
    metrics = arguments.get("metrics") or []
    if not isinstance(metrics, list):
        raise MlflowApiError("metrics must be a list")
    params = key_values(arguments.get("params"), "params")
    tags = key_values(arguments.get("tags"), "tags")
    _check_batch(metrics, params, tags)
    points = _metric_points(run_id, metrics)
    _check_active(context, run_id)
    if params:
        context.store.log_params(run_id, params)
    if tags:
        _set_tags(context, run_id, tags)
    if points:
        context.store.log_metrics(points)
    return {}


def log_metric(context: Context, arguments: dict[str, Any]) -> Any:
    run_id = _run_id(arguments)
    point = _metric_points(run_id, [arguments])[0]
    _check_active(context, run_id)
    context.store.log_metrics([point])
    return {}


def log_param(context: Context, arguments: dict[str, Any]) -> Any:
    run_id = _run_id(arguments)
    key = _text(arguments, "key")
    value = _stored_value(arguments.get("value"), key)
    _check_batch([], {key: value}, {})
    _check_active(context, run_id)
    context.store.log_params(run_id, {key: value})
    return {}


def set_tag(context: Context, arguments: dict[str, Any]) -> Any:
    run_id = _run_id(arguments)
    key = _text(arguments, "key")
    value = _stored_value(arguments.get("value"), key)
    _check_batch([], {}, {key: value})
    _check_active(context, run_id)
    _set_tags(context, run_id, {key: value})
    return {}


def delete_tag(context: Context, arguments: dict[str, Any]) -> Any:
    run_id = _run_id(arguments)
    key = _text(arguments, "key")
    run = _active_run(context, run_id)
    stored = stored_tag_key(key)
    if stored not in run.data.tags:
        raise MlflowApiError(f"No tag with name: {key} in run with id {run_id}", DOES_NOT_EXIST)
    context.store.delete_tag(run_id, stored)
    return {}


def log_inputs(context: Context, arguments: dict[str, Any]) -> Any:
    """Dataset inputs become dataset artifact versions the run used (mlcore's lineage)."""
    run_id = _run_id(arguments)
    datasets = arguments.get("datasets") or []
    if not isinstance(datasets, list) or not all(isinstance(d, dict) for d in datasets):
        raise MlflowApiError("datasets must be a list of dataset inputs")
    _active_run(context, run_id)
    log_dataset_inputs(context.store, run_id, datasets)  # bad input: INVALID_PARAMETER_VALUE
    return {}


def log_outputs(context: Context, arguments: dict[str, Any]) -> Any:
    """MLflow 3's run outputs: the logged models a run produced (kept in a hidden tag)."""
    run_id = _run_id(arguments)
    models = arguments.get("models") or []
    if not isinstance(models, list) or not all(
        isinstance(m, dict) and isinstance(m.get("model_id"), str) for m in models
    ):
        raise MlflowApiError("models must be a list of {model_id, step}")
    run = _active_run(context, run_id)
    outputs = _outputs_of(run)
    for model in models:
        entry = {"model_id": model["model_id"], "step": int_arg(model, "step", 0) or 0}
        if entry not in outputs:
            outputs.append(entry)
    context.store.set_tags(run_id, {OUTPUTS_TAG: json.dumps(outputs)})
    return {}


def search_runs(context: Context, arguments: dict[str, Any]) -> Any:
    max_results = int_arg(arguments, "max_results", 1000) or 1000
    if not 0 < max_results <= 50_000:
        raise MlflowApiError(f"max_results must be in 1..50000, got {max_results}")
    experiment_ids = [
        _experiment(context, i).experiment_id if i == DEFAULT_EXPERIMENT_ID else i
        for i in _strings(arguments, "experiment_ids")
    ]
    page = context.store.search_runs(
        experiment_ids,
        filters.run_filter(_text(arguments, "filter", required=False) or None),
        filters.run_order_by(_strings(arguments, "order_by")) or None,
        max_results=max_results,
        page_token=_text(arguments, "page_token", required=False) or None,
        view=_view(arguments, "run_view_type"),
    )
    inputs = dataset_inputs(context.store, list(page))
    body: dict[str, Any] = {"runs": [_run_body(r, context, inputs[r.info.run_id]) for r in page]}
    if page.next_page_token:
        body["next_page_token"] = page.next_page_token
    return body


# -- metric histories -----------------------------------------------------------------------------
def _history(context: Context, run_id: str, key: str) -> list[dict[str, Any]]:
    _run(context, run_id)
    table = context.store.metric_history(run_id, key)
    return [
        {"key": key, "value": metric_value(v), "timestamp": t, "step": s}
        for s, t, v in zip(
            table.column("step").to_pylist(),
            table.column("timestamp").to_pylist(),
            table.column("value").to_pylist(),
            strict=True,
        )
    ]


def get_metric_history(context: Context, arguments: dict[str, Any]) -> Any:
    points = _history(context, _run_id(arguments), _text(arguments, "metric_key"))
    max_results = int_arg(arguments, "max_results")
    if max_results is None:
        return {"metrics": points}
    if max_results <= 0:
        raise MlflowApiError(f"max_results must be positive, got {max_results}")
    offset = decode_page_token(_text(arguments, "page_token", required=False) or None)
    body: dict[str, Any] = {"metrics": points[offset : offset + max_results]}
    if offset + max_results < len(points):
        body["next_page_token"] = encode_page_token(offset + max_results)
    return body


def _sampled_steps(steps: list[int], count: int) -> set[int]:
    """``count`` steps spread evenly over ``steps`` (sorted, distinct), first and last kept."""
    if len(steps) <= count:
        return set(steps)
    if count == 1:
        return {steps[0]}
    return {steps[round(i * (len(steps) - 1) / (count - 1))] for i in range(count)}


def get_history_bulk_interval(context: Context, arguments: dict[str, Any]) -> Any:
    run_ids = _strings(arguments, "run_ids")
    if not run_ids or len(run_ids) > 100:
        raise MlflowApiError("run_ids must name between 1 and 100 runs")
    key = _text(arguments, "metric_key")
    start = int_arg(arguments, "start_step")
    end = int_arg(arguments, "end_step")
    if (start is None) != (end is None) or (start is not None and end is not None and start > end):
        raise MlflowApiError("start_step and end_step go together, start_step <= end_step")
    max_results = int_arg(arguments, "max_results", 100) or 100
    if not 0 < max_results <= 1000:
        raise MlflowApiError(f"max_results must be in 1..1000, got {max_results}")
    found: list[dict[str, Any]] = []
    for run_id in run_ids:
        points = [
            p
            for p in _history(context, run_id, key)
            if start is None or end is None or start <= p["step"] <= end
        ]
        keep = _sampled_steps(sorted({p["step"] for p in points}), max_results)
        found.extend({**p, "run_id": run_id} for p in points if p["step"] in keep)
    found.sort(key=lambda p: (p["run_id"], p["step"], p["timestamp"]))
    return {"metrics": found}


def delete_experiment_tag(context: Context, arguments: dict[str, Any]) -> Any:
    experiment_id = _experiment(context, _text(arguments, "experiment_id")).experiment_id
    key = _text(arguments, "key")
    if key.startswith(HIDDEN_PREFIX):  # mlcore's own records, not tags to the client
        raise MlflowApiError(f"No tag with name: {key}", DOES_NOT_EXIST)
    context.store.delete_experiment_tag(experiment_id, key)
    return {}


def endpoints() -> list[Endpoint]:
    e = "/mlflow/experiments/"
    r = "/mlflow/runs/"
    return [
        Endpoint("GET", e + "get", get_experiment),
        Endpoint("GET", e + "get-by-name", get_experiment_by_name),
        Endpoint("POST", e + "create", create_experiment),
        Endpoint("POST", e + "search", search_experiments, reads=True),
        Endpoint("GET", e + "search", search_experiments),
        Endpoint("POST", e + "update", update_experiment),
        Endpoint("POST", e + "delete", delete_experiment),
        Endpoint("POST", e + "restore", restore_experiment),
        Endpoint("POST", e + "set-experiment-tag", set_experiment_tag),
        Endpoint("POST", e + "delete-experiment-tag", delete_experiment_tag),
        Endpoint("POST", r + "create", create_run),
        Endpoint("GET", r + "get", get_run),
        Endpoint("POST", r + "update", update_run),
        Endpoint("POST", r + "delete", delete_run),
        Endpoint("POST", r + "restore", restore_run),
        Endpoint("POST", r + "log-metric", log_metric),
        Endpoint("POST", r + "log-parameter", log_param),
        Endpoint("POST", r + "set-tag", set_tag),
        Endpoint("POST", r + "delete-tag", delete_tag),
        Endpoint("POST", r + "log-batch", log_batch),
        Endpoint("POST", r + "log-inputs", log_inputs),
        Endpoint("POST", r + "outputs", log_outputs),
        Endpoint("POST", r + "search", search_runs, reads=True),
        Endpoint("GET", "/mlflow/metrics/get-history", get_metric_history),
        Endpoint("GET", "/mlflow/metrics/get-history-bulk-interval", get_history_bulk_interval),
    ]
