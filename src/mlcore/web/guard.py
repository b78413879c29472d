"""Who may call an app, and how much they may send: an ASGI middleware.

- Tokens (:mod:`mlcore.web.tokens`): clients send ``Authorization: Bearer <token>``; a read
  token may call only what :class:`Access` says reads.
- No token configured: only loopback clients are served, unless ``allow_remote``. The client
  is the connection's peer; forwarding headers count only from ``trusted_proxies``
  (:mod:`mlcore.web.forwarded`).
- ``Host``: only loopback names, addresses and ``allowed_hosts`` are answered
  (:mod:`mlcore.web.hosts`, against DNS rebinding); others get 403 before any work.
- ``Origin``: a request a web page sends names the page; one from a page the Host policy does
  not admit (:meth:`~mlcore.web.hosts.HostPolicy.admits_origin`) gets 403.
- Content types (:class:`BodyTypes`, against cross-site request forgery): a body sent to a
  JSON route must be ``application/json`` (or ``*/*+json``); ``text/plain``, form types or
  none (what a page may send without a CORS preflight) get 415 before the app reads it.
- Public paths (health probes) are served to anyone.
- Bodies: up to ``max_body_bytes`` (``max_upload_bytes`` under ``upload_prefixes``); a declared
  or streamed body over the limit gets 413 and the app never sees the rest of it.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mlcore.web.bodies import TOO_LARGE, declared_length, too_large_message
from mlcore.web.errors import ErrorResponder, plain_error
from mlcore.web.forwarded import DEFAULT_TRUSTED_PROXIES, TrustedProxies
from mlcore.web.hosts import HostPolicy
from mlcore.web.tokens import READ, WRITE

__all__ = [
    "DEFAULT_PUBLIC_PATHS",
    "PRINCIPAL",
    "Access",
    "BodyTypes",
    "Guard",
    "is_json_type",
    "is_loopback",
    "principal_of",
]

#: the scope key under which the guard leaves who called: a digest of the bearer token, or
#: "" for a client admitted without one (see :func:`principal_of`)
PRINCIPAL = "mlcore.principal"

#: probes a load balancer calls without a token
DEFAULT_PUBLIC_PATHS = frozenset({"/health", "/version", "/ping"})


@dataclass(frozen=True)
class Access:
    """Which scope each request needs: the app's routes as data.

    Paths in ``public`` (or under ``public_prefixes``) need none; ``GET``, ``HEAD`` and
    ``OPTIONS`` need ``read``, and so do the paths in ``read_paths`` (POST endpoints that only
    read: searches, gets); everything else needs ``write``. ``read_only`` says no route
    changes anything, so a read token may call them all.
    """

    public: frozenset[str] = DEFAULT_PUBLIC_PATHS
    public_prefixes: tuple[str, ...] = ()
    read_paths: frozenset[str] = frozenset()
    read_only: bool = False

    def scope_needed(self, method: str, path: str) -> str | None:
        """``"read"``, ``"write"``, or None for a public path."""
        if path in self.public or path.startswith(self.public_prefixes):
            return None
        if self.read_only or method in ("GET", "HEAD", "OPTIONS") or path in self.read_paths:
            return READ
        return WRITE


def is_json_type(media: str) -> bool:
    """``application/json`` or a ``+json`` type (a media type without parameters)."""
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


@dataclass(frozen=True)
class BodyTypes:
    """Which ``Content-Type`` request bodies may have: the routes' payload formats as data.

    A request with a method in ``methods`` must send a JSON type (:func:`is_json_type`),
    except under the ``(method, path prefix)`` pairs of ``raw`` (uploads: any bytes; method
    ``*``: every one), and
    where ``also`` (``(path prefix, media types)`` pairs) admits more formats (``text/csv``:
    none of them is one a web page may send without a CORS preflight).
    """

    methods: frozenset[str] = frozenset({"POST", "PUT", "PATCH"})
    raw: tuple[tuple[str, str], ...] = ()
    also: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def refusal(self, method: str, path: str, media: str) -> str | None:
        """Why a body of ``media`` (lower-cased, no parameters) is refused; None if it is not."""
        if method not in self.methods or is_json_type(media):
            return None
        if any(m in (method, "*") and path.startswith(prefix) for m, prefix in self.raw):
            return None
        extra = [t for prefix, types in self.also if path.startswith(prefix) for t in types]
        if media in extra:
            return None
        sent = f"Content-Type {media!r}" if media else "no Content-Type"
        wanted = " or ".join(["application/json", *extra])
        return f"{method} {path} takes a body of {wanted}, not {sent}"


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def principal_of(scope: Mapping[str, Any]) -> str:
    """Who the guard admitted ``scope``'s request as: a digest of its token, "" without one."""
    return str(scope.get(PRINCIPAL, ""))


class _TooLarge(BaseException):  # not an Exception: frameworks must not swallow it
    pass


