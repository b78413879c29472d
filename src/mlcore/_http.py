"""The HTTP client under ``HttpStore`` and the proxied artifact store (foundation layer).

One keep-alive ``httpx.Client`` per server and process; bearer token from
``MLCORE_TRACKING_TOKEN``; retries with exponential backoff on connection errors and on 5xx/429
answers; the server's JSON errors (``{"error_code", "message", "field"}``) become the same
typed mlcore errors a local store raises. Writes carry an ``Idempotency-Key`` that stays the
same across retries, so the server applies a retried write once.
"""

from __future__ import annotations

import os
import random
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from mlcore.errors import (
    AlreadyExistsError,
    IntegrityError,
    InvalidInputError,
    MlcoreError,
    NotFoundError,
    ParamConflictError,
    PluginError,
    PluginNotFoundError,
    StoreError,
)

if TYPE_CHECKING:
    import httpx

__all__ = [
    "RETRIES_ENV",
    "RETRY_STATUSES",
    "TIMEOUT_ENV",
    "TOKEN_ENV",
    "AuthError",
    "HttpClient",
    "error_from_response",
]

TOKEN_ENV = "MLCORE_TRACKING_TOKEN"
RETRIES_ENV = "MLCORE_HTTP_RETRIES"
TIMEOUT_ENV = "MLCORE_HTTP_TIMEOUT"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

_ERRORS: dict[str, type[MlcoreError]] = {
    cls.code: cls
    for cls in (
        NotFoundError,
        AlreadyExistsError,
        InvalidInputError,
        ParamConflictError,
        PluginNotFoundError,
        PluginError,
        IntegrityError,
        StoreError,
    )
}


class AuthError(MlcoreError, PermissionError):
    """The server refused the request's credentials (401) or its scope (403)."""

    code = "UNAUTHORIZED"


_ERRORS["UNAUTHORIZED"] = AuthError
_ERRORS["FORBIDDEN"] = AuthError


def error_from_response(status: int, body: Any, where: str) -> MlcoreError:
    """The typed error for a server's JSON error answer."""
    code = message = field = None
    if isinstance(body, dict):
        code, message, field = body.get("error_code"), body.get("message"), body.get("field")
    message = str(message or f"HTTP {status}")
    cls = _ERRORS.get(str(code))
    if cls is None:
        cls = NotFoundError if status == 404 else InvalidInputError if status < 500 else StoreError
    if issubclass(cls, InvalidInputError):
        return cls(message, field=field if isinstance(field, str) else None)
    if cls is StoreError:
        message = f"{where}: {message}"
    return cls(message)


def _retries() -> int:
    try:
        return max(0, int(os.environ.get(RETRIES_ENV, "6")))
    except ValueError:
        return 6


class HttpClient:
    """Requests to one mlcore server (``base_url`` without a trailing slash)."""

    _shared: dict[tuple[str, int], HttpClient] = {}
    _lock = threading.Lock()

    def __init__(self, base_url: str) -> None:
        import httpx

        self.base_url = base_url.rstrip("/")
        self.display_name = f"mlcore server {self.base_url}"
        self.retries = _retries()
        timeout = float(os.environ.get(TIMEOUT_ENV, "60"))
        self._client = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout, connect=10.0),
            limits=httpx.Limits(max_keepalive_connections=16, max_connections=64),
            headers={"User-Agent": "mlcore"},
        )

    @classmethod
    def for_url(cls, base_url: str) -> HttpClient:
        """The process's client for ``base_url`` (one connection pool per server and process)."""
        key = (base_url.rstrip("/"), os.getpid())
        with cls._lock:
            client = cls._shared.get(key)
            if client is None:
                client = cls._shared[key] = cls(base_url)
            return client

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        headers = dict(extra or {})
        token = os.environ.get(TOKEN_ENV)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def _pause(self, attempt: int) -> None:
        time.sleep(min(5.0, 0.05 * 2**attempt) * (0.5 + random.random()))

    def request(
        self,
        method: str,
        path: str,
        *,
        content: bytes | None = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        idempotent: bool = True,
        ok_missing: bool = False,
    ) -> httpx.Response | None:
        """Send a request, retrying transient failures; raise the server's typed error.

        Args:
            idempotent: False for a write that the server must not apply twice: it then gets an
                ``Idempotency-Key`` kept across retries.
            ok_missing: return None instead of raising for a 404.
        """
        send_headers = self._headers(headers)
        if not idempotent:
            send_headers["Idempotency-Key"] = uuid.uuid4().hex
        request = self._client.build_request(
            method, path, content=content, params=params, headers=send_headers
        )
        response = self._send(request)
        if response.status_code == 404 and ok_missing:
            return None
        if response.status_code >= 400:
            raise self.error(response)
        return response

    def _send(self, request: httpx.Request, *, stream: bool = False) -> httpx.Response:
        """Send ``request``, retrying connection errors and 429/5xx answers with backoff;
        returns the last answer (which may be an error answer)."""
        import httpx

        attempt = 0
        while True:
            try:
                response = self._client.send(request, stream=stream)
            except httpx.TransportError as exc:
                if attempt >= self.retries:
                    raise StoreError(
                        f"{self.display_name} unreachable after {attempt + 1} attempts: "
                        f"{type(exc).__name__}: {exc}"
                    ) from None
            else:
                if response.status_code not in RETRY_STATUSES or attempt >= self.retries:
                    return response
                response.close()
            self._pause(attempt)
            attempt += 1

    def error(self, response: httpx.Response) -> MlcoreError:
        try:
            body = response.json()
        except ValueError:
            body = None
        return error_from_response(response.status_code, body, self.display_name)

    def stream_upload(
        self,
        method: str,
        path: str,
        chunks: Iterable[bytes],
        *,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """Send a body from an iterator once (a stream cannot be replayed, so no retry)."""
        import httpx

        try:
            response = self._client.request(
                method, path, content=chunks, headers=self._headers(headers)
            )
        except httpx.TransportError as exc:
            raise StoreError(f"{self.display_name}: upload failed: {exc}") from None
        if response.status_code >= 400:
            raise self.error(response)
        return response

    def stream_download(self, path: str) -> Iterator[bytes]:
        """The body of a GET as it arrives (raises the typed error before the first chunk)."""
        request = self._client.build_request("GET", path, headers=self._headers(None))
        response = self._send(request, stream=True)
        if response.status_code >= 400:
            response.read()
            response.close()
            raise self.error(response)
        return _body(response)


def _body(response: httpx.Response) -> Iterator[bytes]:
    import httpx

    try:
        yield from response.iter_raw(1 << 20)
    except httpx.TransportError as exc:
        raise StoreError(f"download interrupted: {exc}") from None
    finally:
        response.close()
