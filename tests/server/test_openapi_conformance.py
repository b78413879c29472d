"""Issue 15 item 7: the server keeps to its OpenAPI description, and long non-ASCII artifact
names are measured in the unit the stores hold (characters of the decoded path)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
from starlette.testclient import TestClient

import mlcore
from mlcore._validation import (
    MAX_KEY_LENGTH,
    MAX_NAME_LENGTH,
    MAX_PARAM_VALUE_LENGTH,
    MAX_TAG_VALUE_LENGTH,
)
from mlcore.errors import InvalidInputError
from mlcore.server.tracking import ServerOptions, create_tracking_app
from mlcore.stores.artifact_versions_api import content_path, manifest_digest
from mlcore.types import ArtifactFile

EXPERIMENT = {"name": "e", "artifact_location": None, "tags": {}, "description": None}

# 300 characters (600 UTF-8 bytes, 1,800 characters percent-encoded), in segments a file system
# can name (255 bytes at most each)
LONG_NAME = "é" * 100 + "/" + "é" * 100 + "/" + "é" * 96 + ".txt"


def _long_names_round_trip(tracker: mlcore.Tracker) -> None:
    with tracker.start_run("long-names") as run:
        run.log_text("hello", LONG_NAME)
        # a path with one character over the limit, in segments a file system could hold
        over = "/".join(["é" * 100] * 10) + "/" + "é" * 15
        with pytest.raises(InvalidInputError, match="1025 characters long, longer than the 1024 "):
            run.log_text("x", over)
        with pytest.raises(InvalidInputError, match="bytes long in UTF-8, longer than the 255 "):
            run.log_text("x", "é" * 300 + ".txt")
    store = tracker.artifact_store(run.info.run_id)
    assert store.get_bytes(LONG_NAME) == b"hello"
    assert [f.path for f in store.list("é" * 100 + "/" + "é" * 100)] == [LONG_NAME]


def test_long_non_ascii_artifact_names_locally(tmp_path: Path) -> None:
    tracker = mlcore.Tracker(f"sqlite:///{tmp_path}/mlcore.db")
    try:
        _long_names_round_trip(tracker)
    finally:
        tracker.close()


def test_long_non_ascii_artifact_names_over_http(server_url: str) -> None:
    tracker = mlcore.Tracker(server_url)
    try:
        _long_names_round_trip(tracker)
    finally:
        tracker.close()


# -- the OpenAPI findings of the schemathesis run -------------------------------------------------
@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    options = ServerOptions(
        store=f"sqlite:///{tmp_path}/mlcore.db", artifacts=str(tmp_path / "artifacts")
    )
    with TestClient(
        create_tracking_app(options), base_url="http://localhost", client=("127.0.0.1", 4000)
    ) as c:
        yield c


def _run(client: TestClient) -> str:
    exp = client.post("/api/v1/create-experiment", json=EXPERIMENT).json()["experiment_id"]
    body = {"experiment_id": exp, "name": "r", "start_time": 1, "tags": {}, "parent_run_id": None,
            "config_json": "{}", "user": None, "alive_until": None, "run_id": None, "params": {}}  # fmt: skip
    run_id: str = client.post("/api/v1/create-run", json=body).json()["info"]["run_id"]
    return run_id


def test_a_405_names_the_methods_its_path_accepts(client: TestClient) -> None:
    for method, path, allowed in (
        ("GET", "/api/v1/create-experiment", {"POST"}),
        ("TRACE", "/version", {"GET"}),
        ("POST", "/health", {"GET"}),
        ("POST", "/api/v1/artifact-files/a.txt", {"GET", "HEAD", "PUT", "DELETE"}),
    ):
        response = client.request(method, path)
        assert response.status_code == 405, (method, path)
        assert response.json()["error_code"] == "METHOD_NOT_ALLOWED"
        assert set(response.headers["allow"].split(", ")) == allowed, (method, path)


def test_integer_fields_take_json_integers_only(client: TestClient) -> None:
    run_id = _run(client)
    refused = [
        ("/api/v1/update-run", {"run_id": run_id, "status": None, "end_time": False,
                                "name": None, "alive_until": None, "tags": {}}),
        ("/api/v1/heartbeat", {"run_ids": [run_id], "alive_until": True}),
        ("/api/v1/heartbeat", {"run_ids": [run_id], "alive_until": "5"}),
        ("/api/v1/log-metrics", {"points": [[run_id, "m", 1.0, 5, False]], "batch_id": None}),
        ("/api/v1/get-model-version", {"name": "m", "version": True}),
        ("/api/v1/record-artifacts", {"run_id": run_id,
                                      "files": [{"path": "a", "is_dir": False, "size": False}]}),
        ("/api/v1/create-runs", {"experiment_id": "1", "updates": [], "new_runs": [
            {"name": "x", "start_time": False}]}),
        ("/api/v1/search-runs", {"experiment_ids": ["1"], "max_results": True}),
    ]  # fmt: skip
    for path, body in refused:
        response = client.post(path, json=body)
        assert response.status_code == 400, (path, response.text)
        assert "integer" in response.json()["message"], response.json()
    # JSON integers are still integers, and what was refused left nothing behind
    point = [[run_id, "m", 1.0, 5, 7]]
    assert client.post("/api/v1/log-metrics", json={"points": point, "batch_id": None}).is_success
    assert client.post(
        "/api/v1/heartbeat", json={"run_ids": [run_id], "alive_until": 2**42}
    ).is_success
    # 2.0 is an integer to JSON Schema, so to the spec
    alive = {"run_ids": [run_id], "alive_until": 2.0**42}
    assert client.post("/api/v1/heartbeat", json=alive).is_success
    run = client.post("/api/v1/get-run", json={"run_id": run_id}).json()
    assert run["info"]["status"] == "RUNNING" and run["info"]["end_time"] is None
    history = client.post("/api/v1/metric-history", json={"run_id": run_id, "key": "m"})
    import pyarrow as pa

    table = pa.ipc.open_stream(history.content).read_all()
    assert table.column("step").to_pylist() == [7]


def _response_schema(spec: dict[str, Any], path: str) -> dict[str, Any]:
    schema = spec["paths"][path]["post"]["responses"]["200"]["content"]["application/json"]
    return {**schema["schema"], "components": spec["components"]}


def test_artifacts_of_run_answers_what_its_spec_declares(client: TestClient) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    run_id = _run(client)
    # the server records a version's files from the bytes it stores: upload them first
    sha = hashlib.sha256(b"abc").hexdigest()
    assert client.put(f"/api/v1/artifact-files/{content_path(sha)}", content=b"abc").is_success
    files = [ArtifactFile(path="x", sha256=sha, size=3)]
    version = {"name": "ds", "type": "dataset", "digest": manifest_digest(files),
               "description": None, "files": [f.model_dump() for f in files],
               "metadata": {"a": 1}, "producer_run_id": run_id, "aliases": []}  # fmt: skip
    assert client.post("/api/v1/create-artifact-version", json=version).is_success
    answer = client.post("/api/v1/artifacts-of-run", json={"run_id": run_id}).json()
    assert [[v["name"] for v in part] for part in answer] == [["ds"], []]
    schema = _response_schema(client.get("/openapi.json").json(), "/api/v1/artifacts-of-run")
    # a fixed-length list of lists, not a tuple's prefixItems (which schemathesis refuses)
    assert "prefixItems" not in schema and schema["minItems"] == schema["maxItems"] == 2
    jsonschema.Draft202012Validator(schema).validate(answer)


def test_the_spec_states_the_string_lengths_the_server_enforces(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]

    def limits(model: str, field: str) -> tuple[int | None, int | None]:
        prop = schemas[model]["properties"][field]
        prop = next((p for p in prop.get("anyOf", []) if p.get("type") == "string"), prop)
        return prop.get("minLength"), prop.get("maxLength")

    assert limits("CreateExperimentRequest", "name") == (1, MAX_NAME_LENGTH)
    assert limits("CreateRegisteredModelRequest", "name") == (1, MAX_NAME_LENGTH)
    assert limits("UpdateRunRequest", "name") == (1, MAX_NAME_LENGTH)
    assert limits("RenameExperimentRequest", "new_name") == (1, MAX_NAME_LENGTH)
    assert limits("CreateArtifactVersionRequest", "name") == (1, 128)
    assert limits("DeleteTagRequest", "key") == (1, MAX_KEY_LENGTH)
    assert limits("SetModelAliasRequest", "alias") == (1, 255)
    tags = schemas["SetTagsRequest"]["properties"]["tags"]
    assert tags["propertyNames"]["maxLength"] == MAX_KEY_LENGTH
    assert tags["additionalProperties"]["maxLength"] == MAX_TAG_VALUE_LENGTH
    params = schemas["LogParamsRequest"]["properties"]["params"]
    assert params["additionalProperties"]["maxLength"] == MAX_PARAM_VALUE_LENGTH
    # and the server's checks answer a longer one with a 400 naming the limit
    run_id = _run(client)
    for path, body in (
        ("/api/v1/create-experiment", {**EXPERIMENT, "name": "n" * (MAX_NAME_LENGTH + 1)}),
        ("/api/v1/set-tags", {"run_id": run_id, "tags": {"k" * (MAX_KEY_LENGTH + 1): "v"}}),
        ("/api/v1/log-params", {"run_id": run_id, "params": {"p": "v" * 8001}}),
    ):
        response = client.post(path, json=body)
        assert response.status_code == 400, response.text
        assert "characters" in response.json()["message"], response.json()


def test_the_spec_states_integer_ranges_and_control_free_names(client: TestClient) -> None:
    import re

    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    step = schemas["HeartbeatRequest"]["properties"]["alive_until"]
    assert (step["minimum"], step["exclusiveMaximum"]) == (-(2**63), 2**63)
    assert schemas["GetModelVersionRequest"]["properties"]["version"]["minimum"] == 1
    assert schemas["ArtifactRunsRequest"]["properties"]["version"]["minimum"] == -(2**63)
    pattern = schemas["CreateExperimentRequest"]["properties"]["name"]["pattern"]
    assert re.match(pattern, "exp é") and not re.match(pattern, "exp\x01")
    # the server refuses what the spec excludes
    assert (
        client.post("/api/v1/get-model-version", json={"name": "m", "version": 0}).status_code
        == 400
    )
    response = client.post("/api/v1/create-experiment", json={**EXPERIMENT, "name": "a\x01"})
    assert response.status_code == 400 and "control character" in response.json()["message"]
