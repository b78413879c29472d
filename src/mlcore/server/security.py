"""Who may call the server, and how much they may send (an ASGI middleware).

- Tokens: ``MLCORE_SERVER_TOKENS="tok1:write,tok2:read"`` or a file of ``token scope`` lines;
  clients send ``Authorization: Bearer <token>`` (``MLCORE_TRACKING_TOKEN``). A read token may
  only call read endpoints.
- No token configured: only loopback clients are served, unless ``allow_remote``.
- Bodies: JSON requests up to ``max_body_bytes``, artifact uploads up to ``max_upload_bytes``;
  a declared or streamed body over the limit gets 413 and nothing is stored.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mlcore.errors import InvalidInputError
from mlcore.server.errors import error_response

TOKENS_ENV = "MLCORE_SERVER_TOKENS"
SCOPES = ("read", "write")
PUBLIC_PATHS = frozenset({"/health", "/version", "/ping"})


def parse_tokens(text: str) -> dict[str, str]:
    """``token:scope`` items separated by commas or new lines (``token scope`` also works)."""
    tokens: dict[str, str] = {}
    for raw in text.replace(",", "\n").splitlines():
        item = raw.strip()
        if not item or item.startswith("#"):
            continue
        token, _, scope = item.replace(" ", ":", 1).rpartition(":")
        if not token:
            token, scope = scope, "write"
        if scope not in SCOPES:
            raise InvalidInputError(
                f"token scope must be read or write, got {scope!r}", field="tokens"
            )
        if len(token) < 16:
            raise InvalidInputError(
                "a server token must have at least 16 characters", field="tokens"
            )
        tokens[token] = scope
    return tokens


def load_tokens(tokens_file: str | None = None) -> dict[str, str]:
    tokens = parse_tokens(os.environ.get(TOKENS_ENV, ""))
    if tokens_file:
        with open(tokens_file, encoding="utf-8") as f:
            tokens.update(parse_tokens(f.read()))
    return tokens


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class _TooLarge(BaseException):  # not an Exception: frameworks must not swallow it
    pass


@dataclass
class Guard:
    """ASGI middleware: loopback rule, bearer tokens and scopes, body limits."""

    app: Any
    tokens: dict[str, str] = field(default_factory=dict)
    allow_remote: bool = False
    max_body_bytes: int = 64 * 1024 * 1024
    max_upload_bytes: int = 1 << 40
    #: path -> "read"/"write" for POST endpoints that only read (searches, gets)
    read_paths: frozenset[str] = frozenset()
    upload_prefixes: tuple[str, ...] = ()

    def _scope_needed(self, method: str, path: str) -> str:
        if method in ("GET", "HEAD", "OPTIONS") or path in self.read_paths:
            return "read"
        return "write"

    async def __call__(
        self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        path = scope["path"]
        limit = (
            self.max_upload_bytes if path.startswith(self.upload_prefixes) else self.max_body_bytes
        )
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(limit)(scope, receive, send)
            return
        received = 0
        started = False

        async def counting_receive() -> Any:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge
            return message

        async def tracking_send(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _too_large(limit)(scope, receive, send)

    def _refusal(self, scope: dict[str, Any]) -> Any:
        path = scope["path"]
        if path in PUBLIC_PATHS:
            return None
        if not self.tokens:
            client = scope.get("client")
            if self.allow_remote or _is_loopback(client[0] if client else None):
                return None
            return error_response(
                403,
                "FORBIDDEN",
                "this server has no tokens configured and serves loopback clients only "
                "(start it with tokens, or --allow-remote)",
            )
        auth = (_header(scope, b"authorization") or "").strip()
        scheme, _, token = auth.partition(" ")
        granted = None
        if scheme.lower() == "bearer" and token:
            for known, scope_name in self.tokens.items():
                if hmac.compare_digest(known.encode(), token.strip().encode()):
                    granted = scope_name
        if granted is None:
            return error_response(
                401,
                "UNAUTHORIZED",
                "a valid bearer token is required (set MLCORE_TRACKING_TOKEN)",
                **{"WWW-Authenticate": "Bearer"},
            )
        if granted == "read" and self._scope_needed(scope["method"], path) == "write":
            return error_response(403, "FORBIDDEN", "this token may only read")
        return None


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def _too_large(limit: int) -> Any:
    return error_response(
        413, "TOO_LARGE", f"the request body is larger than this server accepts ({limit} bytes)"
    )
