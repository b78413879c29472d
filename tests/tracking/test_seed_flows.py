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
