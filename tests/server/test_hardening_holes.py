"""Issue 15 item 7: the tracking server's smaller holes, each a typed 4xx and never a wrong answer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from mlcore.server.tracking import ServerOptions, create_tracking_app


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
