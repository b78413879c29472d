"""Versioned artifacts (W&B Artifacts) and lineage, as users write them."""

from __future__ import annotations

from pathlib import Path

import pytest

import mlcore
from mlcore.errors import IntegrityError, InvalidInputError, NotFoundError
from mlcore.tracking.artifact_versions import content_path


@pytest.fixture(autouse=True)
def home(tmp_path: Path) -> None:
    mlcore.set_tracking_uri(str(tmp_path / "store"))


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_the_seed_document_flow(tmp_path: Path) -> None:
    data = write(tmp_path / "data" / "processed.csv", "a,b\n1,2\n")
    with mlcore.start_run(name="process-data") as producer:
        processed = mlcore.Artifact(
            "processed-dataset",
            type="dataset",
            description="Cleaned and preprocessed customer data",
        )
        processed.add_file(data)
        mlcore.log_artifact(processed)
    assert processed.qualified_name == "processed-dataset:v0"
    with mlcore.start_run(name="train") as consumer:
        artifact = mlcore.use_artifact("processed-dataset:v0")
        path = artifact.download(tmp_path / "dl")
        assert (Path(path) / "processed.csv").read_text() == "a,b\n1,2\n"
        model_file = write(tmp_path / "model.pkl", "weights")
        trained = mlcore.Artifact(name="trained-model", type="model")
        trained.add_file(model_file)
        mlcore.log_artifact(trained, aliases=["candidate"])

    graph = mlcore.get_tracker().lineage("processed-dataset:v0")
    relations = {(e.source, e.relation, e.target) for e in graph.edges}
    assert (producer.id, "produced", "processed-dataset:v0") in relations
    assert ("processed-dataset:v0", "used", consumer.id) in relations
    assert (consumer.id, "produced", "trained-model:v0") in relations
    assert {n.kind for n in graph.nodes} == {"run", "artifact"}
    assert [n.id for n in graph.consumers("processed-dataset:v0")] == [consumer.id]
    upstream = mlcore.get_tracker().lineage("trained-model:candidate")
    assert upstream.root == "trained-model:v0"
    assert producer.id in {n.id for n in upstream.nodes}


def test_versions_are_content_addressed_and_deduplicated(tmp_path: Path) -> None:
    tracker = mlcore.get_tracker()
    big = write(tmp_path / "big.bin", "x" * 100_000)
    small = write(tmp_path / "small.txt", "v1")
    with mlcore.start_run() as run:
        first = mlcore.Artifact("ds", "dataset")
        first.add_file(big)
        first.add_file(small)
        run.log_artifact(first)
        same = mlcore.Artifact("ds", "dataset")
        same.add_file(big)
        same.add_file(small)
        run.log_artifact(same)
        write(small, "v2")
        changed = mlcore.Artifact("ds", "dataset")
        changed.add_file(big)
        changed.add_file(small)
        run.log_artifact(changed)
    assert (first.qualified_name, same.qualified_name, changed.qualified_name) == (
        "ds:v0",
        "ds:v0",
        "ds:v1",
    )
    store = tracker.artifact_store(run.id).__class__(tracker.store.default_artifact_root)
    stored = [f.path for f in store.walk("_content")]
    assert len(stored) == 3  # big once, small twice
    big_sha = next(f.sha256 for f in changed.files if f.path == "big.bin")
    assert store.exists(content_path(big_sha or ""))
    assert tracker.artifact("ds:v0").files[1].size == 2


def test_directories_references_and_metadata(tmp_path: Path) -> None:
    write(tmp_path / "tree" / "a.txt", "a")
    write(tmp_path / "tree" / "sub" / "b.txt", "b")
    external = write(tmp_path / "external" / "ref.csv", "ref")
    with mlcore.start_run():
        artifact = mlcore.Artifact("bundle", "dataset", metadata={"rows": 2})
        artifact.add_dir(tmp_path / "tree", name="tree")
        artifact.add_reference(external.as_uri())
        mlcore.log_artifact(artifact)
    logged = mlcore.get_tracker().artifact("bundle:latest")
    assert [f.path for f in logged.files] == ["ref.csv", "tree/a.txt", "tree/sub/b.txt"]
    assert logged.metadata == {"rows": 2}
    reference = logged.files[0]
    assert reference.ref == external.as_uri()
    assert reference.sha256 is not None
    target = Path(logged.download(tmp_path / "out"))
    assert (target / "tree" / "sub" / "b.txt").read_text() == "b"
    assert (target / "ref.csv").read_text() == "ref"
    external.write_text("changed behind our back")
    with pytest.raises(IntegrityError):
        logged.download(tmp_path / "out2")


