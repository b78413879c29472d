"""MLflow's model registry endpoints (``/mlflow/registered-models/*``,
``/mlflow/model-versions/*``) over mlcore's registry store: a version the ``mlflow`` client
registers is an ordinary mlcore model version, and the other way round.

A version's source is kept as mlcore keeps it: ``runs:/<run>/<path>``, another model's
``models:/name/version``, or a location under the server's artifact root (what the client
sends as ``mlflow-artifacts:/...``, or a logged model's ``models:/<model_id>``, which is kept
as that model's artifact location). Any other source is refused, so a registry entry never
points the server at files outside its root.
"""

from __future__ import annotations

from typing import Any

from mlcore.errors import NotFoundError
from mlcore.server.mlflow_api import filters
from mlcore.server.mlflow_api.errors import DOES_NOT_EXIST, MlflowApiError
from mlcore.server.mlflow_api.messages import SCHEME, key_values, tag_list
from mlcore.server.mlflow_api.routes import Context, Endpoint, int_arg
from mlcore.stores import require_registry
from mlcore.stores.registry_api import RegistryStore
from mlcore.types import ModelVersion, RegisteredModel
from mlcore.uris import validate_artifact_path

__all__ = ["MODEL_ID_TAG", "endpoints", "model_version_json", "registered_model_json"]

#: the version tag that keeps the MLflow logged model a version was registered from
MODEL_ID_TAG = "mlcore.mlflow.model_id"
_HIDDEN = (MODEL_ID_TAG,)


def _registry(context: Context) -> RegistryStore:
    return require_registry(context.store)


def _text(arguments: dict[str, Any], name: str, *, required: bool = True) -> str:
    value = arguments.get(name)
    if value is None or value == "":
        if required:
            raise MlflowApiError(f"Missing value for required parameter '{name}'.")
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise MlflowApiError(f"{name} must be a string, got {type(value).__name__}")
    return value


def _description(arguments: dict[str, Any]) -> str | None:
    value = arguments.get("description")
    if value is not None and not isinstance(value, str):
        raise MlflowApiError("description must be a string")
    return value


