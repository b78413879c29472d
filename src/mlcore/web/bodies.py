"""Request bodies up to a limit: a declared ``Content-Length`` over it is refused before reading,
a streamed body as soon as it passes it; and bodies streamed with an idle timeout."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

import anyio
from starlette.requests import ClientDisconnect, Request

__all__ = [
    "TOO_LARGE",
    "BodyIdle",
    "BodyTooLarge",
    "declared_length",
    "media_type",
    "read_body",
    "stream_body",
    "too_large_message",
]

#: the error code of a refused body (HTTP 413)
TOO_LARGE = "TOO_LARGE"


class BodyTooLarge(Exception):
    """The request body is larger than ``limit`` bytes."""

    def __init__(self, limit: int) -> None:
        super().__init__(too_large_message(limit))
        self.limit = limit


def too_large_message(limit: int) -> str:
    return f"the request body is larger than this server accepts ({limit} bytes)"


def declared_length(headers: Iterable[tuple[bytes, bytes]]) -> int | None:
    """The ``Content-Length`` of raw ASGI headers, or None when absent or not a number."""
    for key, value in headers:
        if key.lower() == b"content-length":
            text = value.decode("latin-1")
            return int(text) if text.isdigit() else None
    return None


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body of ``request``.

    Raises:
        BodyTooLarge: the declared or streamed body is over ``limit`` bytes.
    """
    declared = declared_length(request.scope.get("headers", ()))
    if declared is not None and declared > limit:
        raise BodyTooLarge(limit)
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)


class BodyIdle(Exception):
    """The client sent nothing for ``seconds`` in the middle of its body."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"no part of the request body arrived for {seconds:g} seconds; the request was "
            "dropped and nothing was stored"
        )
        self.seconds = seconds


async def stream_body(request: Request, idle_timeout: float) -> AsyncIterator[bytes]:
    """The body of ``request`` chunk by chunk, as it arrives (no thread waits for it).

    Raises:
        BodyIdle: no chunk arrived for ``idle_timeout`` seconds.
        ClientDisconnect: the client went away.
    """
    receive = request.receive
    while True:
        try:
            with anyio.fail_after(idle_timeout):
                message = await receive()
        except TimeoutError:
            raise BodyIdle(idle_timeout) from None
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


def media_type(request: Request) -> str:
    """The request's ``Content-Type`` without parameters, lower-cased ("" when absent)."""
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
