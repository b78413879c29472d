"""Fixtures: a real ``distributed.LocalCluster`` and a tracker per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mlcore.tracking import Tracker


@pytest.fixture
def cluster() -> Iterator[object]:
    """Two worker processes; a worker death fails the task at once (no silent rescheduling)."""
    distributed = pytest.importorskip("distributed")
    dask = pytest.importorskip("dask")
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            memory_limit="2GiB",
        )
        try:
            yield cluster
        finally:
            cluster.close()


@pytest.fixture
def tracker(tmp_path: Path) -> Iterator[Tracker]:
    with Tracker(str(tmp_path / "store")) as tracker:
        yield tracker
