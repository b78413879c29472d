"""Artifact proxy routes: streamed upload and download under the server's artifact root.

``PUT /api/v1/artifact-files/<path>`` receives the body asynchronously into a private staged
file (no worker thread waits for a slow client), checks ``X-Content-Sha256`` when sent, then
stores it in one worker-thread call (the store writes atomically: a client that disconnects,
stalls past the idle timeout (408) or sends too much (413) leaves nothing under the name);
``GET`` streams a file back, or lists (``?list=1``) or describes (``?info=1``) a path;
``DELETE`` removes one. Resumable uploads for large files: ``POST /api/v1/artifact-uploads``
(JSON only: 415 otherwise) opens one, ``PUT .../{id}?offset=N`` appends a part, ``GET .../{id}``
says how much arrived, ``POST .../{id}/complete`` checks the sha256 and publishes it. An upload
belongs to the server and credential that opened it (:mod:`mlcore.server.staging`); each client
address has at most ``uploads_per_client`` bodies arriving at once (429 beyond).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import anyio
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from mlcore.artifacts import ArtifactStore
from mlcore.artifacts.base import sha256_file
from mlcore.errors import IntegrityError, InvalidInputError
from mlcore.server.staging import ChunkFile, ClientSlots, Staging, TooManyUploads, Upload
from mlcore.uris import validate_artifact_path
from mlcore.web.bodies import BodyIdle, BodyTooLarge, media_type, read_body, stream_body
from mlcore.web.errors import error_response
from mlcore.web.guard import principal_of

__all__ = [
    "FILES",
    "FILE_HEADERS",
    "PREFIX_KEY",
    "UPLOADS",
    "ArtifactProxy",
    "TooManyUploads",
    "request_path",
]

FILES = "/api/v1/artifact-files"
#: the scope key naming the route prefix files are served under when it is not :data:`FILES`
#: (MLflow's ``/api/2.0/mlflow-artifacts/artifacts``)
PREFIX_KEY = "mlcore.artifact_prefix"
UPLOADS = "/api/v1/artifact-uploads"
_CHUNK = 1 << 20
#: the largest body of the JSON calls that start and complete uploads
_JSON_LIMIT = 64 * 1024
#: on every file a GET answers: never sniffed, and, opened directly (an HTML or SVG artifact),
#: a sandboxed document with no script, no plugins and no fetches, on an origin of its own
FILE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
        "frame-ancestors 'none'"
    ),
    "Cross-Origin-Resource-Policy": "same-origin",
}


def request_path(request: Request) -> str:
    """The artifact path of a request, validated in its raw and decoded forms."""
    raw = request.scope.get("raw_path", b"").decode("latin-1")
    files = request.scope.get(PREFIX_KEY, FILES)
    prefix = raw.find(files)
    raw_rel = raw[prefix + len(files) :].lstrip("/") if prefix >= 0 else ""
    raw_rel = raw_rel.split("?", 1)[0]
    if ";" in raw_rel:
        raise InvalidInputError("artifact path must not carry ';' parameters", field="path")
    validate_artifact_path(raw_rel, encoded=True)
    return validate_artifact_path(request.path_params.get("path", ""))


class ArtifactProxy:
    """The artifact routes over ``store``, staging under the server's private directory."""

    def __init__(
        self,
        store: ArtifactStore,
        staging_dir: str | None = None,
        *,
        upload_ttl: float = 24 * 3600,
        uploads_per_client: int = 64,
        idle_timeout: float = 60.0,
    ) -> None:
        self.store = store
        self.staging = Staging(staging_dir, ttl=upload_ttl)
        self.slots = ClientSlots(uploads_per_client)
        self.idle_timeout = idle_timeout
        self._busy: set[str] = set()  # resumable uploads receiving a part now

    # -- files -----------------------------------------------------------------------------------
    async def put(self, request: Request) -> Response:
        path = request_path(request)
        validate_artifact_path(path, allow_root=False)
        expected = request.headers.get("x-content-sha256")
        with self._slot(request):
            staged = ChunkFile(self.staging, self.staging.new_file())
            try:
                await self._receive(request, staged)
                await staged.finish()
                if expected is not None and staged.digest.hexdigest() != expected:
                    raise IntegrityError(
                        f"the body's sha256 is {staged.digest.hexdigest()}, not {expected}; "
                        "nothing stored"
                    )
                info = await anyio.to_thread.run_sync(self.store.put_file, staged.path, path)
            except ClientDisconnect:
                raise InvalidInputError("the upload was interrupted; nothing was stored") from None
            except BodyIdle as exc:
                return _idle(exc)
            finally:
                staged.discard()
        return JSONResponse(_info_json(info))

    async def _receive(self, request: Request, target: ChunkFile) -> None:
        async for chunk in stream_body(request, self.idle_timeout):
            await target.write(chunk)

    def _slot(self, request: Request) -> Any:
        client = request.scope.get("client")
        return self.slots.hold(client[0] if client else "")

    async def get(self, request: Request) -> Response:
        path = request_path(request)
        if request.query_params.get("list"):
            files = await anyio.to_thread.run_sync(self.store.list, path)
            return JSONResponse([_info_json(f) for f in files], headers=FILE_HEADERS)
        if request.query_params.get("info"):
            info = await anyio.to_thread.run_sync(self.store.info, path)
            return JSONResponse(_info_json(info), headers=FILE_HEADERS)
        handle = await anyio.to_thread.run_sync(self.store.open, path)
        return StreamingResponse(
            _iterate(handle), media_type="application/octet-stream", headers=FILE_HEADERS
        )

    async def delete(self, request: Request) -> Response:
        path = request_path(request)
        await anyio.to_thread.run_sync(
            self.store.delete, validate_artifact_path(path, allow_root=False)
        )
        return JSONResponse({})

    # -- resumable uploads -----------------------------------------------------------------------
    def _upload(self, request: Request) -> Upload:
        return self.staging.find(request.path_params["upload_id"], principal_of(request.scope))

    async def start_upload(self, request: Request) -> Response:
        body = await _json_object(request, "path")
        path = validate_artifact_path(str(body.get("path", "")), allow_root=False)
        await anyio.to_thread.run_sync(self.staging.sweep)
        upload_id = self.staging.create(path, principal_of(request.scope))
        return JSONResponse({"upload_id": upload_id, "received": 0})

    async def upload_status(self, request: Request) -> Response:
        upload = self._upload(request)
        return JSONResponse({"received": os.path.getsize(upload.part)})

    async def upload_part(self, request: Request) -> Response:
        upload = self._upload(request)
        offset = request.query_params.get("offset", "")
        if not offset.isdigit():
            raise InvalidInputError("offset must be a non-negative integer", field="offset")
        have = os.path.getsize(upload.part)
        if int(offset) != have or upload.upload_id in self._busy:
            # a retried part that had arrived, a gap, or a part still arriving on another
            # connection: the client resumes from `received`
            return JSONResponse({"received": have})
        idle: BodyIdle | None = None
        with self._slot(request):
            self._busy.add(upload.upload_id)
            part = ChunkFile(self.staging, upload.part, append=True)
            try:
                await self._receive(request, part)
            except ClientDisconnect:
                pass  # keep what arrived; the client asks how much and resumes
            except BodyIdle as exc:
                idle = exc  # keep what arrived, and drop the connection
            finally:
                try:
                    await part.finish()
                finally:
                    self._busy.discard(upload.upload_id)
        if idle is not None:
            return _idle(idle)
        return JSONResponse({"received": os.path.getsize(upload.part)})

    async def complete_upload(self, request: Request) -> Response:
        upload = self._upload(request)
        expected = (await _json_object(request, "sha256")).get("sha256")
        if upload.upload_id in self._busy:
            raise InvalidInputError("a part of this upload is still arriving", field="upload_id")

        def publish() -> Any:
            digest = sha256_file(upload.part)
            if digest != expected:
                raise IntegrityError(
                    f"the uploaded parts have sha256 {digest}, not {expected}; "
                    "nothing was published (start the upload again)"
                )
            return self.store.put_file(upload.part, upload.path)

        try:
            info = await anyio.to_thread.run_sync(publish)
        except IntegrityError:
            self.staging.remove(upload)  # the parts are wrong: the client starts again
            raise
        self.staging.remove(upload)  # (on another failure they stay, for a retried complete)
        return JSONResponse(_info_json(info))

    def close(self) -> None:
        self.staging.close()


