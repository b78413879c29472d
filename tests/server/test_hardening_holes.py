"""Issue 15 item 7: the tracking server's smaller holes, each a typed 4xx and never a wrong answer."""

from __future__ import annotations

import http.client
import json
import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from starlette.testclient import TestClient

from mlcore.errors import InvalidInputError, StoreError
from mlcore.server.tracking import ServerOptions, create_tracking_app
from mlcore.stores import resolve_store


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    options = ServerOptions(
        store=f"sqlite:///{tmp_path}/mlcore.db", artifacts=str(tmp_path / "artifacts")
    )
    app = create_tracking_app(options)
    with TestClient(app, base_url="http://localhost", client=("127.0.0.1", 4000)) as c:
        yield c


EXPERIMENT = {"name": "e", "artifact_location": None, "tags": {}, "description": None}


def _model(name: str) -> dict[str, object]:
    return {"name": name, "description": None, "tags": {}}


def test_an_idempotency_key_reused_on_another_route_or_body_is_refused(
    client: TestClient,
) -> None:
    key = {"Idempotency-Key": "same-key"}
    m, n = (_model(name) for name in "mn")
    model = client.post("/api/v1/create-registered-model", json=m, headers=key)
    assert model.status_code == 200 and model.json()["name"] == "m"
    again = client.post("/api/v1/create-registered-model", json=m, headers=key)
    assert again.status_code == 200 and again.json() == model.json()  # a retry is answered
    other_route = client.post("/api/v1/create-experiment", json=EXPERIMENT, headers=key)
    assert other_route.status_code == 422
    assert other_route.json()["error_code"] == "IDEMPOTENCY_KEY_REUSED"
    assert "create-registered-model" in other_route.json()["message"]
    other_body = client.post("/api/v1/create-registered-model", json=n, headers=key)
    assert other_body.status_code == 422
    assert other_body.json()["error_code"] == "IDEMPOTENCY_KEY_REUSED"
    # nothing was created by the refused requests
    assert client.post("/api/v1/get-experiment-by-name", json={"name": "e"}).json() is None
    assert client.post("/api/v1/get-registered-model", json={"name": "n"}).status_code == 404


def _run(client: TestClient) -> tuple[str, str]:
    exp = client.post("/api/v1/create-experiment", json=EXPERIMENT).json()["experiment_id"]
    body = {"experiment_id": exp, "name": "r", "start_time": 1, "tags": {}, "parent_run_id": None,
            "config_json": "{}", "user": None, "alive_until": None, "run_id": None, "params": {}}  # fmt: skip
    return exp, client.post("/api/v1/create-run", json=body).json()["info"]["run_id"]


def _post(client: TestClient, path: str, body: object) -> object:
    """POST ``body`` as JSON with ``\\uXXXX`` escapes (lone surrogates go over the wire)."""
    raw = json.dumps(body).encode()
    return client.post(path, content=raw, headers={"content-type": "application/json"})


def _assert_400_and_alive(client: TestClient, response: object, words: str, run_id: str) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error_code"] == "INVALID_INPUT" and words in body["message"], body
    # the connection (and server) still answers
    assert client.post("/api/v1/get-run", json={"run_id": run_id}).status_code == 200


def test_values_no_store_can_hold_are_400s(client: TestClient) -> None:
    _, run_id = _run(client)
    surrogate = _post(client, "/api/v1/create-experiment", dict(EXPERIMENT, name="bad\ud800"))
    _assert_400_and_alive(client, surrogate, "lone surrogate", run_id)
    for request in (
        ("/api/v1/log-params", {"run_id": run_id, "params": {"k\ud800": "v"}}),
        ("/api/v1/set-tags", {"run_id": run_id, "tags": {"k": "v\udfff"}}),
    ):
        _assert_400_and_alive(client, _post(client, *request), "lone surrogate", run_id)
    for big in (2**63, 2**64, -(2**63) - 1, 10**400):
        points = [[run_id, "loss", 1.0, 1, big]]
        response = client.post("/api/v1/log-metrics", json={"points": points, "batch_id": None})
        _assert_400_and_alive(client, response, "signed 64-bit range", run_id)
    points = [[run_id, "loss", 1.0, 1, 2**63 - 1]]
    ok = client.post("/api/v1/log-metrics", json={"points": points, "batch_id": None})
    assert ok.status_code == 200
    raw_big = b'{"run_id": "%s", "config": {"n": 1%s}, "params": {}}' % (
        run_id.encode(),
        b"0" * 400,
    )
    response = client.post(
        "/api/v1/update-run-config", content=raw_big, headers={"content-type": "application/json"}
    )
    _assert_400_and_alive(client, response, "signed 64-bit range", run_id)


@pytest.mark.parametrize("levels", [150, 10_000])
def test_deeply_nested_config_is_a_400(client: TestClient, levels: int) -> None:
    _, run_id = _run(client)
    raw = b'{"run_id": "%s", "params": {}, "config": %s1%s}' % (
        run_id.encode(),
        b'{"a": ' * levels,
        b"}" * levels,
    )
    response = client.post(
        "/api/v1/update-run-config", content=raw, headers={"content-type": "application/json"}
    )
    _assert_400_and_alive(client, response, "nested", run_id)


