"""The pipeline runner: walks the DAG and runs ready steps on an executor.

- A pipeline run is a run; each step (each iteration of a looped step) is a nested run with
  its input parameters as params, its outputs, its log and its status.
- Ready steps run concurrently, up to the executor's capacity and a loop's ``parallelism``.
  A step that would run alone (nothing else running or due) runs in the runner's thread
  when the executor allows it (``local``, no timeout): see ``Executor.hold``.
  Step runs are created, and ended, in batches: one transaction for all the steps that become
  ready (or end) together, which is what keeps a 1,000-step fan-out cheap on any store.
- A step is cached by the hash of its code, its input values and its input artifacts'
  sha256: a later run reuses the outputs (``step.cached``).
- A failed attempt is retried with exponential backoff while ``retries`` allow; a failed
  step skips its dependents but not independent branches (unless ``fail_fast``); exit
  handlers run whatever happened.
- Ctrl-C cancels running steps (KILLED) and ends the pipeline run KILLED.

This module is the scheduling loop. The steps and the values between them are in ``graph``,
caching in ``cache``, what a step run records in ``records``, handing a step to the executor
and reading its result in ``dispatch``; step runs are created and ended in bulk with
``Tracker.create_runs`` / ``end_runs``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlcore.errors import InvalidInputError
from mlcore.executors import Executor, StepHandle, StepOutcome, resolve_executor
from mlcore.pipeline import worker
from mlcore.pipeline.cache import (
    CACHE_TAG,
    cache_hit_tags,
    cache_key,
    find_cached,
    outputs_tag,
    reused_outputs,
    stored_outputs,
)
from mlcore.pipeline.dispatch import reported_result, step_request, submit_step
from mlcore.pipeline.graph import StepGraph, StepInstance
from mlcore.pipeline.records import (
    PIPELINE_TAG,
    note_failure,
    step_end,
    step_run,
    succeeded_steps,
)
from mlcore.pipeline.results import FINAL, PipelineResult, StepInfo
from mlcore.pipeline.spec import PipelineSpec
from mlcore.pipeline.worker import ArtifactRef, StepResultData

if TYPE_CHECKING:
    from mlcore.tracking import ActiveRun, Tracker
    from mlcore.tracking.bulk_runs import RunEnd

__all__ = ["PipelineResult", "PipelineRunner", "StepInfo"]


@dataclass
class _Prepared:
    instance: StepInstance
    parameters: dict[str, Any]
    artifacts: dict[str, ArtifactRef]
    key: str
    cacheable: bool


class PipelineRunner:
    """Runs a :class:`PipelineSpec` once. See :meth:`mlcore.pipeline.Pipeline.run`."""

    def __init__(
        self,
        spec: PipelineSpec,
        *,
        tracker: Tracker,
        executor: str | Executor = "local",
        executor_options: dict[str, Any] | None = None,
        cache: bool = True,
        fail_fast: bool = False,
        experiment: str | None = None,
        run_name: str | None = None,
        resume: str | None = None,
        on_update: Callable[[StepInfo], None] | None = None,
    ) -> None:
        self.spec = spec
        self.graph = StepGraph(spec)
        self.tracker = tracker
        self.store = tracker.store
        uri = tracker.tracking_uri
        if isinstance(executor, str) and executor != "local" and _in_memory(uri):
            raise InvalidInputError(
                f"the {executor} executor runs steps in other processes, which cannot see an "
                "in-memory store; use a file or server store",
                field="executor",
            )
        self.owns_executor = not isinstance(executor, Executor)
        self.executor = resolve_executor(executor, **(executor_options or {}))
        if self.executor.name != "local" and _in_memory(uri):
            raise InvalidInputError(
                f"the {self.executor.name} executor runs steps in other processes, which cannot "
                "see an in-memory store; use a file or server store",
                field="executor",
            )
        self.cache = cache
        self.fail_fast = fail_fast
        self.experiment = experiment or spec.name
        self.experiment_id = ""
        self.run_name = run_name or spec.name
        self.resume = resume
        self.previous: dict[str, Any] = {}
        self.on_update = on_update
        self.instances = self.graph.instances
        self.waiting = self.graph.waiting  # not started, or between attempts
        self.running: dict[int, StepInstance] = {}  # by id(handle)
        self.loop_running: dict[str, int] = {}
        self.expanded = self.graph.expanded
        self.arguments: dict[str, Any] = {}
        self.pipeline_run: ActiveRun | None = None
        self.started = time.monotonic()
        self.interrupted = False
        self.failed_fast = False
        self._ends: list[RunEnd] = []
        worker.register_tracker(tracker)

    # -- caching -------------------------------------------------------------------------------
    def _outputs_tag(self, instance: StepInstance) -> dict[str, str]:
        uri = instance.run_info["artifact_uri"] if instance.run_info is not None else None
        return outputs_tag(instance.values, instance.artifacts, uri)

    def _reuse(self, instance: StepInstance, stored: dict[str, Any]) -> None:
        instance.values, instance.artifacts = reused_outputs(stored)
        instance.info.cached = True
        instance.info.outputs = {
            **instance.values,
            **{k: v.uri for k, v in instance.artifacts.items()},
        }

    # -- recording -------------------------------------------------------------------------------
    def _update(self, instance: StepInstance) -> None:
        if self.on_update is not None:
            try:
                self.on_update(instance.info)
            except Exception:  # a progress display must not stop the pipeline
                pass

    def _finish(
        self,
        instance: StepInstance,
        status: str,
        error: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> None:
        """End a step; its run is ended with the next :meth:`_flush`."""
        info = instance.info
        info.status, info.ended = status, time.time()
        self.waiting.pop(info.name, None)
        if error is not None:
            info.error = error
        if info.run_id is not None:
            self._ends.append(step_end(info.run_id, status, info.attempts, error, tags))
        self._update(instance)

    def _flush(self) -> None:
        """End, in one transaction, the step runs that ended since the last flush."""
        if self._ends:
            ends, self._ends = self._ends, []
            self.tracker.end_runs(ends)

    # -- starting steps --------------------------------------------------------------------------
    def _prepare(self, instance: StepInstance) -> _Prepared | None:
        """Inputs and cache key of a step about to start; None if it ended here (bad
        input, or resumed from the earlier attempt)."""
        info = instance.info
        info.started = time.time()
        try:
            parameters, artifacts = self.graph.inputs(instance)
        except Exception as exc:
            self._finish(instance, "FAILED", f"cannot resolve its inputs: {exc}")
            return None
        key = cache_key(instance.component, parameters, artifacts)  # recorded even if not reused
        previous = self.previous.get(info.name)
        if previous is not None and previous.data.tags.get(CACHE_TAG) == key:
            stored = stored_outputs(previous)
            if stored is not None:  # resuming: this step already succeeded in this run
                self._reuse(instance, stored)
                info.run_id = previous.info.run_id
                info.status, info.ended = "SUCCEEDED", time.time()
                self.waiting.pop(info.name, None)
                self._update(instance)
                return None
        cacheable = self.cache and instance.component.cache and instance.task.exit_for is None
        return _Prepared(instance, parameters, artifacts, key, cacheable)

    def _start(self, instances: list[StepInstance]) -> None:
        """Start ``instances``: one lookup for their cache keys, one transaction for their
        runs, then reuse the cached ones and submit the rest."""
        assert self.pipeline_run is not None
        prepared = [p for p in map(self._prepare, instances) if p is not None]
        if not prepared:
            return
        hits = find_cached(self.store, self.experiment_id, [p.key for p in prepared if p.cacheable])
        specs = [
            step_run(
                item.instance.info.name,
                item.instance.component.name,
                item.key,
                item.parameters,
                item.artifacts,
                parent_run_id=self.pipeline_run.id,
                heartbeat=not (item.cacheable and item.key in hits),
            )
            for item in prepared
        ]
        # the steps that ended since the last flush are ended in the same transaction
        ends, self._ends = self._ends, []
        runs = self.tracker.create_runs(specs, experiment_id=self.experiment_id, end=ends)
        for item, run in zip(prepared, runs):
            instance, info = item.instance, item.instance.info
            info.run_id = run.info.run_id
            instance.run_info = run.info.model_dump(mode="json")
            hit = hits.get(item.key) if item.cacheable else None
            if hit is not None:
                self._reuse(instance, hit)
                uri = instance.run_info["artifact_uri"]
                tags = cache_hit_tags(hit, instance.values, instance.artifacts, uri)
                self._finish(instance, "SUCCEEDED", tags=tags)
                continue
            self._request(item)
            self._submit(instance)

    def _request(self, item: _Prepared) -> None:
        instance, info = item.instance, item.instance.info
        status = None
        if any(p.kind == "status" for p in instance.component.inputs):
            failed = [i.info.name for i in self.instances.values() if i.info.status == "FAILED"]
            status = {
                "state": "FAILED" if failed else "SUCCEEDED",
                "failed_steps": failed,
                "pipeline_run_id": self.pipeline_run.id if self.pipeline_run else "",
            }
        instance.request = step_request(
            info.name,
            instance.run_info or {},
            instance.component,
            item.parameters,
            item.artifacts,
            tracking_uri=self.tracker.tracking_uri,
            status=status,
            persist=bool(getattr(self.executor, "runs_commands", False)),
        )

    def _submit(self, instance: StepInstance) -> None:
        info = instance.info
        info.attempts += 1
        info.status = "RUNNING"
        self.waiting.pop(info.name, None)
        assert instance.request is not None
        handle = submit_step(
            self.executor,
            instance.request,
            run_id=info.run_id or "",
            attempt=info.attempts,
            tracking_uri=self.tracker.tracking_uri,
            pipeline_run_id=self.pipeline_run.id if self.pipeline_run else "",
            hold=True,
        )
        instance.handle = handle
        self.running[id(handle)] = instance
        if instance.task.loop is not None:
            self.loop_running[instance.task.loop] = self.loop_running.get(instance.task.loop, 0) + 1
        self._update(instance)

    # -- ending steps ----------------------------------------------------------------------------
    def _release(self, instance: StepInstance) -> StepHandle:
        handle = instance.handle
        assert handle is not None
        instance.handle = None
        self.running.pop(id(handle), None)
        if instance.task.loop is not None:
            self.loop_running[instance.task.loop] -= 1
        return handle

    def _completed(self, instance: StepInstance) -> None:
        outcome = self._release(instance).outcome()
        reported = reported_result(outcome, instance.run_info, instance.info.attempts)
        result = reported or StepResultData(
            ok=False,
            error=outcome.error
            or ("the step reported no result" if outcome.ok else f"attempt {outcome.status}"),
        )
        info = instance.info
        if result.ok:
            instance.values = result.outputs
            instance.artifacts = result.artifacts
            info.outputs = {**result.outputs, **{k: v.uri for k, v in result.artifacts.items()}}
            self._finish(instance, "SUCCEEDED", tags=self._outputs_tag(instance))
            return
        error = result.error or "failed"
        if reported is None and info.run_id and instance.run_info is not None:
            # the worker never reported: leave the cause where the step's logs are
            note_failure(
                self.store,
                info.run_id,
                str(instance.run_info["artifact_uri"]),
                info.attempts,
                info.name,
                StepOutcome(outcome.status, error=error),
            )
        if outcome.status == "cancelled":
            self._finish(instance, "KILLED", error)
            return
        if info.attempts <= instance.component.retries and not self.interrupted:
            delay = instance.component.retry_backoff * (2 ** (info.attempts - 1))
            instance.not_before = time.monotonic() + delay
            info.status = "PENDING"  # shown as RETRYING
            info.error = f"attempt {info.attempts} failed: {error}"
            self.waiting[info.name] = instance
            self._update(instance)
            return
        self._finish(instance, "FAILED", error)

    # -- scheduling ------------------------------------------------------------------------------
    def _decide(self, instance: StepInstance, deps: list[str]) -> bool:
        """Skip the instance if it cannot run; True if it may start."""
        guarded = set(instance.task.exit_for or [])
        if guarded:  # an exit handler waits for its guarded steps, whatever became of them
            deps = [d for d in deps if self.instances[d].info.task not in guarded]
        bad = [d for d in deps if self.instances[d].info.status != "SUCCEEDED"]
        if bad:
            first = self.instances[bad[0]].info
            self._finish(instance, "SKIPPED", f"upstream step {first.name} {first.status.lower()}")
            return False
        try:
            reason = self.graph.unmet_condition(instance)
        except Exception as exc:
            self._finish(instance, "FAILED", f"cannot evaluate its condition: {exc}")
            return False
        if reason is not None:
            self._finish(instance, "SKIPPED", reason)
            return False
        return True

    def _schedule(self) -> bool:
        """Skip what cannot run and start what can, within capacity. True if anything
        changed."""
        free = self.executor.capacity - len(self.running)
        now = time.monotonic()
        changed = False
        starting: list[StepInstance] = []
        loop_taken: dict[str, int] = {}
        for instance in list(self.waiting.values()):
            if instance.info.attempts and now < instance.not_before:
                continue
            deps = self.graph.deps(instance)
            if deps is None:
                continue
            if any(
                d not in self.instances or self.instances[d].info.status not in FINAL for d in deps
            ):
                continue
            if free <= 0:
                break
            if not instance.info.attempts and not self._decide(instance, deps):
                changed = True
                continue
            loop_id = instance.task.loop
            if loop_id is not None:
                limit = self.spec.loops[loop_id].parallelism
                taken = self.loop_running.get(loop_id, 0) + loop_taken.get(loop_id, 0)
                if limit is not None and taken >= limit:
                    continue
                loop_taken[loop_id] = loop_taken.get(loop_id, 0) + 1
            free -= 1
            changed = True
            if instance.info.attempts:
                self._submit(instance)  # a retry: its run exists
            else:
                starting.append(instance)
        if starting:
            self._start(starting)
        return changed

    def _run_held(self) -> None:
        """Steps the executor held (see :meth:`Executor.hold`): one that is the only step
        running, with no retry due meanwhile, runs in this thread (the loop would only wait
        for it: running it here spares the hand-off to another thread and back); otherwise
        they start as usual."""
        held = [i.handle for i in self.running.values() if i.handle is not None and i.handle.held]
        if not held:
            return
        if len(self.running) == 1 and not any(i.info.attempts for i in self.waiting.values()):
            self.executor.run_held(held[0])
            return
        for handle in held:
            self.executor.start_held(handle)

    def _abort(self, reason: str, status: str) -> None:
        for instance in list(self.running.values()):
            handle = self._release(instance)
            handle.cancel()
            self._finish(instance, status, reason)
        for instance in list(self.waiting.values()):
            if instance.info.attempts:
                self._finish(instance, status, reason)  # waiting to retry
            elif instance.task.exit_for is None or self.interrupted:
                self._finish(instance, "SKIPPED", reason)
        self._flush()

    # -- the run ---------------------------------------------------------------------------------
    def run(self, arguments: dict[str, Any] | None = None) -> PipelineResult:
        self.arguments = self.graph.bind(arguments or {})
        self.experiment_id = self.tracker.resolve_experiment_id(self.experiment)
        if self.resume is not None:
            stored = self.store.get_run(self.resume).config or {}
            changed = sorted(k for k, v in self.arguments.items() if k in stored and stored[k] != v)
            if changed:
                raise InvalidInputError(
                    f"resuming run {self.resume} with other arguments ({', '.join(changed)}); "
                    "start a new run instead",
                    field=changed[0],
                )
            self.previous = succeeded_steps(self.store, self.experiment_id, self.resume)
            self.pipeline_run = self.tracker.start_run(run_id=self.resume)
        else:
            self.pipeline_run = self.tracker.start_run(
                self.experiment,
                name=self.run_name,
                tags={PIPELINE_TAG: self.spec.name},
                config=self.arguments,
            )
        self.tracker.log_text(self.pipeline_run.id, self.spec.to_yaml(), "pipeline.yaml")
        # the same spec as JSON, for readers without a YAML parser (the web UI draws the DAG)
        self.tracker.log_text(self.pipeline_run.id, self.spec.to_json(), "pipeline.json")
        for task in self.spec.tasks:
            if task.loop is None:
                self.graph.add(task, None)
        status = "FAILED"
        try:
            status = self._loop()
        except (KeyboardInterrupt, SystemExit):  # Ctrl-C, or SIGTERM via mlcore's handler
            self.interrupted = True
            self._abort("the pipeline was interrupted", "KILLED")
            self.pipeline_run.end("KILLED")
            raise
        except BaseException as exc:  # the runner itself failed (e.g. the store went away)
            self.interrupted = True
            try:
                self._abort(f"the runner failed: {type(exc).__name__}: {exc}", "KILLED")
                self.pipeline_run.set_tags({"mlcore.error": f"{type(exc).__name__}: {exc}"})
                self.pipeline_run.end("FAILED")
            except Exception:  # report the first failure, not a follow-on one
                pass
            raise
        finally:
            if self.owns_executor:
                self.executor.close()
        self.pipeline_run.end("FINISHED" if status == "SUCCEEDED" else status)
        return PipelineResult(
            name=self.spec.name,
            run_id=self.pipeline_run.id,
            status=status,
            steps={name: i.info for name, i in self.instances.items()},
            duration=time.monotonic() - self.started,
        )

    def _loop(self) -> str:
        while True:
            self.graph.expand_loops(self._finish)
            changed = self._schedule()
            self._flush()
            self._run_held()
            unexpanded = len(self.expanded) < len(self.spec.loops)
            if not self.running and not self.waiting and not unexpanded:
                break
            if self.running:
                handles = [i.handle for i in self.running.values() if i.handle is not None]
                timeout = 0.5
                retries = [i.not_before for i in self.waiting.values() if i.info.attempts]
                if retries:
                    timeout = max(0.0, min(timeout, min(retries) - time.monotonic()))
                for handle in self.executor.wait(handles, timeout=timeout):
                    instance = self.running.get(id(handle))
                    if instance is None:
                        continue
                    self._completed(instance)
                    if self.fail_fast and instance.info.status == "FAILED" and not self.failed_fast:
                        self.failed_fast = True
                        self._abort(f"fail_fast: {instance.info.name} failed", "KILLED")
                continue
            retries = [i.not_before for i in self.waiting.values() if i.info.attempts]
            if retries:
                time.sleep(max(0.0, min(min(retries) - time.monotonic(), 0.5)))
            elif not changed:
                # nothing runs and nothing can start: the remaining steps never will
                for instance in list(self.waiting.values()):
                    self._finish(instance, "SKIPPED", "its inputs never became available")
                self._flush()
                if unexpanded:
                    for loop_id in self.spec.loops:
                        if loop_id not in self.expanded:
                            self.graph.fail_loop(
                                self._finish, loop_id, "SKIPPED", "its items never became available"
                            )
                    self._flush()
        statuses = {i.info.status for i in self.instances.values()}
        if "FAILED" in statuses or self.failed_fast:
            return "FAILED"
        if "KILLED" in statuses:
            return "KILLED"
        return "SUCCEEDED"


def _in_memory(uri: str) -> bool:
    return (uri.startswith("sqlite") and ":memory:" in uri) or uri.startswith("memory")
