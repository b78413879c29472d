"""What a pipeline run reports: :class:`StepInfo` for each step, :class:`PipelineResult` for
the whole run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["FINAL", "PipelineResult", "StepInfo"]

#: The statuses a step ends in.
FINAL = frozenset({"SUCCEEDED", "FAILED", "SKIPPED", "KILLED"})


@dataclass
class StepInfo:
    """One step of a pipeline run (one iteration, for steps in a ``for_each``).

    Attributes:
        status: PENDING, RUNNING, SUCCEEDED, FAILED, SKIPPED or KILLED.
        cached: the outputs were reused from an earlier run.
        run_id: the step's nested run.
        attempts: how many times it ran (0 when cached or skipped).
        outputs: parameter outputs by name (a return value under ``"Output"``) and artifact
            outputs as URIs.
        error: why it failed or was skipped.
    """

    name: str
    task: str
    index: int | None = None
    status: str = "PENDING"
    cached: bool = False
    run_id: str | None = None
    attempts: int = 0
    outputs: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    started: float | None = None
    ended: float | None = None

    @property
    def duration(self) -> float | None:
        if self.started is None or self.ended is None:
            return None
        return self.ended - self.started


@dataclass
class PipelineResult:
    """How a pipeline run went: ``status`` SUCCEEDED, FAILED or KILLED; ``steps`` by name."""

    name: str
    run_id: str
    status: str
    steps: dict[str, StepInfo]
    duration: float

    def __repr__(self) -> str:
        counts: dict[str, int] = {}
        for step in self.steps.values():
            counts[step.status] = counts.get(step.status, 0) + 1
        return f"<PipelineResult {self.name} {self.status} {counts}>"
