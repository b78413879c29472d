"""Issue 15 items 3 and 6, against real tracking servers on loopback: slow uploads hold no
worker thread (``/health`` and searches answer with hundreds open), per-client and idle
limits, and staged uploads that are private to their server and credential and expire."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import resource
import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

import mlcore
from mlcore.server import Server

TOKEN_A = "a" * 24
TOKEN_B = "b" * 24
UPLOADS = "/api/v1/artifact-uploads"


def staging_of(srv: Server) -> str:
    """The server's staging directory (its app is the guard around the FastAPI app)."""
    return str(srv.app.app.state.artifact_proxy.staging.path)


@contextlib.contextmanager
def serving(tmp_path: Path, name: str, **options: Any) -> Iterator[tuple[Server, str]]:
    home = tmp_path / name
    srv = Server.tracking(store=f"sqlite:///{home}.db", artifacts=str(home), **options)
    url = srv.start()
    try:
        yield srv, url
    finally:
        srv.stop()


def stalled_put(url: str, path: str, declared: int = 1_000_000) -> socket.socket:
    """A raw connection that sent an upload's headers and a few bytes, then nothing more."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
    head = (
        f"PUT /api/v1/artifact-files/{path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Content-Length: {declared}\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    sock.sendall(head.encode() + b"x" * 10)
    return sock


def wait_until(condition: Any, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return bool(condition())


# -- item 3: slow uploads ---------------------------------------------------------------------------
def test_hundreds_of_slow_uploads_do_not_freeze_the_server(tmp_path: Path) -> None:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    count = max(20, min(200, (soft - 200) // 2))  # each is two sockets in this process
    with serving(tmp_path, "slow", max_uploads_per_client=1000, upload_idle_timeout_s=50) as (
        srv,
        url,
    ):
        store = mlcore.stores.resolve_store(url)
        store.create_experiment("visible")
        socks = [stalled_put(url, f"slow/{i}.bin") for i in range(count)]
        try:
            proxy = srv.app.app.state.artifact_proxy
            assert wait_until(lambda: sum(proxy.slots._count.values()) == count)
            for _ in range(3):
                started = time.monotonic()
                health = httpx.get(url + "/health", timeout=1.0)
                assert health.status_code == 200 and time.monotonic() - started < 1.0
            found = httpx.post(
                url + "/api/v1/search-experiments", json={"view": "active"}, timeout=5.0
            )
            assert found.status_code == 200 and "visible" in found.text
            listed = httpx.get(url + "/api/v1/artifact-files/?list=1", timeout=5.0)
            assert listed.status_code == 200
            # a normal upload still goes through while they wait
            ok = httpx.put(url + "/api/v1/artifact-files/fast/ok.bin", content=b"ok", timeout=5.0)
            assert ok.status_code == 200 and ok.json()["size"] == 2
        finally:
            for sock in socks:
                sock.close()
        assert wait_until(lambda: not proxy.slots._count)
        artifacts = mlcore.artifacts.resolve_artifact_store(url + "/api/v1/artifact-files")
        assert artifacts.list("slow") == []
        assert wait_until(lambda: os.listdir(staging_of(srv)) == [])


def test_a_client_that_goes_silent_is_dropped_and_nothing_is_stored(tmp_path: Path) -> None:
    with serving(tmp_path, "idle", upload_idle_timeout_s=1.0) as (srv, url):
        sock = stalled_put(url, "idle/never.bin")
        started = time.monotonic()
        answer = b""
        with contextlib.suppress(OSError):
            while chunk := sock.recv(65536):
                answer += chunk
        sock.close()
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert time.monotonic() - started < 8  # answered and the connection closed
        assert b'"TIMEOUT"' in answer
        artifacts = mlcore.artifacts.resolve_artifact_store(url + "/api/v1/artifact-files")
        assert not artifacts.exists("idle/never.bin")
        assert wait_until(lambda: os.listdir(staging_of(srv)) == [])


def test_one_client_may_have_only_so_many_uploads_at_once(tmp_path: Path) -> None:
    with serving(tmp_path, "limit", max_uploads_per_client=2) as (srv, url):
        socks = [stalled_put(url, f"limit/{i}.bin") for i in range(2)]
        try:
            proxy = srv.app.app.state.artifact_proxy
            assert wait_until(lambda: sum(proxy.slots._count.values()) == 2)
            refused = httpx.put(url + "/api/v1/artifact-files/limit/third.bin", content=b"3")
            assert refused.status_code == 429
            assert refused.json()["error_code"] == "TOO_MANY_REQUESTS"
            assert refused.headers["retry-after"] == "1"
        finally:
            for sock in socks:
                sock.close()
        assert wait_until(lambda: not proxy.slots._count)
        again = httpx.put(url + "/api/v1/artifact-files/limit/third.bin", content=b"3")
        assert again.status_code == 200


def test_a_checked_upload_still_verifies_its_sha256(tmp_path: Path) -> None:
    with serving(tmp_path, "sha") as (srv, url):
        data = os.urandom(3 * 1024 * 1024 + 5)
        wrong = httpx.put(
            url + "/api/v1/artifact-files/sha/x.bin",
            content=data,
            headers={"X-Content-Sha256": "0" * 64},
        )
        assert wrong.status_code == 409
        right = httpx.put(
            url + "/api/v1/artifact-files/sha/x.bin",
            content=data,
            headers={"X-Content-Sha256": hashlib.sha256(data).hexdigest()},
        )
        assert right.status_code == 200 and right.json()["size"] == len(data)
        empty = httpx.put(url + "/api/v1/artifact-files/sha/empty.bin", content=b"")
        assert empty.status_code == 200 and empty.json()["size"] == 0
        artifacts = mlcore.artifacts.resolve_artifact_store(url + "/api/v1/artifact-files")
        assert artifacts.get_bytes("sha/x.bin") == data
        assert os.listdir(staging_of(srv)) == []


# -- item 6: staged uploads -------------------------------------------------------------------------
def start_upload(url: str, path: str, token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(url + UPLOADS, json={"path": path}, headers=headers)


def test_the_staging_directory_is_private_to_its_server(tmp_path: Path) -> None:
    with serving(tmp_path, "one") as (one, url_one), serving(tmp_path, "two") as (two, url_two):
        staging_one, staging_two = staging_of(one), staging_of(two)
        assert staging_one != staging_two
        for staging in (staging_one, staging_two):
            assert stat.S_IMODE(os.stat(staging).st_mode) == 0o700
            assert not staging.startswith(os.path.join("/tmp", "mlcore-uploads"))
        upload_id = start_upload(url_one, "private/a.bin").json()["upload_id"]
        files = os.listdir(staging_one)
        assert files and all(
            stat.S_IMODE(os.stat(os.path.join(staging_one, f)).st_mode) == 0o600 for f in files
        )
        # the other server does not know the upload: append, status and complete are 404
        other = f"{url_two}{UPLOADS}/{upload_id}"
        assert httpx.put(other, params={"offset": 0}, content=b"evil").status_code == 404
        assert httpx.get(other).status_code == 404
        assert httpx.post(other + "/complete", json={"sha256": "0" * 64}).status_code == 404
        mine = f"{url_one}{UPLOADS}/{upload_id}"
        assert httpx.get(mine).json() == {"received": 0}
    assert not os.path.exists(staging_one)  # removed when its server stopped


def test_a_configured_staging_directory_is_made_private(tmp_path: Path) -> None:
    chosen = tmp_path / "staging"
    with serving(tmp_path, "conf", staging_dir=str(chosen)) as (srv, url):
        assert staging_of(srv) == str(chosen)
        assert stat.S_IMODE(os.stat(chosen).st_mode) == 0o700
        assert start_upload(url, "conf/a.bin").status_code == 200


def test_an_upload_belongs_to_the_token_that_opened_it(tmp_path: Path) -> None:
    tokens = {TOKEN_A: "write", TOKEN_B: "write"}
    with serving(tmp_path, "tokens", tokens=tokens) as (_srv, url):
        upload_id = start_upload(url, "owned/a.bin", TOKEN_A).json()["upload_id"]
        upload = f"{url}{UPLOADS}/{upload_id}"
        a = {"Authorization": f"Bearer {TOKEN_A}"}
        b = {"Authorization": f"Bearer {TOKEN_B}"}
        assert httpx.put(upload, params={"offset": 0}, content=b"x", headers=b).status_code == 404
        assert httpx.get(upload, headers=b).status_code == 404
        done = httpx.post(upload + "/complete", json={"sha256": "0" * 64}, headers=b)
        assert done.status_code == 404
        assert httpx.put(upload, params={"offset": 0}, content=b"x").status_code == 401
        assert httpx.get(upload, headers=a).json() == {"received": 0}
        data = b"owned data"
        part = httpx.put(upload, params={"offset": 0}, content=data, headers=a)
        assert part.json() == {"received": len(data)}
        sha = hashlib.sha256(data).hexdigest()
        done = httpx.post(upload + "/complete", json={"sha256": sha}, headers=a)
        assert done.status_code == 200 and done.json()["sha256"] == sha


def test_abandoned_uploads_expire(tmp_path: Path) -> None:
    with serving(tmp_path, "ttl", upload_ttl_s=0.5) as (srv, url):
        staging = staging_of(srv)
        old = start_upload(url, "ttl/old.bin").json()["upload_id"]
        assert {f"{old}.part", f"{old}.json"} <= set(os.listdir(staging))
        time.sleep(1.2)
        new = start_upload(url, "ttl/new.bin").json()["upload_id"]  # sweeps on creation
        assert not any(name.startswith(old) for name in os.listdir(staging))
        assert httpx.get(f"{url}{UPLOADS}/{old}").status_code == 404
        time.sleep(1.2)
        assert httpx.get(f"{url}{UPLOADS}/{new}").status_code == 404  # expired when looked up
        assert os.listdir(staging) == []


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None],
)
def test_upload_creation_refuses_content_types_a_web_page_can_send(
    tmp_path: Path, content_type: str | None
) -> None:
    with serving(tmp_path, "csrf") as (srv, url):
        headers = {"Content-Type": content_type} if content_type else {}
        body = json.dumps({"path": "csrf/a.bin"}).encode()
        refused = httpx.post(url + UPLOADS, content=body, headers=headers)
        assert refused.status_code == 415
        assert refused.json()["error_code"] == "UNSUPPORTED_MEDIA_TYPE"
        assert os.listdir(staging_of(srv)) == []
        ok = httpx.post(
            url + UPLOADS, content=body, headers={"Content-Type": "application/json; charset=utf-8"}
        )
        assert ok.status_code == 200