@dataclass
class Guard:
    """ASGI middleware: loopback rule, bearer tokens and scopes, body limits."""

    app: Any
    tokens: dict[str, str] = field(default_factory=dict)
    allow_remote: bool = False
    #: None: the app reads bodies with its own limit (:func:`mlcore.web.bodies.read_body`)
    max_body_bytes: int | None = 64 * 1024 * 1024
    max_upload_bytes: int = 1 << 40
    upload_prefixes: tuple[str, ...] = ()
    access: Access = field(default_factory=Access)
    #: how refusals look (an app whose clients read another error shape gives its own)
    error: ErrorResponder = plain_error
    #: how a client sends a token, in the 401's message
    token_hint: str = "set MLCORE_TRACKING_TOKEN"
    #: ``Host`` names answered besides loopback names and addresses (``*`` for any), or a
    #: :class:`~mlcore.web.hosts.HostPolicy` (which a server extends with its bind name)
    allowed_hosts: Iterable[str] | HostPolicy = ()
    #: peers whose ``Forwarded``/``X-Forwarded-For``/``X-Real-IP`` headers count (IPs, CIDRs)
    trusted_proxies: Iterable[str] = DEFAULT_TRUSTED_PROXIES
    #: the content types request bodies may have (by default: JSON for POST, PUT, PATCH)
    bodies: BodyTypes = field(default_factory=BodyTypes)

    def __post_init__(self) -> None:
        if not isinstance(self.allowed_hosts, HostPolicy):
            self.allowed_hosts = HostPolicy(self.allowed_hosts)
        self.hosts: HostPolicy = self.allowed_hosts
        self.proxies = TrustedProxies(self.trusted_proxies)

    async def __call__(
        self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope = self.proxies.resolve(scope)
        refusal = self._refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        path = _route_path(scope)
        limit = (
            self.max_upload_bytes if path.startswith(self.upload_prefixes) else self.max_body_bytes
        )
        if limit is None:
            await self.app(scope, receive, send)
            return
        declared = declared_length(scope.get("headers", ()))
        if declared is not None and declared > limit:
            await self._too_large(path, limit)(scope, receive, send)
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
                await self._too_large(path, limit)(scope, receive, send)

    def _refusal(self, scope: dict[str, Any]) -> Any:
        path = _route_path(scope)
        needed = self.access.scope_needed(scope["method"], path)
        if needed is None:
            return None
        refusal = self._client_refusal(scope, path, needed)
        if refusal is None and not self.hosts.admits(_header(scope, b"host")):
            refusal = self.error(
                path,
                403,
                "FORBIDDEN",
                "this server does not answer to the Host name of the request (it answers to "
                "loopback names, IP addresses and those it is started with: --allowed-hosts)",
                {},
            )
        origin = _header(scope, b"origin")
        if (
            refusal is None
            and origin is not None
            and not self.hosts.admits_origin(origin, _header(scope, b"host"))
        ):
            refusal = self.error(
                path,
                403,
                "FORBIDDEN",
                "this server does not answer requests sent by web pages of other sites (the "
                "Origin is not the server's own, a loopback name or one of --allowed-hosts)",
                {},
            )
        if refusal is None:
            media = (_header(scope, b"content-type") or "").split(";", 1)[0].strip().lower()
            wrong = self.bodies.refusal(scope["method"], path, media)
            if wrong is not None:
                refusal = self.error(path, 415, "UNSUPPORTED_MEDIA_TYPE", wrong, {})
        return refusal

    def _client_refusal(self, scope: dict[str, Any], path: str, needed: str) -> Any:
        if not self.tokens:
            client = scope.get("client")
            if self.allow_remote or is_loopback(client[0] if client else None):
                scope[PRINCIPAL] = ""
                return None
            return self.error(
                path,
                403,
                "FORBIDDEN",
                "this server has no tokens configured and serves loopback clients only "
                "(start it with tokens, or --allow-remote)",
                {},
            )
        auth = (_header(scope, b"authorization") or "").strip()
        scheme, _, token = auth.partition(" ")
        granted = None
        if scheme.lower() == "bearer" and token:
            for known, scope_name in self.tokens.items():
                if hmac.compare_digest(known.encode(), token.strip().encode()):
                    granted = scope_name
        if granted is None:
            return self.error(
                path,
                401,
                "UNAUTHORIZED",
                f"a valid bearer token is required ({self.token_hint})",
                {"WWW-Authenticate": "Bearer"},
            )
        if granted == READ and needed == WRITE:
            return self.error(path, 403, "FORBIDDEN", "this token may only read", {})
        scope[PRINCIPAL] = hashlib.sha256(token.strip().encode()).hexdigest()
        return None

    def _too_large(self, path: str, limit: int) -> Any:
        return self.error(path, 413, TOO_LARGE, too_large_message(limit), {})


def _route_path(scope: dict[str, Any]) -> str:
    """The path the app routes on (without the prefix it is mounted under, if any)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        return path[len(root) :] or "/"
    return path


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None
