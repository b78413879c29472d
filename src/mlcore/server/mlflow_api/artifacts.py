"""MLflow's artifact proxy (``/mlflow-artifacts/artifacts/<path>``: PUT, GET, DELETE; GET
without a path lists ``?path=``) and ``/mlflow/artifacts/list`` of a run.

Files go through mlcore's own :class:`~mlcore.server.artifact_proxy.ArtifactProxy`: the same
path checks (raw and decoded forms, no traversal), staging, upload limits and atomic writes. A
file put under a run's artifact directory is recorded on the run with the size and sha256 of
the stored bytes, as mlcore's own uploads are.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import Response

from mlcore.errors import MlcoreError, NotFoundError
from mlcore.server.artifact_proxy import PREFIX_KEY, ArtifactProxy
from mlcore.server.mlflow_api.errors import DOES_NOT_EXIST, MlflowApiError
from mlcore.server.mlflow_api.routes import PREFIXES, Context, Endpoint, error_response
from mlcore.types import FileInfo
from mlcore.uris import validate_artifact_path

__all__ = ["FILES", "add_file_routes", "endpoints"]

#: MLflow's artifact proxy, after the API prefix
FILES = "/mlflow-artifacts/artifacts"


def _listing(entries: list[FileInfo], base: str) -> list[dict[str, Any]]:
    """Entries with paths relative to ``base``, as MLflow's ``FileInfo``."""
    files = []
    for entry in entries:
        path = (
            entry.path[len(base) + 1 :]
            if base and entry.path.startswith(base + "/")
            else entry.path
        )
        item: dict[str, Any] = {"path": path, "is_dir": entry.is_dir}
        if not entry.is_dir and entry.size is not None:
            item["file_size"] = entry.size
        files.append(item)
    return files


def _list(proxy: ArtifactProxy, path: str) -> list[FileInfo]:
    try:
        return proxy.store.list(path)
    except NotFoundError:
        return []


def _run_artifact_path(context: Context, path: str) -> tuple[str, str] | None:
    """(run id, path inside the run's artifacts) of a file under a run's artifact directory."""
    parts = path.split("/")
    if len(parts) < 3 or len(parts[1]) != 32 or not parts[1].isalnum():
        return None
    try:
        run = context.store.get_run(parts[1])
    except MlcoreError:
        return None
    base = context.root.relative(run.info.artifact_uri)
    if base is None or not path.startswith(base + "/"):
        return None
    return run.info.run_id, path[len(base) + 1 :]


def add_file_routes(app: Any, context: Context, proxy: ArtifactProxy) -> tuple[str, ...]:
    """Mount the file routes under both API prefixes; returns their path prefixes."""
    prefixes = tuple(prefix + FILES for prefix in PREFIXES)

    def serving(method: Any, files: str) -> Any:
        async def serve(request: Request) -> Response:
            request.scope[PREFIX_KEY] = files
            try:
                response: Response = await method(request)
                if request.method == "PUT" and response.status_code == 200:
                    await _record(request, response)
            except (MlcoreError, MlflowApiError) as exc:
                return error_response(exc, request.method, request.url.path)
            return response

        return serve

    async def _record(request: Request, response: Response) -> None:
        info = json.loads(bytes(response.body))
        found = await anyio.to_thread.run_sync(_run_artifact_path, context, info["path"])
        if found is not None:
            record = FileInfo(path=found[1], size=info["size"], sha256=info["sha256"])
            await anyio.to_thread.run_sync(context.store.record_artifacts, found[0], [record])

    async def list_files(request: Request) -> Response:
        try:
            path = validate_artifact_path(request.query_params.get("path", ""))
            entries = await anyio.to_thread.run_sync(_list, proxy, path)
        except (MlcoreError, MlflowApiError) as exc:
            return error_response(exc, request.method, request.url.path)
        return Response(
            json.dumps({"files": _listing(entries, path)}), media_type="application/json"
        )

    for files in prefixes:
        for method, handler in (("PUT", proxy.put), ("GET", proxy.get), ("DELETE", proxy.delete)):
            app.add_route(
                f"{files}/{{path:path}}",
                serving(handler, files),
                methods=[method],
                include_in_schema=False,
            )
        app.add_route(files, list_files, methods=["GET"], include_in_schema=False)
    return prefixes


def list_run_artifacts(context: Context, arguments: dict[str, Any]) -> Any:
    run_id = arguments.get("run_id") or arguments.get("run_uuid")
    if not isinstance(run_id, str) or not run_id:
        raise MlflowApiError("Missing value for required parameter 'run_id'.")
    try:
        run = context.store.get_run(run_id)
    except NotFoundError:
        raise MlflowApiError(f"Run with id={run_id} not found", DOES_NOT_EXIST) from None
    relative = context.root.relative(run.info.artifact_uri)
    if relative is None:
        raise MlflowApiError("this run's artifacts lie outside the server's artifact root")
    path = validate_artifact_path(str(arguments.get("path") or ""))
    base = f"{relative}/{path}" if path else relative
    try:
        entries = context.files.list(base)
    except NotFoundError:
        entries = []
    return {
        "root_uri": context.root.show(run.info.artifact_uri),
        "files": _listing(entries, relative),
    }


def _no_multipart(context: Context, arguments: dict[str, Any]) -> Any:
    raise MlflowApiError(
        "multipart uploads are not supported by this server; the client uploads in one PUT",
        "NOT_IMPLEMENTED",
    )


def endpoints() -> list[Endpoint]:
    return [
        Endpoint("GET", "/mlflow/artifacts/list", list_run_artifacts),
        Endpoint("POST", "/mlflow-artifacts/mpu/create/{path:path}", _no_multipart),
    ]
