"""The ``mlflow`` client's multipart uploads, ``delete_experiment_tag``, and tokens and scopes on
MLflow's registry routes, against ``mlcore server``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlcore.server import Server
from mlcore.stores.sql.store import SqlStore
from tests.peers import peer_python, run_peer

WRITE_TOKEN = "w" * 24
READ_TOKEN = "r" * 24


@pytest.fixture(scope="module", autouse=True)
def _mlflow_venv() -> None:
    peer_python("mlflow")


@pytest.fixture(scope="module")
def token_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    home = tmp_path_factory.mktemp("scoped")
    srv = Server.tracking(
        store=f"sqlite:///{home}/mlcore.db",
        artifacts=str(home / "artifacts"),
        tokens={WRITE_TOKEN: "write", READ_TOKEN: "read"},
    )
    yield srv.start(), home
    srv.stop()


@contextlib.contextmanager
def _store(home: Path) -> Iterator[SqlStore]:
    """The server's own store, read directly (what any mlcore client would see)."""
    store = SqlStore(f"sqlite:///{home}/mlcore.db")
    try:
        yield store
    finally:
        store.close()


def _client(url: str, script: str, token: str | None, **env: str) -> object:
    full = {"MLFLOW_TRACKING_URI": url, **env}
    if token:
        full["MLFLOW_TRACKING_TOKEN"] = token
    return run_peer("mlflow", script, env=full)


def test_a_multipart_upload_stores_the_file_whole_and_records_it(
    token_server: tuple[str, Path],
) -> None:
    url, home = token_server
    got = _client(
        url,
        """
        import json, os, hashlib, tempfile, mlflow
        path = os.path.join(tempfile.mkdtemp(), "weights.bin")
        data = os.urandom(300_000) + b"tail"
        open(path, "wb").write(data)
        mlflow.set_experiment("mpu")
        with mlflow.start_run() as run:
            mlflow.log_artifact(path, "model")
        back = mlflow.artifacts.download_artifacts(run_id=run.info.run_id,
                                                   artifact_path="model/weights.bin")
        print(json.dumps({"run_id": run.info.run_id, "sha256": hashlib.sha256(data).hexdigest(),
                          "same": open(back, "rb").read() == data}))
        """,
        WRITE_TOKEN,
        MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD="true",
        MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE="1000",
        MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE="65536",  # 5 parts, sent in parallel
    )
    assert isinstance(got, dict) and got["same"]
    with _store(home) as store:  # recorded on the run with the stored bytes' sha256
        record = store.artifact_records(got["run_id"])["model/weights.bin"]
    assert (record.size, record.sha256) == (300_004, got["sha256"])
    assert not [p for p in (home / "artifacts").rglob("*") if ".p0" in p.name]  # no stray parts


def test_delete_experiment_tag(token_server: tuple[str, Path]) -> None:
    url, _ = token_server
    got = _client(
        url,
        """
        import json
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException
        client = MlflowClient()
        eid = client.create_experiment("tagged", tags={"team": "risk", "owner": "ana"})
        client.delete_experiment_tag(eid, "owner")
        try:
            client.delete_experiment_tag(eid, "owner")
            again = "deleted twice"
        except MlflowException as exc:
            again = exc.error_code
        print(json.dumps({"tags": client.get_experiment(eid).tags, "again": again}))
        """,
        WRITE_TOKEN,
    )
    assert got == {"tags": {"team": "risk"}, "again": "RESOURCE_DOES_NOT_EXIST"}
    with _store(token_server[1]) as store:
        experiment = store.get_experiment_by_name("tagged")
    assert experiment is not None and experiment.tags == {"team": "risk"}


REGISTRY_CALLS = """
import json
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
client = MlflowClient()
def code(call):
    try:
        call()
        return "ok"
    except MlflowException as exc:
        return exc.error_code
print(json.dumps({
    "search": code(lambda: client.search_registered_models()),
    "get": code(lambda: client.get_registered_model("scoped-model")),
    "versions": code(lambda: client.search_model_versions("name = 'scoped-model'")),
    "create": code(lambda: client.create_registered_model("made-by-reader")),
    "transition": code(lambda: client.transition_model_version_stage(
        "scoped-model", "1", "Production")),
}))
"""


def test_registry_routes_keep_tokens_and_scopes(token_server: tuple[str, Path]) -> None:
    url = token_server[0]
    setup = _client(
        url,
        """
        import json
        from mlflow import MlflowClient
        client = MlflowClient()
        client.create_registered_model("scoped-model")
        run = client.create_run(client.create_experiment("scoped"))
        client.create_model_version("scoped-model", f"runs:/{run.info.run_id}/m", run.info.run_id)
        print(json.dumps("ok"))
        """,
        WRITE_TOKEN,
    )
    assert setup == "ok"
    assert _client(url, REGISTRY_CALLS, READ_TOKEN) == {
        "search": "ok",
        "get": "ok",
        "versions": "ok",
        "create": "PERMISSION_DENIED",
        "transition": "PERMISSION_DENIED",
    }
    assert set(_client(url, REGISTRY_CALLS, None).values()) == {"UNAUTHENTICATED"}  # type: ignore[union-attr]
    with _store(token_server[1]) as store:
        version = store.get_model_version("scoped-model", 1)
    assert version.stage.value == "None"  # the reader's transition changed nothing
