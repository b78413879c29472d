"""Who a request comes from when a reverse proxy stands in front: forwarding headers, trusted
only from the proxies an app is configured with.

``Forwarded`` (RFC 7239), ``X-Forwarded-For`` and ``X-Real-IP`` name the client, and
``X-Forwarded-Proto`` / ``Forwarded: proto=`` the scheme it used. A client can send any of
them itself, so they count only when the connection's peer is a trusted proxy (by default
none but loopback ones: a local proxy can then only make a client look remote, never make a
remote one look local). In a chain, the nearest address that is not itself a trusted proxy is
the client. When several headers name different clients, the one that is not a loopback
address wins, so a header the proxy passed through from the client unchanged cannot turn it
into a loopback one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

__all__ = ["DEFAULT_TRUSTED_PROXIES", "TrustedProxies"]

#: peers whose forwarding headers count unless an app names its own
DEFAULT_TRUSTED_PROXIES = ("127.0.0.0/8", "::1")

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip().strip('"')
    if text.startswith("["):  # "[2001:db8::1]:4711"
        text = text[1 : text.find("]")] if "]" in text else text
    elif text.count(":") == 1:  # "192.0.2.60:4711"
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None


class TrustedProxies:
    """Addresses and networks (``10.0.0.0/8``, ``192.0.2.7``) whose forwarding headers count."""

    def __init__(self, items: Iterable[str] = DEFAULT_TRUSTED_PROXIES) -> None:
        self.networks: list[_Network] = []
        for item in items:
            item = item.strip()
            if not item:
                continue
            try:
                self.networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ValueError(f"not an IP address or network: {item!r}") from None

    def trusts(self, host: str | None) -> bool:
        address = _address(host) if host else None
        return address is not None and any(address in n for n in self.networks)

    def resolve(self, scope: dict[str, Any]) -> dict[str, Any]:
        """``scope`` with ``client`` (and ``scheme``) taken from the forwarding headers when its
        peer is a trusted proxy; ``scope`` itself otherwise."""
        client = scope.get("client")
        if not client or not self.networks or not self.trusts(client[0]):
            return scope
        headers: dict[str, list[str]] = {}
        for key, value in scope.get("headers", ()):
            headers.setdefault(key.decode("latin-1").lower(), []).append(value.decode("latin-1"))
        named: list[str] = []
        scheme: str | None = None
        forwarded = _forwarded_elements(headers.get("forwarded", []))
        if forwarded:
            index = self._nearest([e.get("for", "unknown") for e in forwarded])
            named.append(forwarded[index].get("for", "unknown"))
            scheme = forwarded[index].get("proto")  # what the client used, as its proxy saw
        if "x-forwarded-for" in headers:
            chain = [p.strip() for v in headers["x-forwarded-for"] for p in v.split(",")]
            chain = [p for p in chain if p] or ["unknown"]
            named.append(chain[self._nearest(chain)])
        if "x-real-ip" in headers:
            named.append(headers["x-real-ip"][-1].strip())
        if "x-forwarded-proto" in headers:
            scheme = headers["x-forwarded-proto"][-1].split(",")[-1].strip().lower()
        if not named and scheme is None:
            return scope
        resolved = dict(scope)
        if named:
            resolved["client"] = (_least_trusted(named), 0)
        if scheme in ("http", "https"):
            resolved["scheme"] = scheme
        return resolved

    def _nearest(self, chain: list[str]) -> int:
        """Where the client is in a proxy chain (client first): the last hop that is not a
        trusted proxy, or the first when all are."""
        for index in range(len(chain) - 1, -1, -1):
            if not self.trusts(chain[index]):
                return index
        return 0


def _least_trusted(named: list[str]) -> str:
    for candidate in named:
        address = _address(candidate)
        if address is None or not address.is_loopback:
            return str(address) if address is not None else "unknown"
    address = _address(named[0])
    return str(address) if address is not None else "unknown"


def _forwarded_elements(values: list[str]) -> list[dict[str, str]]:
    """The elements of ``Forwarded`` headers, nearest proxy last: ``[{"for": ..., ...}]``."""
    elements = []
    for value in values:
        for element in value.split(","):
            pairs = {}
            for pair in element.split(";"):
                key, eq, text = pair.partition("=")
                if eq:
                    pairs[key.strip().lower()] = text.strip().strip('"').lower()
            if pairs:
                elements.append(pairs)
    return elements
