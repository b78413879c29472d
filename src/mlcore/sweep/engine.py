"""``Sweep``: a hyper-parameter search whose whole state lives in the store.

A sweep is a run (tag ``mlcore.sweep.kind=sweep``, its config in ``sweep.json``); each trial is
a child run with the trial's parameters as params and config. Trials are numbered; an agent
takes number ``n`` by creating its run under an id derived from (sweep, n, attempt) — the
store's primary key lets exactly one agent create it, so agents in other threads, processes
or machines never run a trial twice, and every claimed trial has its run. A trial left
RUNNING by a dead agent (its heartbeat stopped: it reads CRASHED) is run again with the same
parameters by the next agent that resumes the sweep, as attempt 2; the dead attempt ends
KILLED with a tag saying so.

How trial runs are tagged and read is in ``trial_runs``; the table, importance, plot and
summary of what a sweep found are in ``report``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlcore.errors import AlreadyExistsError, InvalidInputError, NotFoundError
from mlcore.executors.pickling import dumps_with_code
from mlcore.sweep import report
from mlcore.sweep.config import SweepConfig, parse_config
from mlcore.sweep.report import PLOT_FILE
from mlcore.sweep.search import OptunaSearch, draw, grid_points
from mlcore.sweep.trial import (
    ERROR_TAG,
    TRIAL_FILE,
    TrialSpec,
    local_sweep,
    run_trial,
)
from mlcore.sweep.trial_runs import (
    ATTEMPT_TAG,
    KIND_TAG,
    SWEEP_TAG,
    TRIAL_TAG,
    best_run,
    metric_value,
    trial_params,
)
from mlcore.tracking.bulk_runs import RunSpec

if TYPE_CHECKING:
    import pyarrow as pa

    from mlcore.executors import Executor, StepHandle
    from mlcore.tracking import Tracker
    from mlcore.types import Run

CONFIG_FILE = "sweep.json"
TERMINAL = ("FINISHED", "FAILED", "KILLED")


@dataclass
class _Trial:
    """What an agent knows of one trial run."""

    run_id: str
    trial: int
    attempt: int
    params: dict[str, Any]
    status: str
    value: float | None = None


class Sweep:
    """A sweep: create with :func:`mlcore.sweep` or ``Sweep.create``, reopen with ``Sweep.load``."""

    def __init__(self, tracker: Tracker, sweep_id: str, config: SweepConfig) -> None:
        self.tracker = tracker
        self.id = sweep_id
        self.config = config
        self._grid: list[dict[str, Any]] | None = None
        self._search: OptunaSearch | None = None
        self._token = uuid.uuid4().hex[:12]
        self._experiment_id: str | None = None
        # the sweep as this agent knows it: read from the store when run() starts, then kept
        # up to date by this agent; read again before every trial once another agent is seen
        self._claims: dict[int, int] = {}  # trial number -> highest attempt claimed
        self._trials: dict[str, _Trial] = {}  # run id -> trial
        self._mine: set[str] = set()  # trial runs this agent created
        self._shared = False
        self._resumed: bool | None = None  # trials were there when this agent first looked
        self._reseeded = False
        self._commands = False  # the executor runs commands (pods): trials go through the store

    def __repr__(self) -> str:
        return f"<Sweep {self.id} method={self.config.method} metric={self.config.metric}>"

    # -- creation --------------------------------------------------------------------------------
    @classmethod
    def create(
        cls, config: dict[str, Any] | str, *, tracker: Tracker, experiment: str | None = None
    ) -> Sweep:
        parsed = parse_config(config)
        run = tracker.create_run(
            experiment,
            name=parsed.name or f"sweep-{parsed.method}",
            tags={KIND_TAG: "sweep", "mlcore.sweep.method": parsed.method},
        )
        sweep_id = run.info.run_id
        tracker.log_dict(sweep_id, parsed.raw, CONFIG_FILE)
        return cls(tracker, sweep_id, parsed)

    @classmethod
    def load(cls, sweep_id: str, *, tracker: Tracker) -> Sweep:
        run = tracker.get_run(sweep_id)
        if run.data.tags.get(KIND_TAG) != "sweep":
            raise NotFoundError(f"run {sweep_id} is not a sweep")
        path = tracker.download_artifacts(sweep_id, CONFIG_FILE)
        with open(path, encoding="utf-8") as handle:
            config = parse_config(json.load(handle))
        return cls(tracker, sweep_id, config)

    # -- what it found -----------------------------------------------------------------------------
    @property
    def runs(self) -> list[Run]:
        """Every trial run (all attempts), in trial order."""
        runs = list(self.tracker.iter_runs(None, f"tags.`{SWEEP_TAG}` = '{self.id}'"))
        return sorted(
            runs,
            key=lambda r: (
                int(r.data.tags.get(TRIAL_TAG, 0)),
                int(r.data.tags.get(ATTEMPT_TAG, 1)),
            ),
        )

    def value_of(self, run: Run) -> float | None:
        """The run's value of the sweep's metric (None if it has none)."""
        return metric_value(self.config, run)

    @property
    def best_run(self) -> Run | None:
        """The finished (or early-stopped) trial with the best value of the metric."""
        return best_run(self.config, self.runs)

    def runs_table(self) -> pa.Table:
        """One row per trial run: id, trial, attempt, status, each parameter, the metric."""
        return report.runs_table(self.config, self.runs)

    # -- running trials ----------------------------------------------------------------------------
    def run(
        self,
        function: Any = None,
        *,
        count: int | None = None,
        parallelism: int = 1,
        executor: str | Executor = "local",
        executor_options: dict[str, Any] | None = None,
    ) -> Sweep:
        """Run trials until ``count`` more have run here, the config's ``run_cap`` is reached
        or the grid is exhausted; trials of crashed agents are run again first.

        Raises:
            InvalidInputError: no function and no ``program``; bad count or parallelism.
        """
        from mlcore.executors import resolve_executor

        if function is None and self.config.program is None:
            raise InvalidInputError("a sweep needs a function (or a program in its config)")
        if function is not None and not callable(function):
            raise InvalidInputError("function must be callable", field="function")
        if count is not None and (not isinstance(count, int) or count < 0):
            raise InvalidInputError("count must be a non-negative integer", field="count")
        if not isinstance(parallelism, int) or parallelism < 1:
            raise InvalidInputError("parallelism must be a positive integer", field="parallelism")
        if count is None and self.config.run_cap is None and self.config.method != "grid":
            raise InvalidInputError(
                f"a {self.config.method} sweep needs count= or run_cap in its config", field="count"
            )
        options = dict(executor_options or {})
        if isinstance(executor, str) and executor in ("local", "process"):
            options.setdefault("workers", parallelism)
        runner = resolve_executor(executor, **options)
        self._commands = bool(getattr(runner, "runs_commands", False))
        local_key = None
        try:
            with contextlib.ExitStack() as lending:
                if isinstance(executor, str) and executor == "local":
                    local_key = f"{self.id}:{self._token}"
                    lending.enter_context(local_sweep(local_key, self.tracker, function))
                self._refresh()
                self._loop(function, count, parallelism, runner, local_key)
        finally:
            if isinstance(executor, str):  # built here
                runner.close()
        runs = self.runs  # read once: for the summary, the plot and whether the sweep is done
        report.log_summary(self.tracker, self.id, self.config, runs)
        self._refresh(runs)
        if self._exhausted():
            self.tracker.end_run(self.id, "FINISHED")
        return self

    def _loop(
        self, function: Any, count: int | None, parallelism: int, runner: Executor, key: str | None
    ) -> None:
        active: dict[StepHandle, str] = {}
        launched = 0
        stop = False
        while True:
            while (
                not stop
                and len(active) < min(parallelism, runner.capacity)
                and (count is None or launched < count)
            ):
                task = self._next_task(function, key)
                if task is None:
                    stop = True
                    break
                handle = runner.hold(task[0])
                active[handle] = task[1]
                launched += 1
            if not active:
                return
            held = [handle for handle in active if handle.held]
            if len(active) == 1 and held:  # the loop would only wait for it: run it here
                runner.run_held(held[0])
            for handle in held:  # (a no-op for one run here)
                runner.start_held(handle)
            for handle in runner.wait(list(active), 1.0):
                self._settle(handle, active.pop(handle))

    def _settle(self, handle: StepHandle, run_id: str) -> None:
        """Record how a trial ended: from what ``run_trial`` returned, else from the store
        (a trial whose process died, or run as a command, is read back; one not ended is
        ended FAILED with the reason)."""
        outcome = handle.outcome()
        known = self._trials.get(run_id)
        reported = _reported(outcome.value) if outcome.ok else None
        if known is not None and reported is not None:
            known.status, known.value = reported
            return
        run = self.tracker.get_run(run_id)
        status = run.info.status.value
        if status not in TERMINAL:
            reason = outcome.error or f"the trial's process ended: {outcome.status}"
            self.tracker.set_tag(run_id, ERROR_TAG, reason[:4000])
            self.tracker.end_run(run_id, "FAILED")
            status = "FAILED"
        if known is not None:
            known.status, known.value = status, self.value_of(run)

    def _exhausted(self) -> bool:
        taken = set(self._claims)
        if self.config.method == "grid" and len(taken) >= len(self._points()):
            return True
        return self.config.run_cap is not None and len(taken) >= self.config.run_cap

    # -- trials ------------------------------------------------------------------------------------
    def _refresh(self, runs: list[Run] | None = None) -> None:
        """Read the sweep's trial runs from the store. A trial still running that another
        agent started means agents share the sweep: from then on this agent reads the store
        before every trial (alone, it knows everything it needs, and a trial it fails to
        claim because an agent it did not know of took it makes it read the store again)."""
        trials = {r.info.run_id: _known(r, self) for r in (self.runs if runs is None else runs)}
        claims: dict[int, int] = {}
        for t in trials.values():
            claims[t.trial] = max(claims.get(t.trial, 0), t.attempt)
        self._claims, self._trials = claims, trials
        if self._resumed is None:
            self._resumed = bool(claims)
        if any(t.status == "RUNNING" and t.run_id not in self._mine for t in trials.values()):
            self._shared = True

    def _points(self) -> list[dict[str, Any]]:
        if self._grid is None:
            self._grid = grid_points(self.config)
        return self._grid

    def _seed(self) -> int:
        if self.config.seed is not None:
            return self.config.seed
        return int(hashlib.sha256(self.id.encode()).hexdigest()[:8], 16)

    def _agent_seed(self) -> int:
        """The sweep's seed for its only agent (a seeded sweep run by one agent draws the
        same trials again); mixed with this agent's token when the sweep is shared or
        resumed, so that agents, and an agent resuming, do not draw the points already
        drawn."""
        if not (self._shared or self._resumed):
            return self._seed()
        return int(hashlib.sha256(f"{self._seed()}/{self._token}".encode()).hexdigest()[:8], 16)

    def _suggest(self, trial: int) -> tuple[dict[str, Any], int | None]:
        """Parameters for ``trial``, given the trials this agent knows of."""
        method = self.config.method
        if method == "grid":
            return dict(self._points()[trial]), None
        if method == "random":
            import numpy as np

            rng = np.random.default_rng([self._seed(), trial])
            return {s.name: draw(s, rng) for s in self.config.parameters}, None
        if self._search is None:
            self._search = OptunaSearch(self.config, self._agent_seed())
            self._reseeded = self._shared
        elif self._shared and not self._reseeded:
            self._search.reseed(self._agent_seed())
            self._reseeded = True
        self._search.observe(
            [
                (t.run_id, t.params, t.status, t.value)
                for t in self._trials.values()
                if t.status in TERMINAL
            ]
        )
        return self._search.suggest()

    def _next_task(self, function: Any, key: str | None) -> tuple[Any, str] | None:
        """Claim the next trial (one a dead agent left first), create its run, build its task."""
        if self._shared:
            self._refresh()
        lost: set[tuple[int, int]] = set()  # retries another agent took
        while (retry := self._crashed_trial(lost)) is not None:
            trial, attempt, old = retry
            started = self._start(trial, attempt, dict(old.params), None, function, key)
            if started is not None:
                self.tracker.set_tag(old.run_id, "mlcore.sweep.requeued", f"as attempt {attempt}")
                self.tracker.end_run(old.run_id, "KILLED")
                old.status = "KILLED"
                return started
            lost.add((trial, attempt))
            self._shared = True  # another agent took the retry
            self._refresh()
        trial = max(self._claims, default=-1) + 1
        while True:
            if self.config.run_cap is not None and trial >= self.config.run_cap:
                return None
            if self.config.method == "grid" and trial >= len(self._points()):
                return None
            params, number = self._suggest(trial)
            started = self._start(trial, 1, params, number, function, key)
            if started is not None:
                return started
            self._shared = True  # an agent this one did not know of took the trial
            self._refresh()  # (a deleted trial's run keeps its number taken: go past it)
            trial = max(max(self._claims, default=-1), trial) + 1

    def _crashed_trial(self, lost: set[tuple[int, int]]) -> tuple[int, int, _Trial] | None:
        """A trial whose latest attempt was left behind by a dead agent (it reads CRASHED)."""
        by_attempt = {(t.trial, t.attempt): t for t in self._trials.values()}
        for trial, attempt in sorted(self._claims.items()):
            known = by_attempt.get((trial, attempt))
            if known is not None and known.status == "CRASHED" and (trial, attempt + 1) not in lost:
                return trial, attempt + 1, known
        return None

    def _start(
        self,
        trial: int,
        attempt: int,
        params: dict[str, Any],
        number: int | None,
        function: Any,
        key: str | None,
    ) -> tuple[Any, str] | None:
        """Claim the trial by creating its run (its id derived from the sweep, the trial and
        the attempt); ``None`` if another agent has it."""
        import cloudpickle

        from mlcore.executors import StepTask

        if self._experiment_id is None:
            self._experiment_id = self.tracker.get_run(self.id).info.experiment_id
        run_id = trial_run_id(self.id, trial, attempt)
        try:
            tags = {SWEEP_TAG: self.id, TRIAL_TAG: str(trial), ATTEMPT_TAG: str(attempt)}
            claim = RunSpec(
                run_id=run_id,
                name=f"trial-{trial}" + (f"-attempt-{attempt}" if attempt > 1 else ""),
                tags=tags,
                parent_run_id=self.id,
                config=params,
            )
            self.tracker.create_runs([claim], experiment_id=self._experiment_id, tag_source=True)
        except AlreadyExistsError:  # another agent claimed the trial
            if number is not None and self._search is not None:
                self._search.forget(number)
            return None
        self._mine.add(run_id)
        if number is not None and self._search is not None:
            self._search.bind(run_id, number)
        self._claims[trial] = attempt
        self._trials[run_id] = _Trial(run_id, trial, attempt, params, "RUNNING")
        early = self.config.early_terminate
        program = self.config.program if function is None else None
        spec = TrialSpec(
            tracking_uri=self.tracker.tracking_uri,
            sweep_id=self.id,
            run_id=run_id,
            trial=trial,
            metric=self.config.metric,
            maximize=self.config.maximize,
            rungs=early.rungs if early else (),
            eta=early.eta if early else 3,
            local_key=key,
            function=None if key is not None else function,
            program=program,
            command=self.config.command if program else (),
        )
        payload = cloudpickle.dumps(spec)
        command: list[str] = []
        if self._commands:  # a pod reads the trial from its run (see mlcore.sweep.worker)
            self.tracker.artifact_store(run_id).put_bytes(
                dumps_with_code(spec, spec.function), TRIAL_FILE
            )
            command = ["python", "-m", "mlcore.sweep.worker", "--trial-run", run_id,
                       "--tracking-uri", self.tracker.tracking_uri]  # fmt: skip
        task = StepTask(
            id=f"{self.id[:8]}-t{trial}-a{attempt}",
            name=f"trial-{trial}",
            function=run_trial,
            payload=payload,
            command=command,
            labels={"mlcore/sweep": self.id},
        )
        return task, run_id

    # -- reports ---------------------------------------------------------------------------
    def importance(self) -> dict[str, float]:
        """How much each searched parameter explains the metric (Optuna's fANOVA, over the
        finished trials); empty with fewer than 3 of them."""
        return report.importance(self.config, self.runs)

    def plot_parallel_coordinates(self, artifact_file: str = PLOT_FILE) -> str | None:
        """Draw every finished trial as a line across the parameters and the metric; logged
        as an artifact of the sweep run. Returns the artifact path (None without trials)."""
        return report.plot_parallel_coordinates(
            self.tracker, self.id, self.config, self.runs, artifact_file
        )


def trial_run_id(sweep_id: str, trial: int, attempt: int) -> str:
    """The run id of a trial's attempt: the same for every agent, so only one creates it."""
    return hashlib.sha256(f"{sweep_id}/{trial}/{attempt}".encode()).hexdigest()[:32]


