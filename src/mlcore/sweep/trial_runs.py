"""How a sweep's runs are marked and read: the tags of the sweep run and of its trial runs,
and a trial run's number, parameters and value of the sweep's metric."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

from mlcore.sweep.config import SweepConfig

if TYPE_CHECKING:
    from mlcore.types import Run

__all__ = [
    "ATTEMPT_TAG",
    "KIND_TAG",
    "SWEEP_TAG",
    "TRIAL_TAG",
    "best_run",
    "metric_value",
    "param_value",
    "trial_params",
]

KIND_TAG = "mlcore.sweep.kind"
SWEEP_TAG = "mlcore.sweep.id"
TRIAL_TAG = "mlcore.sweep.trial"
ATTEMPT_TAG = "mlcore.sweep.attempt"


def metric_value(config: SweepConfig, run: Run) -> float | None:
    """The run's value of the sweep's metric (None without a metric, or not finite)."""
    if config.metric is None:
        return None
    value = run.data.metrics.get(config.metric)
    return None if value is None or not math.isfinite(value) else float(value)


def best_run(config: SweepConfig, runs: list[Run]) -> Run | None:
    """The finished (or early-stopped) trial with the best value of the metric."""
    scored = [
        (v, r)
        for r in runs
        if r.info.status.value in ("FINISHED", "KILLED")
        and (v := metric_value(config, r)) is not None
    ]
    if not scored:
        return None
    best = max if config.maximize else min
    return best(scored, key=lambda item: item[0])[1]


def param_value(text: str | None) -> Any:
    """A param as the number or bool it was, else its text."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, (int, float, bool)) else text


def trial_params(config: SweepConfig, run: Run) -> dict[str, Any]:
    """The searched parameters a trial run has, by name."""
    return {
        s.name: param_value(run.data.params.get(s.name))
        for s in config.parameters
        if s.name in run.data.params
    }
