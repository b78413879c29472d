"""The pipeline runner: walks the DAG and runs ready steps on an executor.

- A pipeline run is a run; each step (each iteration of a looped step) is a nested run with
  its input parameters as params, its outputs, its log and its status.
- Ready steps run concurrently, up to the executor's capacity and a loop's ``parallelism``.
  Step runs are created, and ended, in batches: one transaction for all the steps that become
  ready (or end) together, which is what keeps a 1,000-step fan-out cheap on any store.
- A step is cached by the hash of its code, its input values and its input artifacts'
  sha256: a later run reuses the outputs (``step.cached``).
- A failed attempt is retried with exponential backoff while ``retries`` allow; a failed
  step skips its dependents but not independent branches (unless ``fail_fast``); exit
  handlers run whatever happened.
- Ctrl-C cancels running steps (KILLED) and ends the pipeline run KILLED.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlcore.errors import InvalidInputError
from mlcore.executors import Executor, StepHandle, StepOutcome, StepTask, resolve_executor
from mlcore.pipeline import worker
from mlcore.pipeline.spec import ArgSpec, ComponentSpec, PipelineSpec, TaskSpec
from mlcore.pipeline.worker import ArtifactRef, StepRequest, StepResultData
from mlcore.stores import NewRun, RunUpdate

if TYPE_CHECKING:
    from mlcore.tracking import ActiveRun, Tracker

__all__ = ["PipelineResult", "PipelineRunner", "StepInfo"]

CACHE_TAG = "mlcore.pipeline.cache_key"
OUTPUTS_TAG = "mlcore.pipeline.outputs"
CACHED_FROM_TAG = "mlcore.pipeline.cached_from"
STEP_TAG = "mlcore.pipeline.step"
PIPELINE_TAG = "mlcore.pipeline.name"
FINAL = frozenset({"SUCCEEDED", "FAILED", "SKIPPED", "KILLED"})
#: Outputs larger than this (as JSON) are kept in a file of the step run, not in a tag.
INLINE_OUTPUTS_LIMIT = 60_000
MAX_PARAM_LENGTH = 500
_LOOKUP_CHUNK = 200


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


@dataclass
class _Instance:
    info: StepInfo
    task: TaskSpec
    component: ComponentSpec
    values: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, ArtifactRef] = field(default_factory=dict)
    handle: StepHandle | None = None
    not_before: float = 0.0
    request: StepRequest | None = None
    run_info: dict[str, Any] | None = None
    deps: list[str] | None = None


@dataclass
class _Prepared:
    instance: _Instance
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
        self.tasks = {task.name: task for task in spec.tasks}
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
        self.instances: dict[str, _Instance] = {}
        self.waiting: dict[str, _Instance] = {}  # not started, or between attempts
        self.running: dict[int, _Instance] = {}  # by id(handle)
        self.loop_running: dict[str, int] = {}
        self.expanded: dict[str, list[Any]] = {}
        self.arguments: dict[str, Any] = {}
        self.pipeline_run: ActiveRun | None = None
        self.started = time.monotonic()
        self.interrupted = False
        self.failed_fast = False
        self._updates: list[RunUpdate] = []
        worker.register_tracker(tracker)

    # -- arguments -------------------------------------------------------------------------------
    def _bind(self, arguments: dict[str, Any]) -> dict[str, Any]:
        from mlcore.pipeline.dsl import _constant_fits

        given = dict(arguments)
        bound = {}
        for param in self.spec.parameters:
            if param.name in given:
                value = given.pop(param.name)
            elif param.optional:
                value = param.default
            else:
                raise InvalidInputError(
                    f"pipeline {self.spec.name!r} needs argument {param.name!r}", field=param.name
                )
            if not _constant_fits(value, param):
                raise InvalidInputError(
                    f"pipeline argument {param.name!r} must be {param.type}, got "
                    f"{type(value).__name__} {value!r:.60}",
                    field=param.name,
                )
            bound[param.name] = value
        if given:
            raise InvalidInputError(
                f"pipeline {self.spec.name!r} has no parameter(s) {sorted(given)}",
                field=sorted(given)[0],
            )
        return bound

    # -- the graph -------------------------------------------------------------------------------
    def _add(self, task: TaskSpec, index: int | None) -> _Instance:
        name = task.name if index is None else f"{task.name}[{index}]"
        info = StepInfo(name=name, task=task.name, index=index)
        instance = _Instance(info, task, self.spec.components[task.component])
        self.instances[name] = instance
        self.waiting[name] = instance
        return instance

    def _looped(self, task_name: str) -> list[str] | None:
        """Instance names of a task: itself, or its iterations once its loop is expanded
        (None before)."""
        task = self.tasks[task_name]
        if task.loop is None:
            return [task_name]
        if task.loop not in self.expanded:
            return None
        if task_name in self.instances:  # the loop never ran: one SKIPPED placeholder
            return [task_name]
        return [f"{task_name}[{i}]" for i in range(len(self.expanded[task.loop]))]

    def _deps(self, instance: _Instance) -> list[str] | None:
        """Instance names ``instance`` waits for; None while a loop it needs is not expanded."""
        if instance.deps is not None:
            return instance.deps
        task, index = instance.task, instance.info.index
        refs: list[tuple[str, bool]] = []  # (task name, all iterations)
        arguments = list(task.arguments.values())
        for condition in task.conditions:
            arguments += [condition.left] + ([condition.right] if condition.right else [])
        for arg in arguments:
            if arg.task is not None:
                refs.append((arg.task, False))
            elif arg.collect is not None:
                refs.append((arg.collect, True))
        refs += [(name, False) for name in task.after]
        refs += [(name, True) for name in task.exit_for or []]
        names: list[str] = []
        for ref, every in refs:
            other = self.tasks[ref]
            if other.loop is not None and other.loop == task.loop and not every:
                names.append(f"{ref}[{index}]")
                continue
            expanded = self._looped(ref)
            if expanded is None:
                return None
            names += expanded
        instance.deps = list(dict.fromkeys(names))
        return instance.deps

    def _expand_loops(self) -> None:
        for loop_id, loop in self.spec.loops.items():
            if loop_id in self.expanded:
                continue
            source = loop.items
            producer_name = source.task or source.collect
            if producer_name is not None:
                producers = self._looped(producer_name)
                if producers is None or any(
                    self.instances[p].info.status not in FINAL for p in producers
                ):
                    continue
                bad = [p for p in producers if self.instances[p].info.status != "SUCCEEDED"]
                if bad:
                    status = self.instances[bad[0]].info.status.lower()
                    self._fail_loop(
                        loop_id, "SKIPPED", f"its for_each items come from {bad[0]}, which {status}"
                    )
                    continue
            items = self._resolve(source, None)
            if not isinstance(items, (list, tuple)):
                self._fail_loop(
                    loop_id,
                    "FAILED",
                    f"for_each items must be a list, got {type(items).__name__} {items!r:.60}",
                )
                continue
            self.expanded[loop_id] = list(items)
            for task in self.spec.tasks:
                if task.loop == loop_id:
                    for index in range(len(items)):
                        self._add(task, index)

    def _fail_loop(self, loop_id: str, status: str, reason: str) -> None:
        self.expanded[loop_id] = []
        for task in self.spec.tasks:
            if task.loop == loop_id:
                self._finish(self._add(task, None), status, reason)

    # -- values ----------------------------------------------------------------------------------
    def _resolve(self, arg: ArgSpec, index: int | None) -> Any:
        kind = arg.kind()
        if kind == "constant":
            return arg.constant
        if kind == "param":
            return self.arguments[arg.param or ""]
        if kind == "loop_item":
            item = self.expanded[arg.loop_item or ""][index or 0]
            if arg.field is None:
                return item
            if not isinstance(item, dict) or arg.field not in item:
                raise InvalidInputError(
                    f"for_each item {item!r:.60} has no field {arg.field!r}", field=arg.field
                )
            return item[arg.field]
        if kind == "collect":
            return [
                self._output(name, arg.output or "")
                for name in self._looped(arg.collect or "") or []
            ]
        task = self.tasks[arg.task or ""]
        name = f"{task.name}[{index}]" if task.loop is not None else task.name
        return self._output(name, arg.output or "")

    def _output(self, instance_name: str, output: str) -> Any:
        instance = self.instances[instance_name]
        if output in instance.artifacts:
            return instance.artifacts[output]
        return instance.values.get(output)

    def _condition_holds(self, instance: _Instance) -> str | None:
        """None if every condition holds, else the first that does not (as text)."""
        checks: dict[str, Callable[[Any, Any], bool]] = {
            "==": lambda a, b: bool(a == b),
            "!=": lambda a, b: bool(a != b),
            "<": lambda a, b: bool(a < b),
            "<=": lambda a, b: bool(a <= b),
            ">": lambda a, b: bool(a > b),
            ">=": lambda a, b: bool(a >= b),
        }
        for condition in instance.task.conditions:
            left = self._resolve(condition.left, instance.info.index)
            if condition.op == "truthy":
                if not left:
                    return f"condition {left!r:.60} is false"
                continue
            right = self._resolve(condition.right or ArgSpec(), instance.info.index)
            try:
                holds = checks[condition.op](left, right)
            except TypeError:
                holds = False
            if not holds:
                return f"condition {left!r:.60} {condition.op} {right!r:.60} is false"
        return None

    def _inputs(self, instance: _Instance) -> tuple[dict[str, Any], dict[str, ArtifactRef]]:
        parameters: dict[str, Any] = {}
        artifacts: dict[str, ArtifactRef] = {}
        for param in instance.component.inputs:
            if param.kind == "status":
                continue
            arg = instance.task.arguments.get(param.name)
            value = self._resolve(arg, instance.info.index) if arg is not None else param.default
            if param.kind == "artifact":
                if value is None:
                    continue
                artifacts[param.name] = (
                    value
                    if isinstance(value, ArtifactRef)
                    else _import_artifact(str(value), param.type)
                )
            else:
                parameters[param.name] = value
        return parameters, artifacts

    # -- caching ---------------------------------------------------------------------------------
    def _cache_key(
        self, instance: _Instance, parameters: dict[str, Any], artifacts: dict[str, ArtifactRef]
    ) -> str:
        material = {
            "component": instance.component.name,
            "code": instance.component.code.digest,
            "parameters": parameters,
            "artifacts": {k: v.sha256 for k, v in artifacts.items()},
        }
        text = json.dumps(material, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def _lookup(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        """For each cache key, the outputs of the latest step run that produced them (not a
        reuse itself) whose artifacts are still there."""
        found: dict[str, dict[str, Any]] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), _LOOKUP_CHUNK):
            part = unique[start : start + _LOOKUP_CHUNK]
            quoted = ", ".join(f"'{key}'" for key in part)
            runs = self.store.search_runs(
                [self.experiment_id],
                f"tags.`{CACHE_TAG}` IN ({quoted}) AND attributes.status = 'FINISHED' "
                f"AND tags.`{CACHED_FROM_TAG}` IS NULL",
                ["attributes.start_time DESC"],
                max_results=50_000,
            )
            for run in runs:
                key = run.data.tags.get(CACHE_TAG, "")
                if key in found:
                    continue
                stored = self._stored_outputs(run)
                if stored is not None:
                    found[key] = stored
        return found

    def _load_previous(self) -> None:
        """Resuming: the step runs of the earlier attempt that succeeded, by step name."""
        assert self.resume is not None
        children = self.store.search_runs(
            [self.experiment_id],
            f"attributes.parent_run_id = '{self.resume}'",
            ["attributes.start_time ASC"],
            max_results=50_000,
        )
        self.previous = {}
        for child in children:
            step = child.data.tags.get(STEP_TAG)
            if step is None:
                continue
            if child.info.status.value == "FINISHED":
                self.previous[step] = child
            else:
                self.previous.pop(step, None)

    def _stored_outputs(self, run: Any) -> dict[str, Any] | None:
        """What a finished step run recorded as its outputs (None if unusable)."""
        try:
            stored = json.loads(run.data.tags.get(OUTPUTS_TAG, "null"))
            if isinstance(stored, dict) and "file" in stored:
                from mlcore.artifacts import resolve_artifact_store

                text = resolve_artifact_store(run.info.artifact_uri).get_bytes(stored["file"])
                stored = json.loads(text)
        except Exception:  # a damaged or deleted record: run the step again
            return None
        if not isinstance(stored, dict) or not _artifacts_exist(stored.get("artifacts", {})):
            return None
        stored["run_id"] = run.info.run_id
        return stored

    def _outputs_tag(self, instance: _Instance) -> dict[str, str]:
        """What a step produced, as the tag a later run reuses it from (a file of the step
        run when it is too large for a tag)."""
        artifacts = {k: v.model_dump() for k, v in instance.artifacts.items()}
        text = json.dumps({"values": instance.values, "artifacts": artifacts})
        if len(text) > INLINE_OUTPUTS_LIMIT and instance.run_info is not None:
            from mlcore.artifacts import resolve_artifact_store

            path = "_mlcore/outputs.json"
            resolve_artifact_store(instance.run_info["artifact_uri"]).put_bytes(text.encode(), path)
            text = json.dumps({"file": path})
        return {OUTPUTS_TAG: text}

    # -- recording -------------------------------------------------------------------------------
    def _update(self, instance: _Instance) -> None:
        if self.on_update is not None:
            try:
                self.on_update(instance.info)
            except Exception:  # a progress display must not stop the pipeline
                pass

    def _finish(
        self,
        instance: _Instance,
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
            tags = {
                **(tags or {}),
                "mlcore.pipeline.status": status,
                "mlcore.pipeline.attempts": str(info.attempts),
            }
            if error is not None:
                tags["mlcore.error"] = error[:5000]
            run_status = {"SUCCEEDED": "FINISHED", "SKIPPED": "KILLED"}.get(status, status)
            self.tracker._writer.unregister_run(info.run_id)
            self._updates.append(
                RunUpdate(info.run_id, run_status, time.time_ns() // 1_000_000, tags)
            )
        self._update(instance)

    def _flush(self) -> None:
        """End, in one transaction, the step runs that ended since the last flush."""
        if self._updates:
            updates, self._updates = self._updates, []
            self.store.update_runs(updates)

    def _reuse(self, instance: _Instance, stored: dict[str, Any]) -> None:
        instance.values = dict(stored.get("values", {}))
        instance.artifacts = {
            k: ArtifactRef.model_validate(v) for k, v in stored.get("artifacts", {}).items()
        }
        instance.info.cached = True
        instance.info.outputs = {
            **instance.values,
            **{k: v.uri for k, v in instance.artifacts.items()},
        }

    # -- starting steps --------------------------------------------------------------------------
    def _prepare(self, instance: _Instance) -> _Prepared | None:
        """Inputs and cache key of a step about to start; None if it ended here (bad
        input, or resumed from the earlier attempt)."""
        info = instance.info
        info.started = time.time()
        try:
            parameters, artifacts = self._inputs(instance)
        except Exception as exc:
            self._finish(instance, "FAILED", f"cannot resolve its inputs: {exc}")
            return None
        key = self._cache_key(instance, parameters, artifacts)  # recorded even if not reused
        previous = self.previous.get(info.name)
        if previous is not None and previous.data.tags.get(CACHE_TAG) == key:
            stored = self._stored_outputs(previous)
            if stored is not None:  # resuming: this step already succeeded in this run
                self._reuse(instance, stored)
                info.run_id = previous.info.run_id
                info.status, info.ended = "SUCCEEDED", time.time()
                self.waiting.pop(info.name, None)
                self._update(instance)
                return None
        cacheable = self.cache and instance.component.cache and instance.task.exit_for is None
        return _Prepared(instance, parameters, artifacts, key, cacheable)

    def _start(self, instances: list[_Instance]) -> None:
        """Start ``instances``: one lookup for their cache keys, one transaction for their
        runs, then reuse the cached ones and submit the rest."""
        assert self.pipeline_run is not None
        prepared = [p for p in map(self._prepare, instances) if p is not None]
        if not prepared:
            return
        hits = self._lookup([p.key for p in prepared if p.cacheable])
        now = time.time_ns() // 1_000_000
        alive_until = self.tracker._writer.alive_until()
        new_runs = []
        for item in prepared:
            tags = {
                STEP_TAG: item.instance.info.name,
                "mlcore.pipeline.component": item.instance.component.name,
                CACHE_TAG: item.key,
            }
            params = {name: _param_text(v) for name, v in item.parameters.items()}
            params.update({name: ref.uri for name, ref in item.artifacts.items()})
            reused = item.cacheable and item.key in hits
            new_runs.append(
                NewRun(
                    name=item.instance.info.name,
                    start_time=now,
                    tags=tags,
                    params=params,
                    parent_run_id=self.pipeline_run.id,
                    alive_until=None if reused else alive_until,
                )
            )
        # the steps that ended since the last flush are ended in the same transaction
        updates, self._updates = self._updates, []
        runs = self.store.create_runs(self.experiment_id, new_runs, updates=updates)
        for item, run in zip(prepared, runs):
            instance, info = item.instance, item.instance.info
            info.run_id = run.info.run_id
            instance.run_info = run.info.model_dump(mode="json")
            hit = hits.get(item.key) if item.cacheable else None
            if hit is not None:
                self._reuse(instance, hit)
                self._finish(
                    instance,
                    "SUCCEEDED",
                    tags={CACHED_FROM_TAG: hit["run_id"], **self._outputs_tag(instance)},
                )
                continue
            self.tracker._writer.register_run(info.run_id)
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
        request = StepRequest(
            step_name=info.name,
            tracking_uri=self.tracker.tracking_uri,
            run=instance.run_info or {},
            component=instance.component,
            parameters=item.parameters,
            input_artifacts=item.artifacts,
            status=status,
            persist_result=bool(getattr(self.executor, "runs_commands", False)),
        )
        instance.request = request
        if request.persist_result:  # a container reads it with the step run's id
            from mlcore.artifacts import resolve_artifact_store

            resolve_artifact_store(request.run["artifact_uri"]).put_bytes(
                request.model_dump_json().encode(), worker.REQUEST_FILE
            )

    def _submit(self, instance: _Instance) -> None:
        info = instance.info
        info.attempts += 1
        info.status = "RUNNING"
        self.waiting.pop(info.name, None)
        component = instance.component
        assert instance.request is not None
        instance.request.attempt = info.attempts
        task = StepTask(
            id=f"{(info.run_id or '')[:12]}-{info.attempts}",
            name=info.name,
            function=worker.run_payload,
            payload=instance.request.model_dump_json().encode(),
            command=[
                "python",
                "-m",
                "mlcore.pipeline.worker",
                "--step-run",
                info.run_id or "",
                "--attempt",
                str(info.attempts),
                "--tracking-uri",
                self.tracker.tracking_uri,
            ],
            timeout=component.timeout,
            image=component.image,
            resources=dict(component.resources),
            env=dict(component.env),
            labels={
                "mlcore/pipeline-run": self.pipeline_run.id if self.pipeline_run else "",
                "mlcore/step-run": info.run_id or "",
                "mlcore/attempt": str(info.attempts),
            },
        )
        try:
            handle = self.executor.submit(task)
        except Exception as exc:  # the executor refused it: a failed attempt
            handle = _Refused(task, f"the {self.executor.name} executor refused the step: {exc}")
        instance.handle = handle
        self.running[id(handle)] = instance
        if instance.task.loop is not None:
            self.loop_running[instance.task.loop] = self.loop_running.get(instance.task.loop, 0) + 1
        self._update(instance)

    # -- ending steps ----------------------------------------------------------------------------
    def _release(self, instance: _Instance) -> StepHandle:
        handle = instance.handle
        assert handle is not None
        instance.handle = None
        self.running.pop(id(handle), None)
        if instance.task.loop is not None:
            self.loop_running[instance.task.loop] -= 1
        return handle

    def _result(self, instance: _Instance, outcome: StepOutcome) -> StepResultData | None:
        """What the worker reported for this attempt (None if it reported nothing)."""
        if outcome.value is not None:
            return StepResultData.model_validate_json(outcome.value)
        if outcome.status in ("succeeded", "failed") and instance.run_info is not None:
            from mlcore.artifacts import resolve_artifact_store

            try:  # a container: read what the worker wrote next to the step run
                raw = resolve_artifact_store(instance.run_info["artifact_uri"]).get_bytes(
                    worker.result_file(instance.info.attempts)
                )
                return StepResultData.model_validate_json(raw)
            except Exception:
                return None
        return None

    def _completed(self, instance: _Instance) -> None:
        outcome = self._release(instance).outcome()
        reported = self._result(instance, outcome)
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
        if reported is None and info.run_id:
            # the worker never reported: leave the cause where the step's logs are
            self._note_failure(instance, StepOutcome(outcome.status, error=error))
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

    def _note_failure(self, instance: _Instance, outcome: StepOutcome) -> None:
        from mlcore.artifacts import resolve_artifact_store

        try:
            store = resolve_artifact_store(str((instance.run_info or {})["artifact_uri"]))
            name = worker.log_file(instance.info.attempts)
            before = store.get_bytes(name) if store.exists(name) else b""
            text = (
                f"\n[mlcore] attempt {instance.info.attempts} of {instance.info.name}: "
                f"{outcome.status}: {outcome.error}\n"
            )
            stored = store.put_bytes(before + text.encode(), name)
            self.store.record_artifacts(instance.info.run_id or "", [stored])
        except Exception:  # recording the cause must not hide the failure itself
            pass

    # -- scheduling ------------------------------------------------------------------------------
    def _decide(self, instance: _Instance, deps: list[str]) -> bool:
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
            reason = self._condition_holds(instance)
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
        starting: list[_Instance] = []
        loop_taken: dict[str, int] = {}
        for instance in list(self.waiting.values()):
            if instance.info.attempts and now < instance.not_before:
                continue
            deps = self._deps(instance)
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
        self.arguments = self._bind(arguments or {})
        self.experiment_id = self.tracker._experiment_id(self.experiment)
        if self.resume is not None:
            stored = self.store.get_run(self.resume).config or {}
            changed = sorted(k for k, v in self.arguments.items() if k in stored and stored[k] != v)
            if changed:
                raise InvalidInputError(
                    f"resuming run {self.resume} with other arguments ({', '.join(changed)}); "
                    "start a new run instead",
                    field=changed[0],
                )
            self._load_previous()
            self.pipeline_run = self.tracker.start_run(run_id=self.resume)
        else:
            self.pipeline_run = self.tracker.start_run(
                self.experiment,
                name=self.run_name,
                tags={PIPELINE_TAG: self.spec.name},
                config=self.arguments,
            )
        self.tracker.log_text(self.pipeline_run.id, self.spec.to_yaml(), "pipeline.yaml")
        for task in self.spec.tasks:
            if task.loop is None:
                self._add(task, None)
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
            self._expand_loops()
            changed = self._schedule()
            self._flush()
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
                            self._fail_loop(loop_id, "SKIPPED", "its items never became available")
                    self._flush()
        statuses = {i.info.status for i in self.instances.values()}
        if "FAILED" in statuses or self.failed_fast:
            return "FAILED"
        if "KILLED" in statuses:
            return "KILLED"
        return "SUCCEEDED"


class _Refused(StepHandle):
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


def _in_memory(uri: str) -> bool:
    return (uri.startswith("sqlite") and ":memory:" in uri) or uri.startswith("memory")


def _param_text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= MAX_PARAM_LENGTH else text[: MAX_PARAM_LENGTH - 3] + "..."


def _import_artifact(location: str, type_name: str) -> ArtifactRef:
    """An artifact input given as a URI or path (KFP's importer): hashed for caching."""
    from mlcore.uris import path_to_file_uri, uri_scheme

    if uri_scheme(location) == "":
        location = path_to_file_uri(os.path.abspath(location))
    sha = size = None
    if uri_scheme(location) == "file":
        from mlcore.uris import file_uri_to_path

        path = file_uri_to_path(location)
        if not os.path.exists(path):
            raise InvalidInputError(f"input artifact {location} does not exist")
        sha, size = worker._digest(path)
    return ArtifactRef(uri=location, type=type_name, sha256=sha, size=size)


def _artifacts_exist(artifacts: dict[str, Any]) -> bool:
    from mlcore.artifacts import resolve_artifact_store

    for ref in artifacts.values():
        uri = ref.get("uri", "") if isinstance(ref, dict) else ""
        parent, _, leaf = uri.rstrip("/").rpartition("/")
        try:
            if not resolve_artifact_store(parent).exists(leaf):
                return False
        except Exception:
            return False
    return True
