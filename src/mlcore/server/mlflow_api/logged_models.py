"""MLflow 3's logged models (``/mlflow/logged-models/...``), which ``mlflow.<flavor>.log_model``
creates, uploads into and finalizes, and which ``runs:/<run>/<name>`` and
``models:/<model_id>`` URIs resolve through.

mlcore has no logged-model table: each model is kept as one JSON tag of its experiment
(``mlcore.mlflow.logged_model.<model_id>``, hidden from MLflow's view of the experiment), and
its files lie where MLflow puts them, ``<experiment location>/models/<model_id>/artifacts``,
behind the same artifact proxy. Registering one (``registered_model_name=`` or
``register_model``) makes an ordinary mlcore model version whose source is that location.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from mlcore.errors import NotFoundError
from mlcore.filters import Comparison, Expr, FilterContext, parse_filter
from mlcore.server.mlflow_api import filters
from mlcore.server.mlflow_api.errors import DOES_NOT_EXIST, MlflowApiError
from mlcore.server.mlflow_api.messages import key_values, tag_list
from mlcore.server.mlflow_api.routes import Context, Endpoint, int_arg
from mlcore.stores.paging import decode_page_token, encode_page_token
from mlcore.types import Experiment
from mlcore.uris import validate_artifact_path

__all__ = ["TAG_PREFIX", "LoggedModel", "endpoints", "find_logged_model", "resolve_experiment"]

#: the experiment tag prefix each logged model is kept under
TAG_PREFIX = "mlcore.mlflow.logged_model."
_STATUSES = ("LOGGED_MODEL_PENDING", "LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED")
_FIELDS = FilterContext(
    "logged models",
    frozenset({"tags", "params", "attributes"}),
    {
        "name": "str",
        "model_id": "str",
        "source_run_id": "str",
        "status": "str",
        "model_type": "str",
        "creation_timestamp": "int",
        "last_updated_timestamp": "int",
    },
    {"creation_time": "creation_timestamp", "last_update_time": "last_updated_timestamp"},
    {},
)


@dataclass
class LoggedModel:
    """One MLflow logged model as mlcore keeps it."""

    model_id: str
    experiment_id: str
    name: str
    #: the absolute location of its files (under the server's artifact root)
    location: str
    creation_timestamp: int
    last_updated_timestamp: int
    status: str = "LOGGED_MODEL_PENDING"
    model_type: str = ""
    source_run_id: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    deleted: bool = False

    def as_json(self, context: Context) -> dict[str, Any]:
        info: dict[str, Any] = {
            "model_id": self.model_id,
            "experiment_id": self.experiment_id,
            "name": self.name,
            "creation_timestamp_ms": self.creation_timestamp,
            "last_updated_timestamp_ms": self.last_updated_timestamp,
            "artifact_uri": context.root.show(self.location),
            "status": self.status,
            "tags": tag_list(self.tags),
        }
        if self.model_type:
            info["model_type"] = self.model_type
        if self.source_run_id:
            info["source_run_id"] = self.source_run_id
        return {"info": info, "data": {"params": tag_list(self.params), "metrics": []}}


def resolve_experiment(context: Context, experiment_id: str) -> Experiment:
    from mlcore.server.mlflow_api.tracking import experiment_of

    return experiment_of(context, experiment_id)


def _models_of(experiment: Experiment) -> list[LoggedModel]:
    found = []
    for key, value in experiment.tags.items():
        if key.startswith(TAG_PREFIX):
            try:
                found.append(LoggedModel(**json.loads(value)))
            except (ValueError, TypeError):
                continue
    return found


def find_logged_model(
    context: Context, model_id: str, *, allow_deleted: bool = False
) -> LoggedModel:
    """The logged model ``model_id``; RESOURCE_DOES_NOT_EXIST if there is none."""
    key = TAG_PREFIX + model_id
    known = context.logged_model_experiments.get(model_id)
    candidates = (
        [context.store.get_experiment(known)]
        if known is not None
        else context.store.search_experiments("all")
    )
    for experiment in candidates:
        if key in experiment.tags:
            context.logged_model_experiments[model_id] = experiment.experiment_id
            model = LoggedModel(**json.loads(experiment.tags[key]))
            if model.deleted and not allow_deleted:
                break
            return model
    raise MlflowApiError(f"Logged model with ID '{model_id}' not found.", DOES_NOT_EXIST)


def _save(context: Context, model: LoggedModel) -> None:
    model.last_updated_timestamp = int(time.time() * 1000)
    context.store.set_experiment_tag(
        model.experiment_id, TAG_PREFIX + model.model_id, json.dumps(asdict(model))
    )
    context.logged_model_experiments[model.model_id] = model.experiment_id


def _answer(model: LoggedModel, context: Context) -> Any:
    return {"model": model.as_json(context)}


def create_logged_model(context: Context, arguments: dict[str, Any]) -> Any:
    experiment = resolve_experiment(context, str(arguments.get("experiment_id") or "0"))
    source_run_id = str(arguments.get("source_run_id") or "")
    if source_run_id:
        context.store.get_run(source_run_id)  # RESOURCE_DOES_NOT_EXIST for an unknown run
    model_id = f"m-{uuid.uuid4().hex}"
    name = str(arguments.get("name") or model_id)
    validate_artifact_path(name, allow_root=False)
    now = int(time.time() * 1000)
    model = LoggedModel(
        model_id=model_id,
        experiment_id=experiment.experiment_id,
        name=name,
        location=f"{experiment.artifact_location.rstrip('/')}/models/{model_id}/artifacts",
        creation_timestamp=now,
        last_updated_timestamp=now,
        model_type=str(arguments.get("model_type") or ""),
        source_run_id=source_run_id,
        tags=key_values(arguments.get("tags"), "tags"),
        params=key_values(arguments.get("params"), "params"),
    )
    if context.root.relative(model.location) is None:
        raise MlflowApiError("the experiment's artifact location lies outside the artifact root")
    _save(context, model)
    return _answer(model, context)


def get_logged_model(context: Context, arguments: dict[str, Any]) -> Any:
    allow = str(arguments.get("allow_deleted", "")).lower() == "true"
    found = find_logged_model(context, str(arguments["model_id"]), allow_deleted=allow)
    return _answer(found, context)


def finalize_logged_model(context: Context, arguments: dict[str, Any]) -> Any:
    model = find_logged_model(context, str(arguments["model_id"]))
    status = arguments.get("status")
    if isinstance(status, int) and 0 < status <= len(_STATUSES):
        status = _STATUSES[status - 1]
    if status not in _STATUSES:
        raise MlflowApiError(f"status must be one of {', '.join(_STATUSES)}, got {status!r:.40}")
    model.status = status
    _save(context, model)
    return _answer(model, context)


def delete_logged_model(context: Context, arguments: dict[str, Any]) -> Any:
    model = find_logged_model(context, str(arguments["model_id"]))
    model.deleted = True
    _save(context, model)
    return {}


def set_logged_model_tags(context: Context, arguments: dict[str, Any]) -> Any:
    model = find_logged_model(context, str(arguments["model_id"]))
    model.tags.update(key_values(arguments.get("tags"), "tags"))
    _save(context, model)
    return _answer(model, context)


def delete_logged_model_tag(context: Context, arguments: dict[str, Any]) -> Any:
    model = find_logged_model(context, str(arguments["model_id"]))
    key = str(arguments["tag_key"])
    if model.tags.pop(key, None) is None:
        raise MlflowApiError(f"No tag with key {key!r} on logged model", DOES_NOT_EXIST)
    _save(context, model)
    return {}


def log_params(context: Context, arguments: dict[str, Any]) -> Any:
    model = find_logged_model(context, str(arguments["model_id"]))
    params = key_values(arguments.get("params"), "params")
    for key, value in params.items():
        if model.params.get(key, value) != value:
            raise MlflowApiError(
                f"Changing param values is not allowed. Param with key={key!r} was already "
                f"logged with value={model.params[key]!r} for logged model {model.model_id}."
            )
    model.params.update(params)
    _save(context, model)
    return {}


def _value(model: LoggedModel, expr: Comparison) -> Any:
    ident = expr.ident
    if ident.entity == "tags":
        return model.tags.get(ident.key)
    if ident.entity == "params":
        return model.params.get(ident.key)
    return getattr(model, ident.key)


def _matches(model: LoggedModel, expr: Expr | None) -> bool:
    from mlcore.filters import And, Or

    if expr is None:
        return True
    if isinstance(expr, Comparison):
        return filters.compare(_value(model, expr), expr.op, expr.value)
    if isinstance(expr, And):
        return all(_matches(model, e) for e in expr.items)
    if isinstance(expr, Or):
        return any(_matches(model, e) for e in expr.items)
    return not _matches(model, expr.item)


def search_logged_models(context: Context, arguments: dict[str, Any]) -> Any:
    ids = arguments.get("experiment_ids") or []
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise MlflowApiError("experiment_ids must be a list of strings")
    max_results = int_arg(arguments, "max_results", 100) or 100
    if not 0 < max_results <= 1000:
        raise MlflowApiError(f"max_results must be in 1..1000, got {max_results}")
    expr = parse_filter(str(arguments.get("filter") or "") or None, _FIELDS)
    found: list[LoggedModel] = []
    for experiment_id in ids:
        try:
            experiment = resolve_experiment(context, experiment_id)
        except (MlflowApiError, NotFoundError):
            continue
        found.extend(m for m in _models_of(experiment) if not m.deleted and _matches(m, expr))
    found.sort(key=lambda m: (-m.creation_timestamp, m.model_id))
    offset = decode_page_token(str(arguments.get("page_token") or "") or None)
    body: dict[str, Any] = {
        "models": [m.as_json(context) for m in found[offset : offset + max_results]]
    }
    if offset + max_results < len(found):
        body["next_page_token"] = encode_page_token(offset + max_results)
    return body


def list_artifacts(context: Context, arguments: dict[str, Any]) -> Any:
    model = find_logged_model(context, str(arguments["model_id"]))
    relative = context.root.relative(model.location) or ""
    path = validate_artifact_path(str(arguments.get("artifact_directory_path") or ""))
    base = f"{relative}/{path}" if path else relative
    try:
        entries = context.files.list(base)
    except NotFoundError:
        entries = []
    files = []
    for entry in entries:
        item: dict[str, Any] = {"path": entry.path[len(relative) + 1 :], "is_dir": entry.is_dir}
        if not entry.is_dir and entry.size is not None:
            item["file_size"] = entry.size
        files.append(item)
    return {"root_uri": context.root.show(model.location), "files": files}


def endpoints() -> list[Endpoint]:
    base = "/mlflow/logged-models"
    one = base + "/{model_id}"
    return [
        Endpoint("POST", base + "/search", search_logged_models, reads=True),
        Endpoint("POST", base, create_logged_model),
        Endpoint("GET", one, get_logged_model),
        Endpoint("PATCH", one, finalize_logged_model),
        Endpoint("DELETE", one, delete_logged_model),
        Endpoint("PATCH", one + "/tags", set_logged_model_tags),
        Endpoint("DELETE", one + "/tags/{tag_key:path}", delete_logged_model_tag),
        Endpoint("POST", one + "/params", log_params),
        Endpoint("GET", one + "/artifacts/directories", list_artifacts),
    ]
