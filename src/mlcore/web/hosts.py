"""Which ``Host`` names an app answers to: the defence against DNS rebinding.

A web page whose name an attacker re-points at 127.0.0.1 reaches a loopback server from the
victim's browser, which sends the attacker's name as ``Host``. So an app answers only to:

- loopback names: ``localhost`` (and ``*.localhost``, which browsers resolve themselves);
- IP address literals (``127.0.0.1``, ``[::1]``, ``10.1.2.3``): a rebinding needs a name, so a
  client that sends an address reached the server by that address;
- the names it is configured with (``--allowed-hosts``): ``name``, ``name:port``,
  ``*.example.com``, or ``*`` for any;
- the name it is bound to (``--host NAME``), and the machine's host name when it is bound to
  every interface (``--host 0.0.0.0``): :meth:`HostPolicy.allow_bind`.

A browser names the page that sends a request in ``Origin``: :meth:`HostPolicy.admits_origin`
admits the server's own origin (the same host and port as ``Host``), loopback names and
addresses, and the configured names; a page anywhere else (any other IP address too, and
``null``, a sandboxed or ``file:`` page) is refused, against cross-site requests.
"""

from __future__ import annotations

import ipaddress
import socket
import string
from collections.abc import Iterable
from urllib.parse import urlsplit

from mlcore.errors import InvalidInputError
from mlcore.web.forwarded import TrustedProxies

__all__ = ["HostPolicy", "check_network_options", "split_host"]

_NAME_CHARS = frozenset(string.ascii_lowercase + string.digits + "-._")
_WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::", "[::]"})


def split_host(value: str) -> tuple[str, int | None] | None:
    """``(name, port)`` of a ``Host`` header value (lower-cased, without a trailing dot and
    IPv6 brackets), or None when it is not a valid host."""
    value = value.strip().lower()
    port: int | None = None
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[1:end], value[end + 1 :]
        if rest:
            if not rest.startswith(":") or not rest[1:].isdigit():
                return None
            port = int(rest[1:])
        try:
            ipaddress.IPv6Address(name.split("%", 1)[0])
        except ValueError:
            return None
        return name, port
    name, colon, tail = value.partition(":")
    if colon:
        if not tail.isdigit() or len(tail) > 5:
            return None
        port = int(tail)
    name = name.rstrip(".") if name != "." else name
    if not name or not set(name) <= _NAME_CHARS or len(name) > 253:
        return None
    return name, port


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return False
    return True


class HostPolicy:
    """The ``Host`` names an app answers to (see the module docstring); ``allowed`` adds
    names and patterns to the loopback ones."""

    def __init__(self, allowed: Iterable[str] = ()) -> None:
        self.any = False
        self._names: set[str] = set()
        self._with_port: set[tuple[str, int]] = set()
        self._suffixes: set[str] = set()
        for item in allowed:
            self.allow(item)

    def allow(self, pattern: str) -> None:
        """Admit ``pattern``: ``name``, ``name:port``, ``*.domain`` or ``*``."""
        pattern = pattern.strip().lower()
        if not pattern:
            return
        if pattern == "*":
            self.any = True
        elif pattern.startswith("*."):
            self._suffixes.add(pattern[1:].rstrip("."))
        else:
            parsed = split_host(pattern)
            if parsed is None:
                raise ValueError(f"not a host name: {pattern!r}")
            name, port = parsed
            if port is None:
                self._names.add(name)
            else:
                self._with_port.add((name, port))

    def allow_bind(self, host: str) -> None:
        """Admit the names clients use to reach a server bound to ``host``: the name itself,
        or the machine's host name when ``host`` means every interface."""
        host = host.strip().lower()
        if host in _WILDCARD_BINDS:
            with_domain = socket.gethostname().lower()
            for name in {with_domain, with_domain.split(".", 1)[0]}:
                if name and split_host(name) is not None:
                    self._names.add(name)
            return
        if split_host(host) is not None and not _is_address(host.strip("[]")):
            self._names.add(host.rstrip("."))

    @property
    def patterns(self) -> list[str]:
        """The configured names and patterns (what :meth:`allow` was given), for options."""
        items = sorted(self._names) + sorted(f"{n}:{p}" for n, p in self._with_port)
        items += sorted(f"*{s}" for s in self._suffixes)
        return ["*"] if self.any else items

    def admits(self, header: str | None) -> bool:
        """Whether a request with this ``Host`` header value is answered (a request without
        one, from an HTTP/1.0 client, is)."""
        if header is None:
            return True
        if self.any:
            return True
        parsed = split_host(header)
        if parsed is None:
            return False
        name, port = parsed
        if name == "localhost" or name.endswith(".localhost") or _is_address(name):
            return True
        return self._configured(name, port)

    def _configured(self, name: str, port: int | None) -> bool:
        if name in self._names or (port is not None and (name, port) in self._with_port):
            return True
        return any(name.endswith(suffix) for suffix in self._suffixes)

    def admits_origin(self, origin: str, host: str | None) -> bool:
        """Whether a request sent by a page of ``origin`` (the ``Origin`` header) with this
        ``Host`` header is answered (see the module docstring)."""
        parts = urlsplit(origin.strip())
        if parts.scheme not in ("http", "https") or parts.path or parts.query:
            return False
        default = 443 if parts.scheme == "https" else 80
        parsed = split_host(parts.netloc) if "@" not in parts.netloc else None
        if parsed is None:
            return False
        name, port = parsed
        if self.any:
            return True
        own = split_host(host) if host else None
        if own is not None and own[0] == name and (own[1] or default) == (port or default):
            return True  # the server's own pages
        if name == "localhost" or name.endswith(".localhost"):
            return True
        if _is_address(name):
            return ipaddress.ip_address(name.split("%", 1)[0]).is_loopback
        return self._configured(name, port)


def check_network_options(
    allowed_hosts: Iterable[str], trusted_proxies: Iterable[str] | None
) -> None:
    """Refuse a malformed ``allowed_hosts`` pattern or ``trusted_proxies`` entry up front.

    Raises:
        InvalidInputError: names which one.
    """
    try:
        HostPolicy(allowed_hosts)
    except ValueError as exc:
        raise InvalidInputError(f"allowed_hosts: {exc}", field="allowed_hosts") from None
    try:
        TrustedProxies(trusted_proxies or ())
    except ValueError as exc:
        raise InvalidInputError(f"trusted_proxies: {exc}", field="trusted_proxies") from None
