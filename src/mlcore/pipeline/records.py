"""What a step run records: its tags and params when it starts, its status, attempts and
error when it ends, the cause of a failure its worker could not report, and how a resumed
pipeline run finds the steps that already succeeded."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mlcore.executors import StepOutcome
from mlcore.pipeline import worker
from mlcore.pipeline.cache import CACHE_TAG
from mlcore.pipeline.worker import ArtifactRef
from mlcore.tracking.bulk_runs import RunEnd, RunSpec

if TYPE_CHECKING:
    from mlcore.stores import MetadataStore
    from mlcore.types import Run

__all__ = [
    "PIPELINE_TAG",
    "STEP_TAG",
    "note_failure",
    "param_text",
    "step_end",
    "step_run",
    "succeeded_steps",
]

STEP_TAG = "mlcore.pipeline.step"
PIPELINE_TAG = "mlcore.pipeline.name"
COMPONENT_TAG = "mlcore.pipeline.component"
MAX_PARAM_LENGTH = 500
#: A step's status as its run's status.
_RUN_STATUS = {"SUCCEEDED": "FINISHED", "SKIPPED": "KILLED"}


def step_run(
    name: str,
    component: str,
    key: str,
    parameters: Mapping[str, Any],
    artifacts: Mapping[str, ArtifactRef],
    *,
    parent_run_id: str,
    heartbeat: bool,
) -> RunSpec:
    """The run of a step about to start: its step, component and cache key as tags, its
    inputs as params (artifacts by URI)."""
    params = {k: param_text(v) for k, v in parameters.items()}
    params.update({k: ref.uri for k, ref in artifacts.items()})
    return RunSpec(
        name=name,
        tags={STEP_TAG: name, COMPONENT_TAG: component, CACHE_TAG: key},
        params=params,
        parent_run_id=parent_run_id,
        heartbeat=heartbeat,
    )


def step_end(
    run_id: str,
    status: str,
    attempts: int,
    error: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> RunEnd:
    """How a step's run ends now: SUCCEEDED as FINISHED, SKIPPED as KILLED, with the step's
    status, attempts and error as tags."""
    all_tags = {
        **(tags or {}),
        "mlcore.pipeline.status": status,
        "mlcore.pipeline.attempts": str(attempts),
    }
    if error is not None:
        all_tags["mlcore.error"] = error[:5000]
    return RunEnd(run_id, _RUN_STATUS.get(status, status), time.time_ns() // 1_000_000, all_tags)


def note_failure(
    store: MetadataStore,
    run_id: str,
    artifact_uri: str,
    attempt: int,
    step: str,
    outcome: StepOutcome,
) -> None:
    """Append why an attempt failed to its log, where the step's logs are (for a worker that
    never reported); never raises."""
    from mlcore.artifacts import resolve_artifact_store

    try:
        artifacts = resolve_artifact_store(artifact_uri)
        name = worker.log_file(attempt)
        before = artifacts.get_bytes(name) if artifacts.exists(name) else b""
        text = f"\n[mlcore] attempt {attempt} of {step}: {outcome.status}: {outcome.error}\n"
        stored = artifacts.put_bytes(before + text.encode(), name)
        store.record_artifacts(run_id, [stored])
    except Exception:  # recording the cause must not hide the failure itself
        pass


def succeeded_steps(
    store: MetadataStore, experiment_id: str, pipeline_run_id: str
) -> dict[str, Run]:
    """Resuming: the step runs of the earlier attempt that succeeded, by step name (a step
    run again later counts by its latest run)."""
    children = store.search_runs(
        [experiment_id],
        f"attributes.parent_run_id = '{pipeline_run_id}'",
        ["attributes.start_time ASC"],
        max_results=50_000,
    )
    previous: dict[str, Run] = {}
    for child in children:
        step = child.data.tags.get(STEP_TAG)
        if step is None:
            continue
        if child.info.status.value == "FINISHED":
            previous[step] = child
        else:
            previous.pop(step, None)
    return previous


def param_text(value: Any) -> str:
    """An input value as a param: text, cut to ``MAX_PARAM_LENGTH``."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= MAX_PARAM_LENGTH else text[: MAX_PARAM_LENGTH - 3] + "..."
