"""MLflow's artifact proxy (``/mlflow-artifacts/artifacts/<path>``: PUT, GET, DELETE; GET
without a path lists ``?path=``), its multipart uploads (``/mlflow-artifacts/mpu/create``,
``complete``, ``abort``) and ``/mlflow/artifacts/list`` of a run.

A multipart upload is one of the proxy's resumable uploads (:mod:`mlcore.server.staging`: it
belongs to the credential that opened it and is swept when left): each part, which the client
sends in parallel to the URL ``create`` answered (with the caller's own ``Authorization``
header), is staged on its own; ``complete`` joins them in order and publishes the file as one
PUT does; ``abort`` drops them.

Files go through mlcore's own :class:`~mlcore.server.artifact_proxy.ArtifactProxy`: the same
path checks (raw and decoded forms, no traversal), staging, upload limits and atomic writes. A
file put under a run's artifact directory is recorded on the run with the size and sha256 of
the stored bytes, as mlcore's own uploads are.
"""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import shutil
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import Response

from mlcore.errors import MlcoreError, NotFoundError
from mlcore.server.artifact_proxy import PREFIX_KEY, ArtifactProxy, request_path
from mlcore.server.mlflow_api.errors import DOES_NOT_EXIST, MlflowApiError
from mlcore.server.mlflow_api.routes import PREFIXES, Context, Endpoint, error_response
from mlcore.server.staging import ChunkFile, Upload
from mlcore.types import FileInfo
from mlcore.uris import validate_artifact_path
from mlcore.web.bodies import read_body, stream_body
from mlcore.web.guard import principal_of

__all__ = ["FILES", "add_file_routes", "endpoints"]

