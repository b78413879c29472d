"""Found by trying the seed flows (issue 15, item 8): what a user coming from W&B or MLflow
does first works, and bad input gets a typed error that changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

import mlcore
from mlcore.errors import InvalidInputError

# -- start_run(tags=[...]): W&B-style tags ------------------------------------------------------


def test_fluent_start_run_takes_a_list_of_tags_as_wandb_does(tmp_path: Path) -> None:
    mlcore.set_tracking_uri(str(tmp_path / "store"))
    with mlcore.start_run(tags=["baseline", "resnet 50"]) as run:
        run_id = run.id
    tracker = mlcore.Tracker(str(tmp_path / "store"))
    tags = tracker.get_run(run_id).data.tags
    assert tags["baseline"] == "" and tags["resnet 50"] == ""
    found = tracker.search_runs(filter="tags.baseline IS NOT NULL")
    assert [r.info.run_id for r in found] == [run_id]
    tracker.close()


@pytest.mark.parametrize("tags", [("a", "b"), {"a", "b"}, frozenset({"a", "b"})])
def test_tracker_start_and_create_run_take_a_collection_of_tags(
    tmp_path: Path, tags: object
) -> None:
    tracker = mlcore.Tracker(str(tmp_path / "store"))
    created = tracker.create_run(tags=tags)  # type: ignore[arg-type]
    assert {"a": "", "b": ""}.items() <= created.data.tags.items()
    with tracker.start_run(tags=tags) as run:  # type: ignore[arg-type]
        pass
    assert {"a": "", "b": ""}.items() <= tracker.get_run(run.id).data.tags.items()
    tracker.close()


@pytest.mark.parametrize("tags", ["baseline", 3, [("a", "b")], ["ok", 7], b"raw", [None]])
def test_tags_that_are_neither_a_mapping_nor_strings_are_refused_naming_tags(
    tmp_path: Path, tags: object
) -> None:
    tracker = mlcore.Tracker(str(tmp_path / "store"))
    with pytest.raises(InvalidInputError, match="tags") as caught:
        tracker.create_run(tags=tags)  # type: ignore[arg-type]
    assert caught.value.field == "tags"
    with pytest.raises(InvalidInputError, match="tags"):
        tracker.start_run(tags=tags)  # type: ignore[arg-type]
    mlcore.set_tracking_uri(str(tmp_path / "store"))
    with pytest.raises(InvalidInputError, match="tags"):
        mlcore.start_run(tags=tags)  # type: ignore[arg-type]
    assert mlcore.active_run() is None
    assert tracker.search_runs() == []  # nothing was created
    tracker.close()


# -- log_dict of dict subclasses, tuples and numpy values ---------------------------------------


class Settings(dict):  # type: ignore[type-arg]
    """A user's dict subclass."""


def _nested() -> dict[str, object]:
    import collections

    import numpy as np

    counts: collections.defaultdict[str, int] = collections.defaultdict(int)
    counts["cats"] += 2
    return {
        "ordered": collections.OrderedDict([("b", 1), ("a", 2)]),
        "counts": counts,
        "mine": Settings(lr=0.1, sizes=(1, 2)),
        "np": {"f": np.float32(0.5), "i": np.int64(3), "b": np.bool_(True), "a": np.arange(3)},
        "list": [Settings(x=1), (2, 3)],
    }


_PLAIN = {
    "ordered": {"b": 1, "a": 2},
    "counts": {"cats": 2},
    "mine": {"lr": 0.1, "sizes": [1, 2]},
    "np": {"f": 0.5, "i": 3, "b": True, "a": [0, 1, 2]},
    "list": [{"x": 1}, [2, 3]],
}