async def _json_object(request: Request, field: str) -> dict[str, Any]:
    """The JSON object body of an upload call. Only ``application/json`` is accepted: a web
    page cannot send it to another site without the browser asking that site first."""
    if media_type(request) != "application/json":
        raise HTTPException(415, "upload calls take a JSON body (Content-Type: application/json)")
    try:
        body = json.loads(await read_body(request, _JSON_LIMIT))
    except BodyTooLarge:
        raise InvalidInputError(f"expected a small JSON object with {field!r}") from None
    except ValueError:
        raise InvalidInputError("the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise InvalidInputError(f"expected a JSON object with {field!r}", field=field)
    return body


def _idle(exc: BodyIdle) -> Response:
    """408, and the connection is closed (the rest of the body never came)."""
    return error_response(408, "TIMEOUT", str(exc), Connection="close")


def too_many_uploads(_: Request, exc: Exception) -> Response:
    """The 429 of a client over its limit of uploads in progress (it retries later)."""
    return error_response(429, "TOO_MANY_REQUESTS", str(exc), **{"Retry-After": "1"})


def _iterate(handle: Any) -> Iterator[bytes]:
    try:
        while chunk := handle.read(_CHUNK):
            yield chunk
    finally:
        handle.close()


def _info_json(info: Any) -> dict[str, Any]:
    return {"path": info.path, "is_dir": info.is_dir, "size": info.size, "sha256": info.sha256}
