"""Handing a step to an executor and reading back what its worker reported.

The request goes in the task's payload (``mlcore.pipeline.worker.run_payload``) and, for an
executor that runs commands (containers), in a file of the step run that
``python -m mlcore.pipeline.worker`` reads; such a worker leaves its result in the step run
too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlcore.executors import Executor, StepHandle, StepOutcome, StepTask
from mlcore.pipeline import worker
from mlcore.pipeline.spec import ComponentSpec
from mlcore.pipeline.worker import ArtifactRef, StepRequest, StepResultData

__all__ = ["Refused", "reported_result", "step_request", "submit_step"]


def step_request(
    step: str,
    run: Mapping[str, Any],
    component: ComponentSpec,
    parameters: dict[str, Any],
    artifacts: dict[str, ArtifactRef],
    *,
    tracking_uri: str,
    status: dict[str, Any] | None,
    persist: bool,
) -> StepRequest:
    """What the worker needs to run a step; stored with the step run when ``persist`` (a
    container reads it with the step run's id)."""
    request = StepRequest(
        step_name=step,
        tracking_uri=tracking_uri,
        run=dict(run),
        component=component,
        parameters=parameters,
        input_artifacts=artifacts,
        status=status,
        persist_result=persist,
    )
    if persist:
        from mlcore.artifacts import resolve_artifact_store

        resolve_artifact_store(request.run["artifact_uri"]).put_bytes(
            request.model_dump_json().encode(), worker.REQUEST_FILE
        )
    return request


def submit_step(
    executor: Executor,
    request: StepRequest,
    *,
    run_id: str,
    attempt: int,
    tracking_uri: str,
    pipeline_run_id: str,
    hold: bool = False,
) -> StepHandle:
    """Submit one attempt of a step (``hold``: with :meth:`Executor.hold`); a step the
    executor refuses is a failed attempt (a :class:`Refused` handle)."""
    component = request.component
    request.attempt = attempt
    task = StepTask(
        id=f"{run_id[:12]}-{attempt}",
        name=request.step_name,
        function=worker.run_payload,
        payload=request.model_dump_json().encode(),
        command=[
            "python",
            "-m",
            "mlcore.pipeline.worker",
            "--step-run",
            run_id,
            "--attempt",
            str(attempt),
            "--tracking-uri",
            tracking_uri,
        ],
        timeout=component.timeout,
        image=component.image,
        resources=dict(component.resources),
        env=_step_env(component),
        labels={
            "mlcore/pipeline-run": pipeline_run_id,
            "mlcore/step-run": run_id,
            "mlcore/attempt": str(attempt),
        },
    )
    try:
        return executor.hold(task) if hold else executor.submit(task)
    except Exception as exc:  # the executor refused it: a failed attempt
        return Refused(task, f"the {executor.name} executor refused the step: {exc}")


def _step_env(component: ComponentSpec) -> dict[str, str]:
    """The step's environment; a container component's worker runs inside the component's
    own image, so its command runs there as on a host."""
    env = dict(component.env)
    if component.container is not None:
        env.setdefault("MLCORE_CONTAINER_RUNTIME", "host")
    return env


def reported_result(
    outcome: StepOutcome, run: Mapping[str, Any] | None, attempt: int
) -> StepResultData | None:
    """What the worker reported for this attempt (None if it reported nothing): the
    outcome's value, else the result a container wrote next to the step run."""
    if outcome.value is not None:
        return StepResultData.model_validate_json(outcome.value)
    if outcome.status in ("succeeded", "failed") and run is not None:
        from mlcore.artifacts import resolve_artifact_store

        try:  # a container: read what the worker wrote next to the step run
            raw = resolve_artifact_store(run["artifact_uri"]).get_bytes(worker.result_file(attempt))
            return StepResultData.model_validate_json(raw)
        except Exception:
            return None
    return None


class Refused(StepHandle):
    """A step the executor would not take (e.g. the API server rejected its manifest)."""

    def __init__(self, task: StepTask, error: str) -> None:
        super().__init__(task)
        self.error = error

    def done(self) -> bool:
        return True

    def outcome(self) -> StepOutcome:
        return StepOutcome("rejected", error=self.error)

    def cancel(self) -> None:
        pass
