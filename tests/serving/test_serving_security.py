"""Who may call a served model, and how much they may send: the tracking server's guard
(tokens, scopes, the loopback rule) and its body limit and JSON errors."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from mlcore.errors import InvalidInputError
from mlcore.server import Server
from mlcore.serving import create_app
from mlcore.web.guard import Access
from tests.conftest import free_port, wait_port
from tests.serving.conftest import FEATURES, predicted

READ_TOKEN = "r" * 24
WRITE_TOKEN = "w" * 24
PROBES = ["/ping", "/health", "/version", "/metrics", "/v2/health/live", "/v2/health/ready"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def split_body(store: dict[str, Any], rows: int = 5) -> tuple[dict[str, Any], list[Any]]:
    frame = store["frame"].iloc[:rows]
    body = {"dataframe_split": {"columns": FEATURES, "data": frame.to_numpy().tolist()}}
    return body, predicted(store, "forest", frame)


def infer_body(store: dict[str, Any], rows: int = 5) -> dict[str, Any]:
    data = store["frame"].iloc[:rows].to_numpy()
    return {"inputs": [{"name": "x", "datatype": "FP64", "shape": list(data.shape),
                        "data": data.ravel().tolist()}]}  # fmt: skip


@pytest.fixture(scope="module")
def token_server(store: dict[str, Any]) -> Iterator[str]:
    """A model server on loopback with a read and a write token."""
    srv = Server.model(
        "models:/forest/1",
        tracking_uri=store["uri"],
        tokens={READ_TOKEN: "read", WRITE_TOKEN: "write"},
    )
    url = srv.start()
    yield url
    srv.stop()


# -- tokens ---------------------------------------------------------------------------------------
def test_predictions_need_a_token_and_a_read_token_suffices(
    token_server: str, store: dict[str, Any]
) -> None:
    url = token_server
    body, expected = split_body(store)
    missing = httpx.post(f"{url}/invocations", json=body)
    assert missing.status_code == 401
    assert missing.json()["error_code"] == "UNAUTHORIZED"
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = httpx.post(f"{url}/invocations", json=body, headers=bearer("x" * 24))
    assert wrong.status_code == 401 and wrong.json()["error_code"] == "UNAUTHORIZED"
    not_bearer = httpx.post(f"{url}/invocations", json=body, headers={"Authorization": READ_TOKEN})
    assert not_bearer.status_code == 401
    for token in (READ_TOKEN, WRITE_TOKEN):
        ok = httpx.post(f"{url}/invocations", json=body, headers=bearer(token))
        assert ok.status_code == 200, ok.text
        assert ok.json()["predictions"] == expected


def test_oip_routes_refuse_in_the_oip_shape_and_accept_a_read_token(
    token_server: str, store: dict[str, Any]
) -> None:
    url = token_server
    infer = f"{url}/v2/models/forest/versions/1/infer"
    refused = httpx.post(infer, json=infer_body(store))
    assert refused.status_code == 401
    assert refused.json()["error_code"] == "UNAUTHORIZED"
    assert refused.json()["error"] == refused.json()["message"]
    assert httpx.get(f"{url}/v2/models/forest").status_code == 401  # metadata needs a token too
    ok = httpx.post(infer, json=infer_body(store), headers=bearer(READ_TOKEN))
    assert ok.status_code == 200, ok.text
    assert ok.json()["outputs"][0]["data"] == split_body(store)[1]
    meta = httpx.get(f"{url}/v2/models/forest", headers=bearer(READ_TOKEN))
    assert meta.status_code == 200 and meta.json()["name"] == "forest"


def test_probes_and_metrics_need_no_token(token_server: str) -> None:
    for path in PROBES:
        assert httpx.get(token_server + path).status_code == 200, path


def test_tokens_are_checked_when_the_app_is_built(store: dict[str, Any]) -> None:
    with pytest.raises(InvalidInputError, match="16 characters"):
        create_app("models:/forest/1", tracking_uri=store["uri"], tokens={"short": "read"})
    with pytest.raises(InvalidInputError, match="read or write"):
        create_app("models:/forest/1", tracking_uri=store["uri"], tokens={READ_TOKEN: "admin"})


# -- the loopback rule ----------------------------------------------------------------------------
def test_without_tokens_only_loopback_clients_are_served(store: dict[str, Any]) -> None:
    body, expected = split_body(store)
    app = create_app("models:/forest/1", tracking_uri=store["uri"])
    with TestClient(app) as remote:  # TestClient's client address is not a loopback one
        refused = remote.post("/invocations", json=body)
        assert refused.status_code == 403
        assert refused.json()["error_code"] == "FORBIDDEN"
        assert "loopback" in refused.json()["message"]
        oip = remote.post("/v2/models/forest/infer", json=infer_body(store))
        assert oip.status_code == 403 and "loopback" in oip.json()["error"]
        for path in PROBES:
            assert remote.get(path).status_code == 200, path
    opened = create_app("models:/forest/1", tracking_uri=store["uri"], allow_remote=True)
    with TestClient(opened, base_url="http://localhost") as remote:
        assert remote.post("/invocations", json=body).json()["predictions"] == expected
    with_tokens = create_app(
        "models:/forest/1", tracking_uri=store["uri"], tokens={READ_TOKEN: "read"}
    )
    with TestClient(with_tokens, base_url="http://localhost") as remote:  # a token counts
        ok = remote.post("/invocations", json=body, headers=bearer(READ_TOKEN))
        assert ok.status_code == 200 and ok.json()["predictions"] == expected


# -- DNS rebinding and forwarding headers (issue 15 item 4) -----------------------------------------
def _raw_post(url: str, path: str, body: dict[str, Any], host: str) -> tuple[int, str]:
    """A request with exactly this ``Host``, as a page whose name rebinds to 127.0.0.1 sends."""
    parts = urlsplit(url)
    data = json.dumps(body).encode()
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    conn.putrequest("POST", path, skip_host=True)
    for key, value in (("Host", host), ("Content-Type", "application/json")):
        conn.putheader(key, value)
    conn.putheader("Content-Length", str(len(data)))
    conn.endheaders(data)
    response = conn.getresponse()
    text = response.read().decode()
    conn.close()
    return response.status, text


def test_a_rebound_host_is_refused_by_a_loopback_model_server(store: dict[str, Any]) -> None:
    body, expected = split_body(store)
    srv = Server.model("models:/forest/1", tracking_uri=store["uri"], allowed_hosts=["ml.lan"])
    url = srv.start()
    port = url.rsplit(":", 1)[1]
    try:
        for host in ("evil.example", f"evil.example:{port}"):
            for path in ("/invocations", "/v2/models/forest/infer"):
                payload = body if path == "/invocations" else infer_body(store)
                status, text = _raw_post(url, path, payload, host)
                assert status == 403, (host, path, text)
                assert "--allowed-hosts" in text and "predictions" not in text
        for host in (f"localhost:{port}", f"127.0.0.1:{port}", f"ml.lan:{port}"):
            status, text = _raw_post(url, "/invocations", body, host)
            assert status == 200, (host, text)
            assert json.loads(text)["predictions"] == expected
    finally:
        srv.stop()


def test_forwarding_headers_count_only_from_trusted_proxies(store: dict[str, Any]) -> None:
    body, _ = split_body(store)
    spoof = {"X-Forwarded-For": "127.0.0.1", "X-Real-IP": "127.0.0.1", "Forwarded": "for=::1"}
    app = create_app("models:/forest/1", tracking_uri=store["uri"])
    remote = TestClient(app, base_url="http://localhost", client=("203.0.113.9", 4000))
    with remote:
        refused = remote.post("/invocations", json=body, headers=spoof)
        assert refused.status_code == 403 and "loopback" in refused.json()["message"]
    behind = create_app(
        "models:/forest/1", tracking_uri=store["uri"], trusted_proxies=["203.0.113.0/24"]
    )
    with TestClient(behind, base_url="http://localhost", client=("203.0.113.9", 4000)) as proxy:
        assert proxy.post("/invocations", json=body, headers=spoof).status_code == 200
        assert proxy.post("/invocations", json=body).status_code == 403


def test_a_mounted_app_keeps_its_probes_public(store: dict[str, Any]) -> None:
    app = create_app("models:/forest/1", tracking_uri=store["uri"], tokens={READ_TOKEN: "read"})
    outer = Starlette(routes=[Mount("/models/forest", app=app)])
    with TestClient(outer, base_url="http://localhost") as client:
        assert client.get("/models/forest/health").status_code == 200
        assert client.get("/models/forest/v2/health/ready").status_code == 200
        assert client.post("/models/forest/invocations", json={}).status_code == 401
        body, expected = split_body(store)
        ok = client.post("/models/forest/invocations", json=body, headers=bearer(READ_TOKEN))
        assert ok.json()["predictions"] == expected


def test_access_rules_are_data() -> None:
    server = Access(read_paths=frozenset({"/api/v1/search-runs"}))
    assert server.scope_needed("GET", "/health") is None
    assert server.scope_needed("POST", "/api/v1/search-runs") == "read"
    assert server.scope_needed("POST", "/api/v1/create-run") == "write"
    serving = Access(public_prefixes=("/v2/health/",), read_only=True)
    assert serving.scope_needed("GET", "/v2/health/ready") is None
    assert serving.scope_needed("POST", "/invocations") == "read"


# -- limits ---------------------------------------------------------------------------------------
def test_an_oversized_body_is_a_json_413_and_the_server_keeps_serving(
    store: dict[str, Any],
) -> None:
    srv = Server.model("models:/forest/1", tracking_uri=store["uri"], max_body_mb=1)
    url = srv.start()
    try:
        big = {"instances": [[0.5] * 6] * 100_000}
        declared = httpx.post(f"{url}/invocations", json=big)
        assert declared.status_code == 413
        assert declared.json() == {
            "error_code": "TOO_LARGE",
            "message": "the request body is larger than this server accepts (1048576 bytes)",
        }

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
            for _ in range(3):
                yield b" " * (1024 * 1024)

        streamed = httpx.post(
            f"{url}/v2/models/forest/infer",
            content=chunks(),
            headers={"Content-Type": "application/json"},
        )
        assert streamed.status_code == 413
        assert streamed.json()["error_code"] == "TOO_LARGE" and "error" in streamed.json()
        body, expected = split_body(store)
        after = httpx.post(f"{url}/invocations", json=body)
        assert after.status_code == 200 and after.json()["predictions"] == expected
    finally:
        srv.stop()


# -- the command ----------------------------------------------------------------------------------
def test_mlcore_serve_tokens_file_refuses_unauthenticated_calls(
    store: dict[str, Any], tmp_path: Path
) -> None:
    tokens_file = tmp_path / "tokens"
    tokens_file.write_text(f"# who may predict\n{READ_TOKEN} read\n", encoding="utf-8")
    env_token = "e" * 24
    port = free_port()
    env = {**os.environ, "MLCORE_TRACKING_URI": store["uri"], "MLCORE_SERVER_TOKENS": env_token}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlcore", "serve", "models:/forest@champion",
         "--port", str(port), "--tokens-file", str(tokens_file)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        wait_port(port, timeout=120)
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            if httpx.get(f"{base}/v2/health/ready").status_code == 200:  # no token needed
                break
            time.sleep(0.1)
        body, expected = split_body(store)
        refused = httpx.post(f"{base}/invocations", json=body)
        assert refused.status_code == 401 and refused.json()["error_code"] == "UNAUTHORIZED"
        for token in (READ_TOKEN, env_token):  # the file's and MLCORE_SERVER_TOKENS'
            ok = httpx.post(f"{base}/invocations", json=body, headers=bearer(token))
            assert ok.status_code == 200 and ok.json()["predictions"] == expected
    finally:
        proc.terminate()
        proc.communicate(timeout=60)
