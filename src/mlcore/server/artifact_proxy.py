"""Artifact proxy routes: streamed upload and download under the server's artifact root.

``PUT /api/v1/artifact-files/<path>`` streams the body into the root's store as it arrives (the
store writes atomically: a client that disconnects mid-upload leaves nothing under the name);
``GET`` streams a file back, or lists (``?list=1``) or describes (``?info=1``) a path;
``DELETE`` removes one. Resumable uploads for large files: ``POST /api/v1/artifact-uploads``
opens one, ``PUT .../{id}?offset=N`` appends a part, ``GET .../{id}`` says how much arrived,
``POST .../{id}/complete`` checks the sha256 and publishes it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import queue
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from typing import Any

import anyio
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from mlcore.artifacts import ArtifactStore
from mlcore.artifacts.base import sha256_file
from mlcore.errors import IntegrityError, InvalidInputError, NotFoundError
from mlcore.uris import validate_artifact_path

FILES = "/api/v1/artifact-files"
UPLOADS = "/api/v1/artifact-uploads"
_CHUNK = 1 << 20
_UPLOAD_ID = frozenset("0123456789abcdef")


class _Aborted(Exception):
    """The client went away before the body was complete."""


class _QueueReader:
    """A blocking file-like reader fed, chunk by chunk, by the event loop."""

    def __init__(self, chunks: queue.Queue[bytes | BaseException | None]) -> None:
        self._chunks = chunks
        self._buffer = b""
        self._done = False

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        want = size if size is not None and size >= 0 else None
        while not self._done and (want is None or len(self._buffer) < want):
            item = self._chunks.get()
            if item is None:
                self._done = True
            elif isinstance(item, BaseException):
                raise item
            else:
                self._buffer += item
        if want is None:
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:want], self._buffer[want:]
        return data


def request_path(request: Request) -> str:
    """The artifact path of a request, validated in its raw and decoded forms."""
    raw = request.scope.get("raw_path", b"").decode("latin-1")
    prefix = raw.find(FILES)
    raw_rel = raw[prefix + len(FILES) :].lstrip("/") if prefix >= 0 else ""
    raw_rel = raw_rel.split("?", 1)[0]
    if ";" in raw_rel:
        raise InvalidInputError("artifact path must not carry ';' parameters", field="path")
    validate_artifact_path(raw_rel)
    return validate_artifact_path(request.path_params.get("path", ""))


class ArtifactProxy:
    def __init__(self, store: ArtifactStore, staging_dir: str | None = None) -> None:
        self.store = store
        self.staging = staging_dir or os.path.join(tempfile.gettempdir(), "mlcore-uploads")
        os.makedirs(self.staging, exist_ok=True)

    # -- files -----------------------------------------------------------------------------------
    async def put(self, request: Request) -> Response:
        path = request_path(request)
        validate_artifact_path(path, allow_root=False)
        expected = request.headers.get("x-content-sha256")
        chunks: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=16)

        def store() -> Any:
            reader = _QueueReader(chunks)
            if expected is None:
                return self.store.put_stream(reader, path)
            return self._put_checked(reader, path, expected)

        task = asyncio.ensure_future(anyio.to_thread.run_sync(store))
        try:
            async for chunk in request.stream():
                if chunk and not await _put(chunks, chunk, task):
                    break
            await _put(chunks, None, task)
        except ClientDisconnect:
            _abort(chunks)
            await asyncio.gather(task, return_exceptions=True)
            raise InvalidInputError("the upload was interrupted; nothing was stored") from None
        except BaseException:
            _abort(chunks)
            await asyncio.gather(task, return_exceptions=True)
            raise
        info = await task
        return JSONResponse(_info_json(info))

    def _put_checked(self, reader: _QueueReader, path: str, expected: str) -> Any:
        """Stage, check the sha256 the client announced, then publish."""
        staged = os.path.join(self.staging, f"put-{uuid.uuid4().hex}")
        digest = hashlib.sha256()
        try:
            with open(staged, "wb") as f:
                while chunk := reader.read(_CHUNK):
                    digest.update(chunk)
                    f.write(chunk)
            if digest.hexdigest() != expected:
                raise IntegrityError(
                    f"the body's sha256 is {digest.hexdigest()}, not {expected}; nothing stored"
                )
            return self.store.put_file(staged, path)
        finally:
            if os.path.exists(staged):
                os.remove(staged)

    async def get(self, request: Request) -> Response:
        path = request_path(request)
        if request.query_params.get("list"):
            files = await anyio.to_thread.run_sync(self.store.list, path)
            return JSONResponse([_info_json(f) for f in files])
        if request.query_params.get("info"):
            info = await anyio.to_thread.run_sync(self.store.info, path)
            return JSONResponse(_info_json(info))
        handle = await anyio.to_thread.run_sync(self.store.open, path)
        return StreamingResponse(_iterate(handle), media_type="application/octet-stream")

    async def delete(self, request: Request) -> Response:
        path = request_path(request)
        await anyio.to_thread.run_sync(
            self.store.delete, validate_artifact_path(path, allow_root=False)
        )
        return JSONResponse({})

    # -- resumable uploads -----------------------------------------------------------------------
    def _upload_paths(self, upload_id: str) -> tuple[str, str]:
        if len(upload_id) != 32 or not set(upload_id) <= _UPLOAD_ID:
            raise NotFoundError(f"upload {upload_id!r} not found")
        base = os.path.join(self.staging, upload_id)
        if not os.path.exists(base + ".json"):
            raise NotFoundError(f"upload {upload_id!r} not found (completed or expired)")
        return base + ".part", base + ".json"

    async def start_upload(self, request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError:
            raise InvalidInputError("the request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise InvalidInputError("expected a JSON object with 'path'", field="path")
        path = validate_artifact_path(str(body.get("path", "")), allow_root=False)
        upload_id = uuid.uuid4().hex
        base = os.path.join(self.staging, upload_id)
        open(base + ".part", "wb").close()
        with open(base + ".json", "w", encoding="utf-8") as f:
            json.dump({"path": path}, f)
        return JSONResponse({"upload_id": upload_id, "received": 0})

    async def upload_status(self, request: Request) -> Response:
        part, _ = self._upload_paths(request.path_params["upload_id"])
        return JSONResponse({"received": os.path.getsize(part)})

    async def upload_part(self, request: Request) -> Response:
        part, _ = self._upload_paths(request.path_params["upload_id"])
        offset = request.query_params.get("offset", "")
        if not offset.isdigit():
            raise InvalidInputError("offset must be a non-negative integer", field="offset")
        have = os.path.getsize(part)
        if int(offset) != have:
            # a retried part that had arrived, or a gap: the client resumes from `received`
            return JSONResponse({"received": have})
        with open(part, "ab") as f:
            try:
                async for chunk in request.stream():
                    f.write(chunk)
            except ClientDisconnect:
                pass  # keep what arrived; the client asks how much and resumes
        return JSONResponse({"received": os.path.getsize(part)})

    async def complete_upload(self, request: Request) -> Response:
        part, meta = self._upload_paths(request.path_params["upload_id"])
        try:
            expected = json.loads(await request.body()).get("sha256")
        except (ValueError, AttributeError):
            raise InvalidInputError(
                "expected a JSON object with 'sha256'", field="sha256"
            ) from None
        with open(meta, encoding="utf-8") as f:
            path = json.load(f)["path"]

        def publish() -> Any:
            digest = sha256_file(part)
            if digest != expected:
                raise IntegrityError(
                    f"the uploaded parts have sha256 {digest}, not {expected}; "
                    "nothing was published (start the upload again)"
                )
            info = self.store.put_file(part, path)
            os.remove(part)
            os.remove(meta)
            return info

        try:
            info = await anyio.to_thread.run_sync(publish)
        except IntegrityError:
            for leftover in (part, meta):
                if os.path.exists(leftover):
                    os.remove(leftover)
            raise
        return JSONResponse(_info_json(info))

    def close(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


async def _put(chunks: queue.Queue[Any], item: Any, task: asyncio.Future[Any]) -> bool:
    """Hand ``item`` to the storing thread; False when it has already stopped (its result or
    error is then the answer)."""
    while not task.done():
        try:
            chunks.put_nowait(item)
            return True
        except queue.Full:
            await asyncio.sleep(0.0005)
    return False


def _abort(chunks: queue.Queue[Any]) -> None:
    """Make the storing thread's next read raise, so the store discards the partial file."""
    while True:
        try:
            chunks.put_nowait(_Aborted("the upload was interrupted"))
            return
        except queue.Full:
            try:
                chunks.get_nowait()
            except queue.Empty:
                pass


def _iterate(handle: Any) -> Iterator[bytes]:
    try:
        while chunk := handle.read(_CHUNK):
            yield chunk
    finally:
        handle.close()


def _info_json(info: Any) -> dict[str, Any]:
    return {"path": info.path, "is_dir": info.is_dir, "size": info.size, "sha256": info.sha256}