@pytest.mark.parametrize("name", ["config.yaml", "config.yml", "config.json"])
def test_log_dict_of_dict_subclasses_and_numpy_values_writes_plain_data(
    tmp_path: Path, name: str
) -> None:
    import json

    import yaml

    mlcore.set_tracking_uri(str(tmp_path / "store"))
    with mlcore.start_run() as run:
        mlcore.log_dict(_nested(), name)
        mlcore.log_dict(Settings(top=1), "top-" + name)
    tracker = mlcore.Tracker(str(tmp_path / "store"))
    assert tracker.get_run(run.id).info.status == "FINISHED"
    text = Path(tracker.download_artifacts(run.id, name, str(tmp_path / "dl"))).read_text()
    loaded = json.loads(text) if name.endswith(".json") else yaml.safe_load(text)
    assert loaded == _PLAIN
    assert list(loaded["ordered"]) == ["b", "a"]  # order kept
    top = tracker.download_artifacts(run.id, "top-" + name, str(tmp_path / "dl2"))
    assert yaml.safe_load(Path(top).read_text()) == {"top": 1}
    tracker.close()


def test_log_dict_of_something_yaml_cannot_hold_is_refused_and_the_run_goes_on(
    tmp_path: Path,
) -> None:
    mlcore.set_tracking_uri(str(tmp_path / "store"))
    with mlcore.start_run() as run:
        with pytest.raises(InvalidInputError, match=r"bad\.yaml") as caught:
            mlcore.log_dict({"ok": 1, "handle": object()}, "bad.yaml")
        assert "handle" in str(caught.value)
        mlcore.log_metric("after", 1.0)
    tracker = mlcore.Tracker(str(tmp_path / "store"))
    assert tracker.get_run(run.id).info.status == "FINISHED"
    assert tracker.list_artifacts(run.id) == []  # nothing written
    tracker.close()


# -- lineage: ancestors and descendants, not everything connected -------------------------------


class _Model:
    def predict(self, rows: object) -> object:
        return rows


def test_lineage_of_a_model_holds_what_fed_it_and_not_what_came_later(tmp_path: Path) -> None:
    mlcore.set_tracking_uri(str(tmp_path / "store"))
    data = tmp_path / "d.csv"
    data.write_text("x")
    with mlcore.start_run(name="prep") as prep:
        v0 = mlcore.Artifact("ds", "dataset")
        v0.add_file(data)
        mlcore.log_artifact(v0)
    with mlcore.start_run(name="A") as run_a:
        mlcore.use_artifact("ds:v0")
        mlcore.log_model(_Model(), "model", registered_model_name="m1")
    data.write_text("y")
    with mlcore.start_run(name="B") as run_b:
        mlcore.use_artifact("ds:v0")
        v1 = mlcore.Artifact("ds", "dataset")
        v1.add_file(data)
        mlcore.log_artifact(v1)
        mlcore.log_model(_Model(), "model", registered_model_name="m2")
    assert v1.qualified_name == "ds:v1"
    tracker = mlcore.get_tracker()

    of_m1 = tracker.lineage("models:/m1/1")
    assert {n.id for n in of_m1.nodes} == {"models:/m1/1", run_a.id, "ds:v0", prep.id}
    relations = {(e.source, e.relation, e.target) for e in of_m1.edges}
    assert relations == {
        (prep.id, "produced", "ds:v0"),
        ("ds:v0", "used", run_a.id),
        (run_a.id, "produced", "models:/m1/1"),
    }

    of_v0 = tracker.lineage("ds:v0")  # its producer, and everything made from it
    assert {n.id for n in of_v0.nodes} == {
        "ds:v0", prep.id, run_a.id, "models:/m1/1", run_b.id, "ds:v1", "models:/m2/1",
    }  # fmt: skip

    of_v1 = tracker.lineage("ds:v1")  # v1 came from B, which used v0; A and m1 are siblings
    assert {n.id for n in of_v1.nodes} == {"ds:v1", run_b.id, "ds:v0", prep.id}

    of_a = tracker.lineage(run_a.id)
    assert {n.id for n in of_a.nodes} == {run_a.id, "ds:v0", prep.id, "models:/m1/1"}
