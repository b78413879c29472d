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
