"""What :meth:`Tracker.create_runs` and :meth:`Tracker.end_runs` take: runs started and
ended many at a time (a pipeline's steps, a sweep's trials)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["RunEnd", "RunSpec"]


@dataclass(frozen=True)
class RunSpec:
    """One run for :meth:`~mlcore.tracking.Tracker.create_runs`.

    Attributes:
        name: the run's name; a generated one when None.
        tags: its first tags.
        params: its params (any values; stored as text).
        config: a W&B-style config, kept as given and logged as params too. A run with a
            config is created in a transaction of its own.
        parent_run_id: the run it is nested under.
        run_id: its id (32 lower-case hex digits) instead of a random one; whoever creates
            it first has it (``AlreadyExistsError`` for the others).
        heartbeat: keep it alive with this process's heartbeat until it is ended, so that it
            reads CRASHED if the process dies. Off for a run ended right away.
    """

    name: str | None = None
    tags: Mapping[str, Any] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    config: Mapping[str, Any] | None = None
    parent_run_id: str | None = None
    run_id: str | None = None
    heartbeat: bool = True


@dataclass(frozen=True)
class RunEnd:
    """How :meth:`~mlcore.tracking.Tracker.end_runs` ends one run.

    Attributes:
        run_id: the run.
        status: FINISHED, FAILED or KILLED.
        end_time: in ms since the epoch; now when None.
        tags: set in the same transaction (a run never shows its final status without them).
    """

    run_id: str
    status: str = "FINISHED"
    end_time: int | None = None
    tags: Mapping[str, Any] = field(default_factory=dict)
