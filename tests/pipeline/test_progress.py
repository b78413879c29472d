"""The live progress view of a running pipeline."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from mlcore.pipeline.progress import ProgressView
from mlcore.tracking import Tracker
from tests.pipeline import flows


def test_progress_view_shows_every_state(tmp_path: Path) -> None:
    out = io.StringIO()
    view = ProgressView(flows.branches.spec, console=Console(file=out, width=160))
    seen: list[tuple[str, str]] = []
    tracker = Tracker(str(tmp_path / "store"))
    try:
        with view:
            result = flows.branches.run(
                tracker=tracker, on_update=view.chain(lambda s: seen.append((s.name, s.status)))
            )
    finally:
        tracker.close()
    assert ("boom", "RUNNING") in seen
    assert ("boom", "FAILED") in seen
    assert ("double", "SKIPPED") in seen
    text = out.getvalue()
    assert "pipeline branches" in text
    for word in ("FAILED", "SKIPPED", "SUCCEEDED", "upstream step boom failed"):
        assert word in text
    assert "1 failed" in text and "1 skipped" in text and "2 succeeded" in text
    assert result.status == "FAILED"


def test_cached_and_retrying_steps_are_named_so(tmp_path: Path) -> None:
    where = tmp_path / "marks"
    where.mkdir()
    tracker = Tracker(str(tmp_path / "store"))
    try:
        flows.training.run(tracker=tracker)
        out = io.StringIO()
        view = ProgressView(flows.training.spec, console=Console(file=out, width=160))
        with view:
            flows.training.run(tracker=tracker, on_update=view.update)
        assert "CACHED" in out.getvalue()
        out = io.StringIO()
        view = ProgressView(flows.retrying.spec, console=Console(file=out, width=160))
        statuses: list[str] = []
        from mlcore.pipeline.progress import display_status

        def watch(step):  # type: ignore[no-untyped-def]
            view.update(step)
            statuses.append(display_status(step))

        with view:
            flows.retrying.run(
                {"where": str(where), "fail_times": 1}, tracker=tracker, on_update=watch
            )
        assert statuses == ["RUNNING", "RETRYING", "RUNNING", "SUCCEEDED"]
    finally:
        tracker.close()