def test_a_filter_nested_500_deep_is_a_400(client: TestClient) -> None:
    exp, run_id = _run(client)
    body = {"experiment_ids": [exp], "filter": "(" * 500 + "metrics.a > 1" + ")" * 500}
    response = client.post("/api/v1/search-runs", json=body)
    _assert_400_and_alive(client, response, "nest deeper than 50 levels", run_id)


def test_bad_values_keep_a_kept_alive_connection_usable(server_url: str) -> None:
    """Over a real server: each bad request is a 400 and the same connection answers next."""
    conn = http.client.HTTPConnection(*urlsplit(server_url).netloc.split(":"))
    headers = {"Content-Type": "application/json"}

    def post(path: str, raw: bytes) -> tuple[int, dict[str, object]]:
        conn.request("POST", path, body=raw, headers=headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read())

    status, exp = post("/api/v1/create-experiment", json.dumps(EXPERIMENT).encode())
    assert status == 200
    search = {"experiment_ids": [exp["experiment_id"]], "filter": None}
    nested_filter = dict(search, filter="(" * 500 + "metrics.a > 1" + ")" * 500)
    deep = b'{"run_id": "%s", "params": {}, "config": %s1%s}' % (
        b"a" * 32,
        b'{"a": ' * 10_000,
        b"}" * 10_000,
    )
    for path, raw in (
        ("/api/v1/search-runs", json.dumps(nested_filter).encode()),
        ("/api/v1/create-experiment", json.dumps(dict(EXPERIMENT, name="x\ud800")).encode()),
        ("/api/v1/update-run-config", deep),
    ):
        status, body = post(path, raw)
        assert status == 400 and body["error_code"] == "INVALID_INPUT", body
        assert post("/api/v1/search-runs", json.dumps(search).encode())[0] == 200
    conn.close()


BAD_BATCH = {"a": "1", "b": "2", "bad\nkey": "3", "d": "4"}  # the third tag is invalid


def test_a_tag_batch_with_one_bad_tag_stores_none_of_it(tmp_path: Path) -> None:
    store = resolve_store(f"sqlite:///{tmp_path}/s.db", artifact_uri=str(tmp_path / "a"))
    exp = store.create_experiment("e").experiment_id
    store.create_registered_model("m")
    store.create_model_version("m", "runs:/" + "b" * 32 + "/model")
    with pytest.raises(InvalidInputError, match="tag key"):
        store.set_experiment_tags(exp, BAD_BATCH)
    with pytest.raises(InvalidInputError, match="tag key"):
        store.set_registered_model_tags("m", BAD_BATCH)
    with pytest.raises(InvalidInputError, match="tag key"):
        store.set_model_version_tags("m", 1, BAD_BATCH)
    assert store.get_experiment(exp).tags == {}
    assert store.get_registered_model("m").tags == {}
    assert store.get_model_version("m", 1).tags == {}
    store.set_experiment_tags(exp, {"a": "1", "b": "2"})
    assert store.get_experiment(exp).tags == {"a": "1", "b": "2"}
    store.close()


def test_a_tag_batch_over_http_is_all_or_nothing(client: TestClient) -> None:
    exp = client.post("/api/v1/create-experiment", json=EXPERIMENT).json()["experiment_id"]
    client.post("/api/v1/create-registered-model", json=_model("m"))
    for path, body, get in (
        ("set-experiment-tags", {"experiment_id": exp}, ("get-experiment", {"experiment_id": exp})),
        ("set-registered-model-tags", {"name": "m"}, ("get-registered-model", {"name": "m"})),
    ):
        refused = client.post(f"/api/v1/{path}", json=dict(body, tags=BAD_BATCH))
        assert refused.status_code == 400 and refused.json()["error_code"] == "INVALID_INPUT"
        assert client.post(f"/api/v1/{get[0]}", json=get[1]).json()["tags"] == {}


def test_error_messages_do_not_reveal_the_database_or_artifact_root(
    tmp_path: Path, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlcore.stores.sql.store import SqlStore

    _, run_id = _run(client)
    db, root = f"{tmp_path}/mlcore.db", str(tmp_path / "artifacts")

    def failing(*_: object, **__: object) -> None:
        raise StoreError(
            f"sqlite store sqlite:///{db}: disk I/O error writing {db}-wal under {root}"
        )

    monkeypatch.setattr(SqlStore, "_get_run", failing)
    failed = client.post("/api/v1/get-run", json={"run_id": run_id})
    assert failed.status_code == 503 and "disk I/O error" in failed.json()["message"]
    assert "<server store>" in failed.json()["message"]
    missing = client.get(f"/api/v1/artifact-files/1/{run_id}/artifacts/missing.txt")
    assert missing.status_code == 404
    for response in (failed, missing):
        assert str(tmp_path) not in response.text, response.text


def test_a_hard_link_in_a_logged_directory_is_skipped_like_a_symlink(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from mlcore.artifacts import resolve_artifact_store

    secret = tmp_path / "secret.txt"
    secret.write_text("outside")
    logged = tmp_path / "logged"
    logged.mkdir()
    (logged / "ok.txt").write_text("inside")
    os.link(secret, logged / "hard.txt")
    os.symlink(secret, logged / "soft.txt")
    store = resolve_artifact_store(str(tmp_path / "root"))
    with caplog.at_level("WARNING"):
        stored = store.put_dir(logged, "d")
    assert [f.path for f in stored] == ["d/ok.txt"]
    assert "hard link" in caplog.text and "link to outside" in caplog.text
