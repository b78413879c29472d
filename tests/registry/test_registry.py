"""The Registry client: source validation, version references, concurrency."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import mlcore
from mlcore import Registry, Tracker
from mlcore.errors import InvalidInputError, NotFoundError
from mlcore.registry import parse_models_uri
from mlcore.types import ModelStage


class Doubler:
    def predict(self, data: object) -> object:
        return [2 * x for x in data]  # type: ignore[attr-defined]


@pytest.fixture
def tracker(tmp_path: Path) -> Tracker:
    tracker = Tracker(str(tmp_path / "store"))
    yield tracker
    tracker.close()


@pytest.fixture
def logged(tracker: Tracker) -> str:
    run = tracker.create_run("exp")
    return tracker.log_model(run.info.run_id, Doubler(), "model").model_uri


def test_register_and_resolve(tracker: Tracker, logged: str) -> None:
    registry = Registry(tracker=tracker)
    v1 = registry.create_version("doubler", logged, description="first")
    v2 = registry.create_version("doubler", logged)
    assert (v1.version, v2.version) == (1, 2)
    assert v1.run_id == logged.split("/")[1]
    assert v1.manifest_sha256 is not None
    assert v1.user is not None
    registry.transition_stage("doubler", 1, "Production")
    registry.set_alias("doubler", "champion", 2)
    assert registry.get_version("doubler", 1).version == 1
    assert registry.get_version("doubler", "2").version == 2
    assert registry.get_version("doubler", "@champion").version == 2
    assert registry.get_version("doubler", "production").version == 1
    assert registry.get_version("doubler", "latest").version == 2
    assert registry.resolve("models:/doubler@champion").version == 2
    assert registry.load_model("doubler", "@champion").predict([1, 2]) == [2, 4]
    with pytest.raises(NotFoundError, match="no version in stage Staging"):
        registry.get_version("doubler", "Staging")
    with pytest.raises(InvalidInputError, match="unknown stage"):
        registry.get_version("doubler", "Prod")
    # MLflow's names work for users moving over
    registry.transition_model_version_stage("doubler", 2, "Staging")
    registry.set_model_version_tag("doubler", 2, "k", "v")
    assert registry.get_model_version_by_alias("doubler", "champion").tags == {"k": "v"}
    latest = registry.get_latest_versions("doubler")
    assert [(v.stage, v.version) for v in latest] == [
        (ModelStage.STAGING, 2),
        (ModelStage.PRODUCTION, 1),
    ]
    assert [m.name for m in registry.search_models("name LIKE 'doub%'")] == ["doubler"]


@pytest.mark.parametrize(
    "source",
    [
        "/etc",
        "file:///etc",
        "file:///etc/passwd",
        "../../etc",
        "",
        "s3://someone-elses-bucket/model",
        "http://evil.example/model",
        "relative/path",
        "runs:/" + "0" * 32 + "/model",
        "runs:/nothex/model",
    ],
)
def test_sources_outside_the_store_are_refused(tracker: Tracker, logged: str, source: str) -> None:
    registry = Registry(tracker=tracker)
    with pytest.raises((InvalidInputError, NotFoundError)):
        registry.create_version("m", source)
    assert list(registry.search_models()) == []


def test_traversal_out_of_an_artifact_root_is_refused(tracker: Tracker, logged: str) -> None:
    registry = Registry(tracker=tracker)
    run_id = logged.split("/")[1]
    root = tracker.get_run(run_id).info.artifact_uri.rsplit("/", 2)[0]
    for source in (
        f"{root}/../../etc",
        f"{root}/1/%2e%2e/%2e%2e/x",
        f"{root}/1/{run_id}/..",
        f"runs:/{run_id}/../../etc",
        f"runs:/{run_id}/missing",
    ):
        with pytest.raises(InvalidInputError):
            registry.create_version("m", source)
    inside = registry.create_version("m", f"{root}/1/{run_id}/model")
    assert inside.source.endswith(f"/{run_id}/model")
    assert registry.load_model("models:/m/1").predict([3]) == [6]


def test_a_registered_model_name_is_checked_before_logging(tracker: Tracker) -> None:
    run = tracker.create_run("exp")
    with pytest.raises(InvalidInputError, match="model name"):
        tracker.log_model(run.info.run_id, Doubler(), "model", registered_model_name="a/b")
    assert tracker.list_artifacts(run.info.run_id) == []


def test_models_uris() -> None:
    assert parse_models_uri("models:/m/3").version == 3
    assert parse_models_uri("models:/m@champ").alias == "champ"
    assert parse_models_uri("models:/m/production").stage == "Production"
    assert parse_models_uri("models:/m/latest").latest
    for bad in (
        "models:/",
        "models:/m",
        "models:/m/3/x",
        "models:/m/0",
        "models:/m@latest",
        "runs:/x",
    ):
        with pytest.raises(InvalidInputError):
            parse_models_uri(bad)


def test_concurrent_registration_is_unique_and_gap_free(
    tmp_path: Path, logged: str, tracker: Tracker
) -> None:
    code = textwrap.dedent(
        f"""
        import mlcore
        registry = mlcore.Registry({str(tmp_path / "store")!r})
        for _ in range(10):
            registry.create_version("shared", {logged!r})
        """
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", code], env=dict(os.environ), stderr=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    for process in processes:
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
    numbers = [v.version for v in Registry(tracker=tracker).search_versions("name = 'shared'")]
    assert sorted(numbers) == list(range(1, 41))


@pytest.mark.postgres
def test_concurrent_registration_on_postgres(pg_url: str, tmp_path: Path) -> None:
    tracker = Tracker(pg_url, artifact_uri=str(tmp_path / "art"))
    run = tracker.create_run("exp")
    uri = tracker.log_model(run.info.run_id, Doubler(), "model").model_uri
    code = textwrap.dedent(
        f"""
        import mlcore
        registry = mlcore.Registry({pg_url!r})
        for _ in range(10):
            registry.create_version("shared", {uri!r})
        """
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", code], env=dict(os.environ), stderr=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    for process in processes:
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
    numbers = [v.version for v in Registry(tracker=tracker).search_versions("name = 'shared'")]
    assert sorted(numbers) == list(range(1, 41))
    tracker.close()


def test_fluent_register_model(tmp_path: Path) -> None:
    mlcore.set_tracking_uri(str(tmp_path / "fluent"))
    with mlcore.start_run():
        info = mlcore.log_model(Doubler(), "model")
    version = mlcore.register_model(
        info.model_uri, "credit-scoring-production", tags={"team": "risk"}
    )
    assert version.version == 1
    assert version.tags == {"team": "risk"}
    assert mlcore.load_model("models:/credit-scoring-production/1").predict([5]) == [10]


def test_a_registration_failing_midway_leaves_nothing(tmp_path: Path) -> None:
    """A fault after the version row was inserted rolls the whole registration back: no
    version appears and its number is not used up."""
    from mlcore.stores.sql import SqlStore

    class FailingTouch(SqlStore):
        fail = True

        @staticmethod
        def _touch_model(conn: object, model_pk: int) -> None:
            if FailingTouch.fail:
                raise OSError("disk full while updating the model")
            SqlStore._touch_model(conn, model_pk)  # type: ignore[arg-type]

    store = FailingTouch(f"sqlite:///{tmp_path}/r.db", artifact_uri=str(tmp_path / "art"))
    tracker = Tracker(store=store)
    run = tracker.create_run("exp")
    uri = tracker.log_model(run.info.run_id, Doubler(), "model").model_uri
    registry = Registry(tracker=tracker)
    with pytest.raises(mlcore.StoreError, match="disk full"):
        registry.create_version("m", uri)
    assert list(registry.search_versions()) == []
    assert list(registry.search_models()) == []  # the model row created on the way, too
    FailingTouch.fail = False
    assert registry.create_version("m", uri).version == 1
    tracker.close()


def test_a_source_in_a_runs_artifacts_records_that_run(tracker: Tracker, logged: str) -> None:
    registry = Registry(tracker=tracker)
    run_id = logged.split("/")[1]
    artifact_uri = tracker.get_run(run_id).info.artifact_uri
    version = registry.create_version("m", f"{artifact_uri}/model")
    assert version.run_id == run_id  # its lineage, as for runs:/
    assert registry.get_version("m", 1).run_id == run_id
    assert [v.version for v in tracker.store.model_versions_of_run(run_id)] == [1]
    # an explicit run id still wins, and a source under no run records none
    other = tracker.create_run("exp").info.run_id
    assert registry.create_version("m", f"{artifact_uri}/model", run_id=other).run_id == other


@pytest.mark.parametrize(
    "source",
    [
        "models:/m/1",
        "models:/m/latest",
        "models:/m@champion",
        "models:/m/%2e%2e",
        "models:/other/%2e%2e/1",
        "models:/other%2F1/1",
        "models:/other\\1/1",
        "models:/other/..",
    ],
)
def test_models_sources_that_are_not_plain_or_self_are_refused(
    tracker: Tracker, logged: str, source: str
) -> None:
    registry = Registry(tracker=tracker)
    registry.create_version("m", logged)
    registry.create_version("other", logged)
    with pytest.raises(InvalidInputError, match="source|models URI"):
        registry.create_version("m", source)
    with pytest.raises(InvalidInputError, match="source|models URI"):  # the store refuses too
        tracker.store.create_model_version("m", source)
    assert [v.version for v in registry.search_versions("name = 'm'")] == [1]


def test_a_chain_of_models_sources_is_bounded(tracker: Tracker, logged: str) -> None:
    store = tracker.store
    store.create_model_version("m0", logged)
    for i in range(1, 13):  # m12 -> m11 -> ... -> m0 -> the logged model
        store.create_model_version(f"m{i}", f"models:/m{i - 1}/1")
    assert tracker.load_model("models:/m9/1").predict([1]) == [2]  # 10 references: followed
    with pytest.raises(InvalidInputError, match="chain of more than 10"):
        tracker.load_model("models:/m12/1")
    # two models naming each other: refused at load, not followed into a RecursionError
    store.create_model_version("a", logged)
    store.create_model_version("b", "models:/a/latest")
    store.create_model_version("a", "models:/b/1")
    with pytest.raises(InvalidInputError, match="chain of more than 10"):
        tracker.load_model("models:/a/latest")