#: MLflow's artifact proxy, after the API prefix
FILES = "/mlflow-artifacts/artifacts"
#: multipart uploads: create/complete/abort (MLflow's), and where parts are sent (mlcore's)
MPU = "/mlflow-artifacts/mpu"
PARTS = "/mlflow-artifacts/mpu-parts"
#: the most parts of one upload
_MAX_PARTS = 10_000


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
        await _record_info(json.loads(bytes(response.body)))

    async def _record_info(info: dict[str, Any]) -> None:
        found = await anyio.to_thread.run_sync(_run_artifact_path, context, info["path"])
        if found is not None:
            record = FileInfo(path=found[1], size=info["size"], sha256=info["sha256"])
            await anyio.to_thread.run_sync(context.store.record_artifacts, found[0], [record])

    # -- multipart uploads ---------------------------------------------------------------------
    async def _body(request: Request) -> dict[str, Any]:
        try:
            body = json.loads(await read_body(request, 1 << 20))
        except ValueError:
            raise MlflowApiError("the request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise MlflowApiError("expected a JSON object")
        return body

    def _target(request: Request, body: dict[str, Any], action: str) -> str:
        """The file an upload writes: the route's folder and the client file's name."""
        request.scope[PREFIX_KEY] = f"{request.scope['mlcore.api_prefix']}{MPU}/{action}"
        folder = request_path(request)
        name = posixpath.basename(str(body.get("path") or "").replace(os.sep, "/"))
        if not name:
            raise MlflowApiError("Missing value for required parameter 'path'.")
        return validate_artifact_path(posixpath.join(folder, name), allow_root=False)

    def _upload(request: Request, body: dict[str, Any], path: str) -> Upload:
        upload_id = body.get("upload_id")
        if not isinstance(upload_id, str):
            raise MlflowApiError("Missing value for required parameter 'upload_id'.")
        upload = proxy.staging.find(upload_id, principal_of(request.scope))
        if upload.path != path:
            raise NotFoundError(f"upload {upload_id!r} is not an upload of {path!r}")
        return upload

    def _listed(base: str) -> list[str]:
        prefix = os.path.basename(base) + ".p"
        return [
            os.path.join(proxy.staging.path, n)
            for n in os.listdir(proxy.staging.path)
            if n.startswith(prefix)
        ]

    def _drop(upload: Upload) -> None:
        for leftover in _listed(upload.part.removesuffix(".part")):
            with contextlib.suppress(FileNotFoundError):
                os.remove(leftover)
        proxy.staging.remove(upload)

    async def mpu_create(request: Request) -> Response:
        body = await _body(request)
        path = _target(request, body, "create")
        parts = body.get("num_parts", 1)
        if not isinstance(parts, int) or isinstance(parts, bool) or not 0 < parts <= _MAX_PARTS:
            raise MlflowApiError(f"num_parts must be in 1..{_MAX_PARTS}")
        await anyio.to_thread.run_sync(proxy.staging.sweep)
        upload_id = proxy.staging.create(path, principal_of(request.scope))
        base = f"{request.url.scheme}://{request.url.netloc}{request.scope['mlcore.api_prefix']}"
        headers = {}
        if "authorization" in request.headers:  # parts are sent with the caller's credential
            headers["Authorization"] = request.headers["authorization"]
        credentials = [
            {"url": f"{base}{PARTS}/{upload_id}/{n}", "part_number": n, "headers": headers}
            for n in range(1, parts + 1)
        ]
        return _json({"upload_id": upload_id, "credentials": credentials})

    async def mpu_part(request: Request) -> Response:
        upload = proxy.staging.find(request.path_params["upload_id"], principal_of(request.scope))
        number = int(request.path_params["part"])
        if not 0 < number <= _MAX_PARTS:
            raise MlflowApiError(f"part numbers are 1..{_MAX_PARTS}")
        target = f"{upload.part.removesuffix('.part')}.p{number:05d}"
        staged = ChunkFile(proxy.staging, target + ".tmp")
        try:
            async for chunk in stream_body(request, proxy.idle_timeout):
                await staged.write(chunk)
            await staged.finish()
            os.replace(staged.path, target)  # a retried part replaces the first one whole
        finally:
            staged.discard()
        return Response(b"", headers={"ETag": staged.digest.hexdigest()})

    async def mpu_complete(request: Request) -> Response:
        body = await _body(request)
        upload = _upload(request, body, _target(request, body, "complete"))
        numbers = [p.get("part_number") for p in body.get("parts") or [] if isinstance(p, dict)]
        if not numbers or numbers != list(range(1, len(numbers) + 1)):
            raise MlflowApiError("parts must list part_number 1, 2, ... in order")
        base = upload.part.removesuffix(".part")
        files = [f"{base}.p{n:05d}" for n in numbers]
        missing = [n for n, f in zip(numbers, files, strict=True) if not os.path.exists(f)]
        if missing:
            raise MlflowApiError(f"parts {missing[:10]} of this upload never arrived")

        def publish() -> Any:
            with open(upload.part, "wb") as joined:
                for part in files:
                    with open(part, "rb") as handle:
                        shutil.copyfileobj(handle, joined, 1 << 20)
            return proxy.store.put_file(upload.part, upload.path)

        info = await anyio.to_thread.run_sync(publish)
        await anyio.to_thread.run_sync(_drop, upload)
        await _record_info({"path": info.path, "size": info.size, "sha256": info.sha256})
        return _json({})

    async def mpu_abort(request: Request) -> Response:
        body = await _body(request)
        upload = _upload(request, body, _target(request, body, "abort"))
        await anyio.to_thread.run_sync(_drop, upload)
        return _json({})

    def answering(handler: Any, prefix: str) -> Any:
        async def serve(request: Request) -> Response:
            request.scope["mlcore.api_prefix"] = prefix
            try:
                response: Response = await handler(request)
            except (MlcoreError, MlflowApiError) as exc:
                return error_response(exc, request.method, request.url.path)
            return response

        return serve

    for prefix in PREFIXES:
        for action, handler in (
            ("create", mpu_create),
            ("complete", mpu_complete),
            ("abort", mpu_abort),
        ):
            app.add_route(
                f"{prefix}{MPU}/{action}/{{path:path}}",
                answering(handler, prefix),
                methods=["POST"],
                include_in_schema=False,
            )
        app.add_route(
            f"{prefix}{PARTS}/{{upload_id}}/{{part:int}}",
            answering(mpu_part, prefix),
            methods=["PUT"],
            include_in_schema=False,
        )

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
    return prefixes + tuple(prefix + PARTS for prefix in PREFIXES)


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


def _json(body: dict[str, Any]) -> Response:
    return Response(json.dumps(body), media_type="application/json")


def endpoints() -> list[Endpoint]:
    return [
        Endpoint("GET", "/mlflow/artifacts/list", list_run_artifacts),
    ]
