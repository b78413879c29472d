"""Connection limits of a server run by uvicorn: what a slow or idle client may hold.

uvicorn reads each connection on its event loop, so slow clients hold no thread; but it never
times out a request head that arrives slowly (a "slowloris" client sends a header line every
few seconds and keeps its connection for ever). :class:`HeadTimeoutProtocol` (uvicorn's h11
protocol) closes a connection whose request line and headers are not complete within
``header_timeout_s`` of it opening, or of its previous response; idle keep-alive connections
are closed after ``keep_alive_s`` (uvicorn's own timer), and a request head larger than
``max_header_bytes`` is refused (400). :class:`ConnectionLimits` holds the three and turns
them into uvicorn's settings.

Not limited here: the number of open connections (each costs a file descriptor and a few KB;
uvicorn's ``limit_concurrency`` would answer 503 to every request, ``/health`` included, once
slow clients held that many, so it is not set) and slow bodies (the apps read them with an
idle timeout: :func:`mlcore.web.bodies.stream_body`).
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["DEFAULT_LIMITS", "ConnectionLimits", "HeadTimeoutProtocol"]


@dataclass(frozen=True)
class ConnectionLimits:
    """How long a client may take to send a request head, or stay idle, and its largest size."""

    #: seconds a connection has to send a complete request line and headers
    header_timeout_s: float = 10.0
    #: seconds an idle keep-alive connection is kept
    keep_alive_s: float = 5.0
    #: the largest request head (request line and headers) in bytes
    max_header_bytes: int = 64 * 1024

    def uvicorn_settings(self) -> dict[str, Any]:
        """Keyword arguments of ``uvicorn.Config`` / ``uvicorn.run`` that apply these."""
        for name in ("header_timeout_s", "keep_alive_s", "max_header_bytes"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive")
        return {
            "http": functools.partial(HeadTimeoutProtocol, header_timeout=self.header_timeout_s),
            "timeout_keep_alive": self.keep_alive_s,
            "h11_max_incomplete_event_size": self.max_header_bytes,
        }


DEFAULT_LIMITS = ConnectionLimits()


class HeadTimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol that closes a connection slow to send its request head."""

    def __init__(self, *args: Any, header_timeout: float = 10.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_head()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # the request head is complete
            self._cancel_head_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._await_head()  # the next request's head, on a kept-alive connection

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def _await_head(self) -> None:
        self._cancel_head_timer()
        self._head_timer = self.loop.call_later(self.header_timeout, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()