def test_bad_input_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    data = write(tmp_path / "d.csv", "x")
    with pytest.raises(InvalidInputError):
        mlcore.Artifact("bad name", "dataset")
    artifact = mlcore.Artifact("ds", "dataset")
    with pytest.raises(InvalidInputError):
        artifact.add_file(data, name="../../escape.csv")
    with pytest.raises(NotFoundError):
        artifact.add_file(tmp_path / "missing.csv")
    with pytest.raises(InvalidInputError):
        artifact.add_reference("not-a-uri")
    with mlcore.start_run():
        with pytest.raises(InvalidInputError, match="no files"):
            mlcore.log_artifact(artifact)
        artifact.add_file(data)
        mlcore.log_artifact(artifact)
        with pytest.raises(InvalidInputError, match="cannot change"):
            artifact.add_file(data, name="more.csv")
        other_type = mlcore.Artifact("ds", "model")
        other_type.add_file(data, name="other.csv")
        with pytest.raises(InvalidInputError, match="type"):
            mlcore.log_artifact(other_type)
        with pytest.raises(NotFoundError):
            mlcore.use_artifact("ds:v9")
        with pytest.raises(NotFoundError):
            mlcore.use_artifact("nothing:latest")
    assert [v.version for v in mlcore.get_tracker().store.list_artifact_versions("ds")] == [0]


def test_lineage_includes_models_and_runs(tmp_path: Path) -> None:
    data = write(tmp_path / "d.csv", "x")

    class Model:
        def predict(self, rows: object) -> object:
            return rows

    with mlcore.start_run() as prep:
        artifact = mlcore.Artifact("ds", "dataset")
        artifact.add_file(data)
        mlcore.log_artifact(artifact)
    with mlcore.start_run() as train:
        mlcore.use_artifact("ds:latest")
        mlcore.log_model(Model(), "model", registered_model_name="m")
    graph = mlcore.get_tracker().lineage("models:/m/1")
    ids = {n.id for n in graph.nodes}
    assert ids == {"models:/m/1", train.id, "ds:v0", prep.id}
    assert {n.kind for n in graph.nodes} == {"model", "run", "artifact"}
    from_run = mlcore.get_tracker().lineage(f"runs:/{prep.id}")
    assert "models:/m/1" in {n.id for n in from_run.nodes}
    shallow = mlcore.get_tracker().lineage(prep.id, depth=1)
    assert {n.id for n in shallow.nodes} == {prep.id, "ds:v0"}


def test_a_recorded_digest_is_never_answered_with_other_files(tmp_path: Path) -> None:
    tracker = mlcore.get_tracker()
    data = write(tmp_path / "d.csv", "real bytes")
    with mlcore.start_run():
        artifact = mlcore.Artifact("ds", "dataset")
        artifact.add_file(data)
        mlcore.log_artifact(artifact, aliases=["good"])
    logged = tracker.artifact("ds:v0")
    recorded = logged.files[0]
    forged = recorded.model_copy(update={"sha256": "0" * 64, "size": 3})
    store = tracker.store
    with pytest.raises(IntegrityError, match="recorded hashes never change"):
        store.create_artifact_version(  # type: ignore[attr-defined]
            "ds", "dataset", digest=logged.version.digest, files=[forged], aliases=["bad"]
        )
    again = tracker.artifact("ds:v0")
    assert again.files == [recorded]  # nothing changed: not the hash, not the aliases
    assert again.version.aliases == ["latest", "good"]
    assert Path(again.download(tmp_path / "out"), "d.csv").read_text() == "real bytes"