def _known(run: Run, sweep: Sweep) -> _Trial:
    return _Trial(
        run_id=run.info.run_id,
        trial=int(run.data.tags.get(TRIAL_TAG, -1)),
        attempt=int(run.data.tags.get(ATTEMPT_TAG, 1)),
        params=trial_params(sweep.config, run),
        status=run.info.status.value,
        value=sweep.value_of(run),
    )


def _reported(value: bytes | None) -> tuple[str, float | None] | None:
    """(status, metric value) from what ``run_trial`` returned; None where it could not
    know the value (the metric was logged by another process) or said nothing."""
    if not value:
        return None
    try:
        data = json.loads(value)
        status, metric = str(data["status"]), data.get("value")
    except (ValueError, KeyError, TypeError):
        return None
    if status not in TERMINAL or not data.get("complete"):
        return None
    finite = isinstance(metric, (int, float)) and math.isfinite(metric)
    return status, float(metric) if finite else None


def sweep(
    config: dict[str, Any] | str,
    function: Any = None,
    *,
    count: int | None = None,
    parallelism: int = 1,
    executor: str | Executor = "local",
    experiment: str | None = None,
    tracker: Tracker | None = None,
    executor_options: dict[str, Any] | None = None,
) -> Sweep:
    """Create a sweep and run it (see the module docstring); returns the :class:`Sweep`."""
    if tracker is None:
        from mlcore.tracking.context import run_context

        tracker = run_context().default_tracker()
    created = Sweep.create(config, tracker=tracker, experiment=experiment)
    return created.run(
        function,
        count=count,
        parallelism=parallelism,
        executor=executor,
        executor_options=executor_options,
    )


__all__ = ["Sweep", "sweep"]
