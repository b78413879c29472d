"""The pytest plugin behind ``mlcore.testing``: assertion rewriting and fixtures.

Registered through the ``pytest11`` entry point, so installing mlcore makes its fixtures
available to any test suite. It imports nothing heavy until a fixture is used.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

__all__ = ["mlcore_home", "mlcore_tracker"]

pytest.register_assert_rewrite(
    "mlcore.testing.store_conformance",
    "mlcore.testing.tracking_conformance",
    "mlcore.testing.artifact_version_conformance",
    "mlcore.testing.artifact_conformance",
    "mlcore.testing.registry_conformance",
    "mlcore.testing.flavor_conformance",
    "mlcore.testing.executor_conformance",
)

if TYPE_CHECKING:
    from mlcore.tracking import Tracker


@pytest.fixture
def mlcore_tracker(tmp_path: Path) -> Iterator[Tracker]:
    """A :class:`mlcore.Tracker` on a fresh store in a temporary directory."""
    from mlcore.tracking import Tracker

    tracker = Tracker(str(tmp_path / "mlcore-store"))
    try:
        yield tracker
    finally:
        tracker.close()


@pytest.fixture
def mlcore_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point the fluent API at a fresh store for the duration of a test."""
    import mlcore
    from mlcore import _fluent

    home = tmp_path / "mlcore-home"
    monkeypatch.setenv("MLCORE_TRACKING_URI", str(home))
    previous = _fluent._state.tracking_uri
    mlcore.set_tracking_uri(str(home))
    try:
        yield home
    finally:
        while mlcore.active_run() is not None:
            mlcore.end_run()
        tracker = _fluent._state.tracker
        if tracker is not None:
            tracker.close()
        _fluent._state.tracker = None
        _fluent._state.tracking_uri = previous
        _fluent._state.experiment = None
