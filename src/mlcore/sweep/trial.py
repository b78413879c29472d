"""Inside a trial: its run made active, early termination watching the sweep metric.

``run_trial(payload)`` is what an executor calls (a thread, a spawned process, a Dask worker):
it resumes the trial's run, makes it the active run (so ``mlcore.config.lr`` and
``mlcore.log(...)`` work), calls the user's function and ends the run FINISHED, FAILED (the
error kept as a tag) or KILLED (stopped early, the reason kept as a tag).

Early termination (Hyperband/ASHA): every time the trial logs the sweep metric it counts one
iteration; at a rung (an iteration count from the config) it records its value on the sweep run
(a write-once param: no two trials overwrite each other) and reads the values other trials
recorded there; it goes on only if it is among the best ``1/eta`` of them. Because the record
is in the store, trials in other processes and on other machines see each other.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import math
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlcore.errors import MlcoreError
from mlcore.tracking.context import RUN_ATTACH_ENV, RUN_ID_ENV, run_context

if TYPE_CHECKING:
    from mlcore.tracking import ActiveRun, Tracker

__all__ = [
    "ERROR_TAG",
    "RUNG_PREFIX",
    "STOPPED_TAG",
    "TRIAL_FILE",
    "TrialPruned",
    "TrialSpec",
    "attach_from_env",
    "local_sweep",
    "program_command",
    "run_spec",
    "run_trial",
]

RUNG_PREFIX = "mlcore.rung."
STOPPED_TAG = "mlcore.sweep.stopped"
ERROR_TAG = "mlcore.sweep.error"
TRIAL_FILE = "_mlcore/trial.pickle"  # the trial's spec, for a worker started by a command


# Functions of the sweeps this process runs with the ``local`` executor, by sweep key: trials in
# threads call them as they are (not pickled). Their trackers are lent to the run context for
# as long (trials find them by tracking URI). Set and cleared by :func:`local_sweep` only.
_LOCAL_FUNCTIONS: dict[str, Any] = {}
_LOCAL_LOCK = threading.Lock()


@contextlib.contextmanager
def local_sweep(key: str, tracker: Tracker, function: Any) -> Iterator[None]:
    """Let trials of the sweep ``key`` run in this process's threads use ``tracker`` and
    ``function`` as they are (not pickled) during the block."""
    with run_context().lend_tracker(tracker):
        with _LOCAL_LOCK:
            _LOCAL_FUNCTIONS[key] = function
        try:
            yield
        finally:
            with _LOCAL_LOCK:
                _LOCAL_FUNCTIONS.pop(key, None)


class TrialPruned(MlcoreError):
    """Raised inside a trial that early termination stopped (the trial ends KILLED)."""

    code = "TRIAL_PRUNED"


@dataclass
class TrialSpec:
    tracking_uri: str
    sweep_id: str
    run_id: str
    trial: int
    metric: str | None
    maximize: bool
    rungs: tuple[int, ...] = ()
    eta: int = 3
    local_key: str | None = None
    function: Any = None
    program: str | None = None  # a W&B ``program`` sweep: the script, and its ``command``
    command: tuple[str, ...] = ()


class _Watcher:
    """Counts the trial's reports of the metric and stops it below a rung's cut."""

    def __init__(self, tracker: Tracker, spec: TrialSpec) -> None:
        self.tracker = tracker
        self.spec = spec
        self.iterations = 0
        self.rungs = set(spec.rungs)

    def __call__(self, key: str, value: float, step: int | None) -> None:
        if key != self.spec.metric:
            return
        self.iterations += 1
        if self.iterations not in self.rungs or not math.isfinite(value):
            return
        rung = self.iterations
        mine = f"{RUNG_PREFIX}{rung:06d}.{self.spec.trial:06d}"
        self.tracker.log_params(self.spec.sweep_id, {mine: repr(float(value))})
        params = self.tracker.get_run(self.spec.sweep_id).data.params
        prefix = f"{RUNG_PREFIX}{rung:06d}."
        values = [float(v) for k, v in params.items() if k.startswith(prefix)]
        keep = len(values) // self.spec.eta
        if len(values) < self.spec.eta or keep < 1:
            return
        ranked = sorted(values, reverse=self.spec.maximize)
        cut = ranked[keep - 1]
        good = value >= cut if self.spec.maximize else value <= cut
        if not good:
            raise TrialPruned(
                f"hyperband: {self.spec.metric}={value:.6g} at iteration {rung} is not in the "
                f"best 1/{self.spec.eta} of {len(values)} trials at that rung (cut {cut:.6g})"
            )


def _tracker_for(spec: TrialSpec) -> tuple[Tracker, Any, bool]:
    """The trial's tracker, its function, and whether the tracker is the trial's own (built
    here, closed after): a sweep run by this process lends it its tracker and function."""
    function = spec.function
    if spec.local_key is not None:
        with _LOCAL_LOCK:
            found = spec.local_key in _LOCAL_FUNCTIONS
            local_function = _LOCAL_FUNCTIONS.get(spec.local_key)
        if found:
            function = local_function
    lent = run_context().lent_tracker(spec.tracking_uri)
    if lent is not None:
        return lent, function, False
    from mlcore.tracking import Tracker

    return Tracker(spec.tracking_uri), function, True


class _Latest:
    """The trial's latest value of the sweep metric, as the store ranks points (highest
    step, then the later one), so the agent need not read the run back."""

    def __init__(self, metric: str) -> None:
        self.metric = metric
        self.step = -1
        self.value: float | None = None

    def __call__(self, key: str, value: float, step: int | None) -> None:
        if key == self.metric and (step or 0) >= self.step:
            self.step, self.value = step or 0, float(value)


def _call(function: Any, run: ActiveRun) -> None:
    try:
        takes = len(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        takes = 0
    if takes >= 1:
        function(run.config)
    else:
        function()


def run_trial(payload: bytes) -> bytes:
    """Run one trial (the executor's entry point); returns JSON: its final status and, when
    it ran in this process, the latest value of the sweep metric (``complete``)."""
    import cloudpickle

    return json.dumps(run_spec(cloudpickle.loads(payload))).encode()


def run_spec(spec: TrialSpec) -> dict[str, Any]:
    """Run the trial ``spec`` describes; see :func:`run_trial`."""
    tracker, function, owned = _tracker_for(spec)
    try:
        run = tracker.start_run(run_id=spec.run_id)
        latest = _Latest(spec.metric or "")
        if spec.metric:
            run.add_log_listener(latest)
        if spec.rungs and spec.metric:
            run.add_log_listener(_Watcher(tracker, spec))
        status = "FINISHED"
        try:
            if spec.program:
                _run_program(spec, run)
            else:
                with run_context().activated(run):
                    _call(function, run)
        except TrialPruned as exc:
            run.set_tag(STOPPED_TAG, str(exc))
            status = "KILLED"
        except Exception as exc:
            run.set_tag(ERROR_TAG, f"{type(exc).__name__}: {exc}"[:4000])
            status = "FAILED"
        run.end(status)
        complete = not spec.program and bool(spec.metric)
        return {"status": status, "value": latest.value, "complete": complete}
    finally:
        if owned:
            tracker.close()


def _run_program(spec: TrialSpec, run: ActiveRun) -> None:
    """``program`` sweeps: the script runs in a child process that resumes the trial's run
    (``MLCORE_RUN_ID``); early termination runs in the child (``MLCORE_SWEEP_TRIAL``, read by
    :func:`attach_from_env`, which ``MLCORE_RUN_ATTACH`` names)."""
    import cloudpickle

    assert spec.program is not None
    argv = program_command(spec.program, spec.command)  # this machine's interpreter
    env = {
        **os.environ,
        "MLCORE_TRACKING_URI": spec.tracking_uri,
        RUN_ID_ENV: spec.run_id,
        RUN_ATTACH_ENV: f"{__name__}:{attach_from_env.__name__}",
        "MLCORE_SWEEP_TRIAL": cloudpickle.dumps(
            TrialSpec(**{**spec.__dict__, "function": None, "local_key": None, "program": None})
        ).hex(),
    }
    result = subprocess.run(list(argv), env=env, capture_output=True, text=True)
    if result.returncode != 0:
        tail = result.stderr.strip().splitlines()[-1:] or [f"exit status {result.returncode}"]
        if STOPPED_TAG in result.stderr or "TrialPruned" in tail[0]:
            raise TrialPruned(tail[0])
        raise RuntimeError(f"{' '.join(argv)} failed: {tail[0]}")


def attach_from_env(run: ActiveRun) -> None:
    """Called with the trial's run once a ``program`` trial's process starts it (the run
    context calls the hook ``MLCORE_RUN_ATTACH`` names)."""
    raw = os.environ.get("MLCORE_SWEEP_TRIAL")
    if not raw:
        return
    import cloudpickle

    spec: TrialSpec = cloudpickle.loads(bytes.fromhex(raw))
    if spec.run_id == run.id and spec.rungs and spec.metric:
        run.add_log_listener(_Watcher(run.tracker, spec))


def program_command(program: str, command: tuple[str, ...] = ()) -> tuple[str, ...]:
    """W&B's ``command`` with ``${program}``/``${interpreter}`` macros, or ``python program``."""
    if not command:
        return (sys.executable, program)
    macros = {"${program}": program, "${interpreter}": sys.executable, "${env}": ""}
    out = []
    for part in command:
        if part == "${args}":
            continue
        for macro, value in macros.items():
            part = part.replace(macro, value)
        if part:
            out.append(part)
    return tuple(out)
