"""Plain records the tracking hooks take in batches: metric points, new runs, run changes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MetricPoint", "NewRun", "RunUpdate"]

#: One metric point as the batching writer hands it to a store:
#: ``(run_id, key, value, timestamp_ms, step)``.
MetricPoint = tuple[str, str, float, int, int]


@dataclass(frozen=True)
class NewRun:
    """One run of :meth:`TrackingStore.create_runs`."""

    name: str
    start_time: int
    tags: Mapping[str, Any] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    parent_run_id: str | None = None
    alive_until: int | None = None
    run_id: str | None = None


@dataclass(frozen=True)
class RunUpdate:
    """One change of :meth:`TrackingStore.update_runs`."""

    run_id: str
    status: str | None = None
    end_time: int | None = None
    tags: Mapping[str, Any] = field(default_factory=dict)
