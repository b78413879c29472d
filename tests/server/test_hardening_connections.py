"""Connection-level slow clients against a real tracking server on loopback: hundreds of
"slowloris" connections that trickle a request head, and a flood of idle keep-alive ones, do
not stop ``/health``; the server closes both kinds (issue 15 item 3)."""

from __future__ import annotations

import contextlib
import resource
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from mlcore.errors import InvalidInputError
from mlcore.server import Server
from mlcore.web.connections import ConnectionLimits

LIMITS = ConnectionLimits(header_timeout_s=2.0, keep_alive_s=2.0)


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    srv = Server.tracking(store=f"sqlite:///{tmp_path}/m.db", artifacts=str(tmp_path / "art"))
    yield srv.start(limits=LIMITS)
    srv.stop()


def _connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    return socket.create_connection((parts.hostname, parts.port), timeout=10)


def _closed_by_server(sock: socket.socket) -> bool:
    """Whether the server closed ``sock`` (whatever it sent before is read and dropped)."""
    try:
        while sock.recv(65536, socket.MSG_DONTWAIT):
            pass
    except BlockingIOError:
        return False
    except OSError:
        return True
    return True


def _health_answers_within_a_second(url: str) -> None:
    started = time.monotonic()
    health = httpx.get(url + "/health", timeout=1.0)
    assert health.status_code == 200 and time.monotonic() - started < 1.0


def test_slowloris_and_idle_keep_alive_floods_do_not_stop_health(url: str) -> None:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    count = max(20, min(300, (soft - 200) // 4))  # each is two sockets in this process, twice
    host = urlsplit(url).netloc
    slow = [_connect(url) for _ in range(count)]
    for sock in slow:  # a request line and one header, never the blank line that ends the head
        sock.sendall(f"GET /api/v1/artifact-files/?list=1 HTTP/1.1\r\nHost: {host}\r\n".encode())
    idle = []
    for _ in range(count):  # one request answered each, then the connection is kept idle
        sock = _connect(url)
        sock.sendall(f"GET /version HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        assert b"200 OK" in sock.recv(65536)
        idle.append(sock)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            for sock in slow:  # a header line every half second: never idle, never done
                with contextlib.suppress(OSError):
                    sock.sendall(b"X-Slow: 1\r\n")
            _health_answers_within_a_second(url)
            if sum(map(_closed_by_server, slow + idle)) == len(slow + idle):
                break
            time.sleep(0.5)
        still_open = sum(not _closed_by_server(s) for s in slow)
        assert still_open == 0, f"{still_open} of {count} slowloris connections still open"
        assert sum(not _closed_by_server(s) for s in idle) == 0
        _health_answers_within_a_second(url)
        # a client that sends its head in time is served as before, on a kept-alive connection
        with httpx.Client(base_url=url, timeout=5.0) as client:
            for _ in range(3):
                assert client.get("/health").status_code == 200
    finally:
        for sock in slow + idle:
            sock.close()


def test_a_request_head_growing_over_the_limit_is_refused(url: str) -> None:
    sock = _connect(url)
    host = urlsplit(url).netloc
    sock.sendall(f"GET /health HTTP/1.1\r\nHost: {host}\r\n".encode())
    for _ in range(70):  # 70 KB of headers, never ended
        with contextlib.suppress(OSError):
            sock.sendall(f"X-Big: {'a' * 1000}\r\n".encode())
    answer = sock.recv(65536)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 400")
    _health_answers_within_a_second(url)


def test_limits_must_be_positive(tmp_path: Path) -> None:
    srv = Server.tracking(store=f"sqlite:///{tmp_path}/m.db")
    with pytest.raises(InvalidInputError, match="header_timeout_s"):
        srv.start(limits=ConnectionLimits(header_timeout_s=0))
