"""The tracking server as a client sees it: errors, auth, limits, path attacks, faults."""

from __future__ import annotations

import http.client
import json
import os
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.testclient import TestClient

import mlcore
from mlcore.errors import InvalidInputError, NotFoundError
from mlcore.server import Server
from mlcore.stores import resolve_store
from tests.conftest import free_port, wait_port

WRITE_TOKEN = "w" * 24
READ_TOKEN = "r" * 24


def post(url: str, path: str, body: object, **headers: str) -> httpx.Response:
    return httpx.post(url + path, json=body, headers=headers)


# -- errors ---------------------------------------------------------------------------------------
def test_errors_are_json_with_a_stable_code_and_no_trace(server_url: str) -> None:
    bad_json = httpx.post(
        server_url + "/api/v1/get-run",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert bad_json.status_code == 400
    assert bad_json.json()["error_code"] == "INVALID_INPUT"
    wrong_type = post(server_url, "/api/v1/get-run", {"run_id": 12})
    assert wrong_type.status_code == 400 and wrong_type.json()["field"] == "run_id"
    extra = post(server_url, "/api/v1/get-run", {"run_id": "a" * 32, "evil": 1})
    assert extra.status_code == 400
    unknown = post(server_url, "/api/v1/get-run", {"run_id": "a" * 32})
    assert unknown.status_code == 404 and unknown.json()["error_code"] == "NOT_FOUND"
    no_route = httpx.get(server_url + "/api/v1/nothing-here")
    assert no_route.status_code == 404 and no_route.json()["error_code"] == "NOT_FOUND"
    for response in (bad_json, wrong_type, extra, unknown, no_route):
        assert "Traceback" not in response.text


def test_health_version_and_openapi(server_url: str) -> None:
    assert httpx.get(server_url + "/health").json() == {"status": "ok"}
    assert httpx.get(server_url + "/version").json()["version"] == mlcore.__version__
    spec = httpx.get(server_url + "/openapi.json").json()
    assert "/api/v1/create-experiment" in spec["paths"]
    assert "/api/v1/search-runs" in spec["paths"]


def test_typed_errors_reach_the_client(server_url: str) -> None:
    store = resolve_store(server_url)
    with pytest.raises(NotFoundError):
        store.get_experiment("999999")
    with pytest.raises(InvalidInputError) as info:
        store.search_runs(["1"], "metrics.x >>> 1")
    assert "metrics.x" in str(info.value) or ">" in str(info.value)


# -- auth -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def token_server(tmp_path_factory: pytest.TempPathFactory) -> object:
    home = tmp_path_factory.mktemp("auth")
    srv = Server.tracking(
        store=f"sqlite:///{home}/m.db",
        artifacts=str(home / "art"),
        tokens={WRITE_TOKEN: "write", READ_TOKEN: "read"},
    )
    url = srv.start()
    yield url
    srv.stop()


def test_tokens_and_scopes(token_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    url = token_server
    body = {"name": "e", "artifact_location": None, "tags": {}, "description": None}
    assert post(url, "/api/v1/create-experiment", body).status_code == 401
    wrong = post(url, "/api/v1/create-experiment", body, Authorization="Bearer " + "x" * 24)
    assert wrong.status_code == 401 and wrong.json()["error_code"] == "UNAUTHORIZED"
    read = post(url, "/api/v1/create-experiment", body, Authorization=f"Bearer {READ_TOKEN}")
    assert read.status_code == 403
    ok = post(url, "/api/v1/create-experiment", body, Authorization=f"Bearer {WRITE_TOKEN}")
    assert ok.status_code == 200, ok.text
    # a read token may search and get
    found = post(
        url, "/api/v1/get-experiment-by-name", {"name": "e"}, Authorization=f"Bearer {READ_TOKEN}"
    )
    assert found.status_code == 200 and found.json()["name"] == "e"
    assert httpx.get(url + "/health").status_code == 200  # probes need no token
    # the client sends MLCORE_TRACKING_TOKEN
    monkeypatch.setenv("MLCORE_TRACKING_TOKEN", WRITE_TOKEN)
    tracker = mlcore.Tracker(url)
    with tracker.start_run("with-token") as run:
        run.log_metric("m", 1.0)
    assert tracker.get_run(run.info.run_id).data.metrics == {"m": 1.0}
    tracker.close()


def test_without_tokens_only_loopback_is_served(tmp_path: Path) -> None:
    app = Server.tracking(store=f"sqlite:///{tmp_path}/m.db", artifacts=str(tmp_path / "a")).app
    with TestClient(app) as remote:  # TestClient's client address is not a loopback one
        refused = remote.post("/api/v1/search-experiments", json={"view": "active"})
        assert refused.status_code == 403
        assert "loopback" in refused.json()["message"]
        assert remote.get("/health").status_code == 200
    opened = Server.tracking(
        store=f"sqlite:///{tmp_path}/m.db", artifacts=str(tmp_path / "a"), allow_remote=True
    ).app
    with TestClient(opened, base_url="http://localhost") as remote:
        assert remote.post("/api/v1/search-experiments", json={"view": "active"}).status_code == 200


# -- limits ---------------------------------------------------------------------------------------
def test_oversized_bodies_are_refused(tmp_path: Path) -> None:
    srv = Server.tracking(
        store=f"sqlite:///{tmp_path}/m.db", artifacts=str(tmp_path / "a"), max_body_mb=1
    )
    url = srv.start()
    try:
        big = {"name": "x" * (2 * 1024 * 1024), "artifact_location": None, "tags": {}}
        response = post(url, "/api/v1/create-experiment", big)
        assert response.status_code == 413 and response.json()["error_code"] == "TOO_LARGE"

        def chunks():  # no Content-Length: counted as it streams
            for _ in range(3):
                yield b"x" * (1024 * 1024)

        streamed = httpx.post(
            url + "/api/v1/create-experiment",
            content=chunks(),
            headers={"Content-Type": "application/json"},
        )
        assert streamed.status_code == 413
        assert resolve_store(url).search_experiments() == []  # answers; nothing was created
    finally:
        srv.stop()


# -- path attacks (MLflow's CVE classes) --------------------------------------------------------
ATTACKS = [
    "../../../etc/passwd",
    "a/../../secret",
    "%2e%2e%2f%2e%2e%2fsecret",
    "%252e%252e%252fsecret",
    "..%5c..%5csecret",
    "a\\..\\..\\secret",
    "a;x=../../secret",
    "%2fetc%2fpasswd",
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_artifact_paths_that_escape_are_refused(
    server_url: str, attack: str, tmp_path: Path
) -> None:
    parts = urlsplit(server_url)
    outside = Path(str(tmp_path.parent)) / "secret"
    for method, body in (("PUT", b"pwned"), ("GET", None), ("DELETE", None)):
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        # http.client sends the path exactly as written (no dot-segment normalisation)
        conn.request(method, f"/api/v1/artifact-files/{attack}", body=body)
        response = conn.getresponse()
        payload = response.read()
        conn.close()
        assert response.status in (400, 404), (method, attack, payload)
        assert b"pwned" not in payload
    assert not outside.exists()
    assert not Path("/etc/passwd.pwned").exists()


@pytest.mark.parametrize(
    "source",
    [
        "file:///etc/passwd",
        "/etc/passwd",
        "relative/path",
        "s3://someone-elses-bucket/model",
        "http://evil.example/other/model",
        "http://127.0.0.1:1/api/v1/artifact-files/../../etc",
        "http://127.0.0.1:1/api/v1/artifact-files/%252e%252e%252fetc",
        "http://127.0.0.1:1/api/v1/artifact-files/a;b/../../etc",
    ],
)
def test_model_version_sources_outside_the_root_are_refused(server_url: str, source: str) -> None:
    response = post(
        server_url,
        "/api/v1/create-model-version",
        {"name": "m-src", "source": source, "run_id": None, "tags": {}, "description": None,
         "manifest_sha256": None, "user": None},
    )  # fmt: skip
    assert response.status_code == 400, response.text
    assert response.json()["field"] in ("source", "path")
    versions = post(server_url, "/api/v1/search-model-versions", {"filter": "name = 'm-src'"})
    assert versions.json()["items"] == []


def test_artifact_locations_stay_on_the_server(server_url: str, tmp_path: Path) -> None:
    store = resolve_store(server_url)
    with pytest.raises(InvalidInputError):
        store.create_experiment("escape", artifact_location=str(tmp_path))
    exp = store.create_experiment("inside")
    assert exp.artifact_location.startswith(server_url + "/api/v1/artifact-files/")
    assert str(tmp_path) not in exp.artifact_location


# -- faults ---------------------------------------------------------------------------------------
def test_a_client_that_disconnects_mid_upload_leaves_nothing(server_url: str) -> None:
    parts = urlsplit(server_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.putrequest("PUT", "/api/v1/artifact-files/partial/dropped.bin")
    conn.putheader("Content-Length", str(10 * 1024 * 1024))
    conn.endheaders()
    conn.send(b"x" * (1024 * 1024))
    conn.close()  # gone after 1 of 10 MiB
    time.sleep(0.5)
    store = mlcore.artifacts.resolve_artifact_store(server_url + "/api/v1/artifact-files")
    assert not store.exists("partial/dropped.bin")
    assert store.list("partial") == []


def test_resumable_upload_of_a_large_file(
    server_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlcore.artifacts import http as http_artifacts

    monkeypatch.setattr(http_artifacts, "RESUMABLE_THRESHOLD", 1024 * 1024)
    monkeypatch.setattr(http_artifacts, "UPLOAD_PART", 256 * 1024)
    data = os.urandom(3 * 1024 * 1024 + 17)
    local = tmp_path / "big.bin"
    local.write_bytes(data)
    store = mlcore.artifacts.resolve_artifact_store(server_url + "/api/v1/artifact-files/big")
    info = store.put_file(local, "big.bin")
    assert info.size == len(data)
    assert store.get_bytes("big.bin") == data


def test_two_clients_registering_versions_at_once_get_unique_numbers(server_url: str) -> None:
    numbers: list[int] = []
    lock = threading.Lock()

    def register() -> None:
        store = resolve_store(server_url)
        for _ in range(10):
            v = store.create_model_version("contended", "runs:/" + "a" * 32 + "/model")
            with lock:
                numbers.append(v.version)

    threads = [threading.Thread(target=register) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(numbers) == list(range(1, 21))


def test_a_retried_create_is_applied_once(server_url: str) -> None:
    body = {"name": "retried", "source": "runs:/" + "b" * 32 + "/model", "run_id": None,
            "tags": {}, "description": None, "manifest_sha256": None, "user": None}  # fmt: skip
    first = post(server_url, "/api/v1/create-model-version", body, **{"Idempotency-Key": "k1"})
    again = post(server_url, "/api/v1/create-model-version", body, **{"Idempotency-Key": "k1"})
    assert first.json()["version"] == again.json()["version"] == 1
    other = post(server_url, "/api/v1/create-model-version", body, **{"Idempotency-Key": "k2"})
    assert other.json()["version"] == 2


@pytest.mark.slow
def test_server_restarted_while_a_client_logs_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    port = free_port()
    db = f"sqlite:///{tmp_path}/m.db"

    def start() -> object:
        import subprocess
        import sys

        proc = subprocess.Popen(
            [sys.executable, "-m", "mlcore", "server", "--store", db, "--artifacts",
             str(tmp_path / "art"), "--port", str(port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_port(port, 60)
        return proc

    server = start()
    url = f"http://127.0.0.1:{port}"
    import subprocess
    import sys

    code = f"""
import time, mlcore, json
t = mlcore.Tracker({url!r})
run = t.start_run("restart")
print("started", flush=True)
for i in range(3000):
    run.log_metric("m", float(i), step=i)
    if i % 100 == 0:
        time.sleep(0.02)
run.end()
t.close()
print(json.dumps(run.info.run_id))
"""
    logger = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "MLCORE_FLUSH_INTERVAL": "0.01"},
    )  # fmt: skip
    # restart once the client is logging (not while a loaded machine still starts its
    # interpreter: then start_run itself would meet the stopped server)
    assert logger.stdout is not None
    assert logger.stdout.readline().strip() == "started"
    time.sleep(0.1)
    server.terminate()  # type: ignore[attr-defined]
    server.wait(30)  # type: ignore[attr-defined]
    time.sleep(1.0)
    server = start()
    try:
        out, err = logger.communicate(timeout=120)
        assert logger.returncode == 0, err
        run_id = json.loads(out.strip().splitlines()[-1])
        history = resolve_store(url).metric_history(run_id, "m")
        assert history.column("step").to_pylist() == list(range(3000))
    finally:
        server.terminate()  # type: ignore[attr-defined]
        server.wait(30)  # type: ignore[attr-defined]
