"""Request bodies up to a limit: a declared ``Content-Length`` over it is refused before reading,
a streamed body as soon as it passes it."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.requests import Request

__all__ = ["TOO_LARGE", "BodyTooLarge", "declared_length", "read_body", "too_large_message"]

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