# -- messages -------------------------------------------------------------------------------------
def model_version_json(version: ModelVersion, context: Context) -> dict[str, Any]:
    """A version as MLflow's ``ModelVersion`` message."""
    body: dict[str, Any] = {
        "name": version.name,
        "version": str(version.version),
        "current_stage": version.stage.value,
        "source": context.root.show(version.source),
        "status": version.status.value,
        "tags": tag_list({k: v for k, v in version.tags.items() if k not in _HIDDEN}),
        "aliases": list(version.aliases),
    }
    optional = {
        "creation_timestamp": version.creation_time,
        "last_updated_timestamp": version.last_update_time,
        "user_id": version.user,
        "description": version.description,
        "run_id": version.run_id,
        "model_id": version.tags.get(MODEL_ID_TAG),
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    return body


def registered_model_json(model: RegisteredModel, context: Context) -> dict[str, Any]:
    """A registered model as MLflow's ``RegisteredModel`` message."""
    body: dict[str, Any] = {
        "name": model.name,
        "tags": tag_list(model.tags),
        "aliases": [{"alias": a, "version": str(v)} for a, v in model.aliases.items()],
        "latest_versions": [model_version_json(v, context) for v in model.latest_versions],
    }
    optional = {
        "creation_timestamp": model.creation_time,
        "last_updated_timestamp": model.last_update_time,
        "description": model.description,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    return body


def _max_results(arguments: dict[str, Any], default: int, limit: int) -> int:
    value = int_arg(arguments, "max_results", default) or default
    if not 0 < value <= limit:
        raise MlflowApiError(f"max_results must be in 1..{limit}, got {value}")
    return value


def _strings(arguments: dict[str, Any], name: str) -> list[str]:
    value = arguments.get(name)
    if value is None:
        return []
    values = value if isinstance(value, list) else [value]
    if not all(isinstance(v, str) for v in values):
        raise MlflowApiError(f"{name} must be a list of strings")
    return values


# -- registered models ----------------------------------------------------------------------------
def create_registered_model(context: Context, arguments: dict[str, Any]) -> Any:
    created = _registry(context).create_registered_model(
        _text(arguments, "name"),
        description=_description(arguments),
        tags=key_values(arguments.get("tags"), "tags"),
    )
    return {"registered_model": registered_model_json(created, context)}


def get_registered_model(context: Context, arguments: dict[str, Any]) -> Any:
    found = _registry(context).get_registered_model(_text(arguments, "name"))
    return {"registered_model": registered_model_json(found, context)}


def rename_registered_model(context: Context, arguments: dict[str, Any]) -> Any:
    renamed = _registry(context).rename_registered_model(
        _text(arguments, "name"), _text(arguments, "new_name")
    )
    return {"registered_model": registered_model_json(renamed, context)}


def update_registered_model(context: Context, arguments: dict[str, Any]) -> Any:
    updated = _registry(context).update_registered_model(
        _text(arguments, "name"), description=_description(arguments)
    )
    return {"registered_model": registered_model_json(updated, context)}


def delete_registered_model(context: Context, arguments: dict[str, Any]) -> Any:
    _registry(context).delete_registered_model(_text(arguments, "name"))
    return {}


def search_registered_models(context: Context, arguments: dict[str, Any]) -> Any:
    page = _registry(context).search_registered_models(
        filters.model_filter(_text(arguments, "filter", required=False) or None, versions=False),
        filters.model_order_by(_strings(arguments, "order_by"), versions=False) or None,
        max_results=_max_results(arguments, 100, 1000),
        page_token=_text(arguments, "page_token", required=False) or None,
    )
    body: dict[str, Any] = {"registered_models": [registered_model_json(m, context) for m in page]}
    if page.next_page_token:
        body["next_page_token"] = page.next_page_token
    return body


def get_latest_versions(context: Context, arguments: dict[str, Any]) -> Any:
    found = _registry(context).get_latest_versions(
        _text(arguments, "name"), _strings(arguments, "stages") or None
    )
    return {"model_versions": [model_version_json(v, context) for v in found]}


def set_registered_model_tag(context: Context, arguments: dict[str, Any]) -> Any:
    value = arguments.get("value")
    _registry(context).set_registered_model_tag(
        _text(arguments, "name"), _text(arguments, "key"), "" if value is None else value
    )
    return {}


def delete_registered_model_tag(context: Context, arguments: dict[str, Any]) -> Any:
    _registry(context).delete_registered_model_tag(
        _text(arguments, "name"), _text(arguments, "key")
    )
    return {}


def set_alias(context: Context, arguments: dict[str, Any]) -> Any:
    _registry(context).set_model_alias(
        _text(arguments, "name"), _text(arguments, "alias"), _text(arguments, "version")
    )
    return {}


def delete_alias(context: Context, arguments: dict[str, Any]) -> Any:
    _registry(context).delete_model_alias(_text(arguments, "name"), _text(arguments, "alias"))
    return {}


def get_by_alias(context: Context, arguments: dict[str, Any]) -> Any:
    name, alias = _text(arguments, "name"), _text(arguments, "alias")
    try:
        found = _registry(context).get_model_version_by_alias(name, alias)
    except NotFoundError:
        raise MlflowApiError(
            f"Registered model alias {alias} not found for model {name}", DOES_NOT_EXIST
        ) from None
    return {"model_version": model_version_json(found, context)}


# -- versions -------------------------------------------------------------------------------------
def _stored_source(context: Context, source: str) -> tuple[str, str | None, str | None]:
    """(the source to keep, the logged model id, its source run) for a source the client
    sent."""
    if source.startswith("models:/") and "/" not in source[len("models:/") :].strip("/"):
        model_id = source[len("models:/") :].strip("/")
        if "@" not in model_id:
            from mlcore.server.mlflow_api.logged_models import find_logged_model

            model = find_logged_model(context, model_id)
            return model.location, model_id, model.source_run_id or None
    if source.startswith(("runs:/", "models:/")):
        return source, None, None
    if source.startswith(SCHEME):
        relative = validate_artifact_path(source[len(SCHEME) :].lstrip("/"), allow_root=False)
        return f"{context.root.root}/{relative}", None, None
    if source.startswith(context.root.root + "/"):
        relative = validate_artifact_path(source[len(context.root.root) + 1 :], allow_root=False)
        return f"{context.root.root}/{relative}", None, None
    raise MlflowApiError(
        f"model source {source!r:.200} must be runs:/..., models:/... or lie under this "
        f"server's artifact root ({SCHEME}/...)"
    )


def _run_of_location(context: Context, location: str) -> str | None:
    """The run whose artifact directory holds ``location``, if any."""
    relative = context.root.relative(location)
    if relative is None:
        return None
    for part in relative.split("/"):
        if len(part) == 32 and part.isalnum():
            try:
                run = context.store.get_run(part)
            except Exception:  # not a run id after all
                continue
            base = run.info.artifact_uri.rstrip("/")
            if location == base or location.startswith(base + "/"):
                return run.info.run_id
    return None


def create_model_version(context: Context, arguments: dict[str, Any]) -> Any:
    name = _text(arguments, "name")
    source, model_id, model_run = _stored_source(context, _text(arguments, "source"))
    model_id = _text(arguments, "model_id", required=False) or model_id
    run_id = _text(arguments, "run_id", required=False) or model_run
    if run_id is None and model_id is None and not source.startswith(("runs:/", "models:/")):
        run_id = _run_of_location(context, source)
    if run_id is None and source.startswith("runs:/"):
        run_id = source[len("runs:/") :].split("/", 1)[0] or None
    if run_id is not None:
        context.store.get_run(run_id)  # RESOURCE_DOES_NOT_EXIST for an unknown run
    tags = key_values(arguments.get("tags"), "tags")
    if model_id:
        tags[MODEL_ID_TAG] = model_id
    created = _registry(context).create_model_version(
        name,
        source,
        run_id=run_id,
        tags=tags,
        description=_description(arguments),
        user=context.store.get_run(run_id).info.user if run_id else None,
    )
    return {"model_version": model_version_json(created, context)}


def get_model_version(context: Context, arguments: dict[str, Any]) -> Any:
    found = _registry(context).get_model_version(
        _text(arguments, "name"), _text(arguments, "version")
    )
    return {"model_version": model_version_json(found, context)}


def update_model_version(context: Context, arguments: dict[str, Any]) -> Any:
    updated = _registry(context).update_model_version(
        _text(arguments, "name"), _text(arguments, "version"), description=_description(arguments)
    )
    return {"model_version": model_version_json(updated, context)}


def delete_model_version(context: Context, arguments: dict[str, Any]) -> Any:
    _registry(context).delete_model_version(_text(arguments, "name"), _text(arguments, "version"))
    return {}


def transition_stage(context: Context, arguments: dict[str, Any]) -> Any:
    archive = arguments.get("archive_existing_versions", False)
    if isinstance(archive, str):
        archive = archive.lower() == "true"
    if not isinstance(archive, bool):
        raise MlflowApiError("archive_existing_versions must be true or false")
    moved = _registry(context).transition_model_version_stage(
        _text(arguments, "name"),
        _text(arguments, "version"),
        _text(arguments, "stage"),
        archive_existing=archive,
    )
    return {"model_version": model_version_json(moved, context)}


def set_model_version_tag(context: Context, arguments: dict[str, Any]) -> Any:
    key = _text(arguments, "key")
    if key in _HIDDEN:
        raise MlflowApiError(f"tag {key!r} is kept by the server")
    value = arguments.get("value")
    _registry(context).set_model_version_tag(
        _text(arguments, "name"), _text(arguments, "version"), key, "" if value is None else value
    )
    return {}


def delete_model_version_tag(context: Context, arguments: dict[str, Any]) -> Any:
    _registry(context).delete_model_version_tag(
        _text(arguments, "name"), _text(arguments, "version"), _text(arguments, "key")
    )
    return {}


def search_model_versions(context: Context, arguments: dict[str, Any]) -> Any:
    page = _registry(context).search_model_versions(
        filters.model_filter(_text(arguments, "filter", required=False) or None, versions=True),
        filters.model_order_by(_strings(arguments, "order_by"), versions=True) or None,
        max_results=_max_results(arguments, 10_000, 50_000),
        page_token=_text(arguments, "page_token", required=False) or None,
    )
    body: dict[str, Any] = {"model_versions": [model_version_json(v, context) for v in page]}
    if page.next_page_token:
        body["next_page_token"] = page.next_page_token
    return body


def download_uri(context: Context, version: ModelVersion) -> str:
    """Where the client downloads a version's files from."""
    source = version.source
    if source.startswith("runs:/"):
        run_id, _, path = source[len("runs:/") :].partition("/")
        base = context.store.get_run(run_id).info.artifact_uri.rstrip("/")
        source = f"{base}/{path.strip('/')}" if path.strip("/") else base
    elif source.startswith("models:/"):
        from mlcore.stores.model_refs import resolve_model_version

        return download_uri(context, resolve_model_version(_registry(context), source))
    return context.root.show(source)


def get_download_uri(context: Context, arguments: dict[str, Any]) -> Any:
    found = _registry(context).get_model_version(
        _text(arguments, "name"), _text(arguments, "version")
    )
    return {"artifact_uri": download_uri(context, found)}


def endpoints() -> list[Endpoint]:
    m = "/mlflow/registered-models/"
    v = "/mlflow/model-versions/"
    return [
        Endpoint("POST", m + "create", create_registered_model),
        Endpoint("GET", m + "get", get_registered_model),
        Endpoint("POST", m + "rename", rename_registered_model),
        Endpoint("PATCH", m + "update", update_registered_model),
        Endpoint("DELETE", m + "delete", delete_registered_model),
        Endpoint("GET", m + "search", search_registered_models),
        Endpoint("POST", m + "get-latest-versions", get_latest_versions, reads=True),
        Endpoint("GET", m + "get-latest-versions", get_latest_versions),
        Endpoint("POST", m + "set-tag", set_registered_model_tag),
        Endpoint("DELETE", m + "delete-tag", delete_registered_model_tag),
        Endpoint("POST", m + "alias", set_alias),
        Endpoint("DELETE", m + "alias", delete_alias),
        Endpoint("GET", m + "alias", get_by_alias),
        Endpoint("POST", v + "create", create_model_version),
        Endpoint("GET", v + "get", get_model_version),
        Endpoint("PATCH", v + "update", update_model_version),
        Endpoint("DELETE", v + "delete", delete_model_version),
        Endpoint("POST", v + "transition-stage", transition_stage),
        Endpoint("POST", v + "set-tag", set_model_version_tag),
        Endpoint("DELETE", v + "delete-tag", delete_model_version_tag),
        Endpoint("GET", v + "search", search_model_versions),
        Endpoint("GET", v + "get-download-uri", get_download_uri),
    ]
