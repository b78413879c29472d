"""Issue 15 item 7: the server keeps to its OpenAPI description, and long non-ASCII artifact
names are measured in the unit the stores hold (characters of the decoded path)."""

from __future__ import annotations

from pathlib import Path

import pytest

import mlcore
from mlcore.errors import InvalidInputError

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
