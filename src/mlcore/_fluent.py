"""The fluent API: ``mlcore.start_run()``, ``mlcore.log_metric()``...

This module holds the one piece of global state in mlcore: a default :class:`Tracker` and the
stack of active runs. It imports only the standard library at module level, so
``import mlcore`` stays cheap; the tracking machinery is imported on first use.

Active runs: a run started in the main thread is active for every thread that has not started
its own (W&B semantics: a data-loader or callback thread logs to the main run); a run started
in another thread is active in that thread only (what pipeline and sweep workers rely on).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mlcore.errors import InvalidInputError

if TYPE_CHECKING:
    import pyarrow as pa

    from mlcore.flavors import LoadedModel
    from mlcore.stores import RunPage
    from mlcore.tracking import ActiveRun, Artifact, Config, ModelInfo, Tracker
    from mlcore.types import Experiment, FileInfo, ModelVersion, Run

__all__ = [
    "active_run",
    "config",
    "end_run",
    "flush",
    "get_artifact_uri",
    "get_run",
    "get_tracker",
    "get_tracking_uri",
    "load_model",
    "log",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_metric",
    "log_metrics",
    "log_model",
    "log_param",
    "log_params",
    "log_text",
    "metric_history",
    "register_model",
    "search_runs",
    "set_experiment",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_run",
    "use_artifact",
]


class _State:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.tracking_uri: str | None = None
        self.tracker: Tracker | None = None
        self.experiment: str | None = None
        self.global_stack: list[ActiveRun] = []
        self.local = threading.local()


_state = _State()


def _reset_after_fork() -> None:
    # A forked child starts with no active runs and builds its own tracker on first use.
    global _state
    previous = _state
    _state = _State()
    _state.tracking_uri = previous.tracking_uri
    _state.experiment = previous.experiment


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def _register_defaults() -> None:
    """Tell the layers below which tracker and run provider are the defaults (see
    ``mlcore._defaults``)."""
    import sys

    from mlcore import _defaults

    _defaults.set_fluent(lambda: get_tracker(), sys.modules[__name__])


def set_tracking_uri(uri: str | os.PathLike[str]) -> None:
    """Where runs go from now on: a directory (default ``./.mlcore``), ``sqlite:///x.db``,
    ``postgresql://...``, ``http://server:5000``... Runs already active keep their store."""
    text = os.fspath(uri) if isinstance(uri, os.PathLike) else uri
    if not isinstance(text, str) or not text.strip():
        raise InvalidInputError("tracking URI must be a non-empty string", field="uri")
    with _state.lock:
        _state.tracking_uri = text
        _state.tracker = None


def get_tracking_uri() -> str:
    """The tracking URI the fluent API uses."""
    from mlcore._config import tracking_uri_from_env

    return _state.tracking_uri or tracking_uri_from_env()


def get_tracker() -> Tracker:
    """The default :class:`Tracker` behind the fluent API (built on first use)."""
    tracker = _state.tracker
    if tracker is None:
        with _state.lock:
            if _state.tracker is None:
                from mlcore.tracking import Tracker

                _state.tracker = Tracker(get_tracking_uri())
            tracker = _state.tracker
    return tracker


def set_experiment(name: str | None = None, *, experiment_id: str | None = None) -> Experiment:
    """Make ``name`` (created if missing) or ``experiment_id`` the experiment of new runs."""
    tracker = get_tracker()
    if (name is None) == (experiment_id is None):
        raise InvalidInputError("set_experiment needs exactly one of name or experiment_id")
    if name is not None:
        experiment = tracker.get_or_create_experiment(name)
    else:
        experiment = tracker.get_experiment(str(experiment_id))
    if experiment.lifecycle_stage.value != "active":
        raise InvalidInputError(
            f"experiment {experiment.name!r} is deleted; restore it first", field="experiment"
        )
    _state.experiment = experiment.experiment_id
    return experiment


def _local_stack() -> list[ActiveRun]:
    stack: list[ActiveRun] | None = getattr(_state.local, "stack", None)
    if stack is None:
        stack = _state.local.stack = []
    return stack


def active_run() -> ActiveRun | None:
    """The run fluent calls log to in this thread, or None."""
    local: list[ActiveRun] | None = getattr(_state.local, "stack", None)
    if local:
        return local[-1]
    stack = _state.global_stack
    return stack[-1] if stack else None


def start_run(
    name: str | None = None,
    *,
    tags: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
    notes: str | None = None,
    nested: bool = False,
    run_id: str | None = None,
    experiment: str | None = None,
    parent_run_id: str | None = None,
) -> ActiveRun:
    """Start a run and make it active; use it as a context manager to end it.

    Args:
        name: run name (generated when omitted).
        tags: initial tags.
        config: W&B-style config; readable as ``run.config.x`` / ``mlcore.config.x`` and
            searchable as params.
        notes: free text, stored as the ``mlcore.note`` tag.
        nested: start a child of the active run (otherwise an active run is an error).
        run_id: resume an existing run instead of creating one.
        experiment: experiment name or id (default: the one from ``set_experiment``).
        parent_run_id: explicit parent.

    Raises:
        InvalidInputError: a run is already active in this thread and ``nested`` is False.
    """
    current = active_run()
    if current is not None and not nested and parent_run_id is None and run_id is None:
        raise InvalidInputError(
            f"run {current.id} is already active; end it first, or pass nested=True for a "
            "child run",
            field="nested",
        )
    sweep_trial = False
    if run_id is None and current is None and os.environ.get("MLCORE_RUN_ID"):
        run_id = os.environ["MLCORE_RUN_ID"]  # a run prepared for this process (sweep trial)
        sweep_trial = bool(os.environ.get("MLCORE_SWEEP_TRIAL"))
    parent = parent_run_id or (current.id if nested and current is not None else None)
    tracker = current.tracker if nested and current is not None else get_tracker()
    handle = tracker.start_run(
        experiment if experiment is not None else _state.experiment,
        name=name,
        tags=tags,
        config=config,
        notes=notes,
        parent_run_id=parent,
        run_id=run_id,
    )
    stack = (
        _state.global_stack
        if threading.current_thread() is threading.main_thread()
        else _local_stack()
    )
    stack.append(handle)
    if sweep_trial:
        from mlcore.sweep.trial import attach_from_env

        attach_from_env(handle)

    def pop(run: ActiveRun) -> None:
        with _state.lock:
            if run in stack:
                stack.remove(run)

    handle.add_end_callback(pop)
    return handle


@contextlib.contextmanager
def activated(run: ActiveRun) -> Iterator[ActiveRun]:
    """Make ``run`` the active run of this thread for the block, without ending it after
    (how pipeline steps and sweep trials see their own run)."""
    stack = _local_stack()
    stack.append(run)
    try:
        yield run
    finally:
        if run in stack:
            stack.remove(run)


def end_run(status: str = "FINISHED") -> None:
    """End the active run (no-op when none is active)."""
    run = active_run()
    if run is not None:
        run.end(status)


def _run() -> ActiveRun:
    """The active run, starting one (like MLflow) when none is."""
    run = active_run()
    return run if run is not None else start_run()


def log_metric(
    key: str, value: float, step: int | None = None, timestamp: int | None = None
) -> None:
    """Log one metric point (buffered; about a microsecond)."""
    _run().log_metric(key, value, step, timestamp)


def log_metrics(metrics: Mapping[str, float], step: int | None = None) -> None:
    _run().log_metrics(metrics, step)


def log(data: Mapping[str, Any], step: int | None = None, commit: bool = True) -> None:
    """W&B-style: log a dict of numbers; each call is the next step unless given."""
    _run().log(data, step=step, commit=commit)


def log_param(key: str, value: Any) -> None:
    _run().log_param(key, value)


def log_params(params: Mapping[str, Any]) -> None:
    _run().log_params(params)


def set_tag(key: str, value: Any) -> None:
    _run().set_tag(key, value)


def set_tags(tags: Mapping[str, Any]) -> None:
    _run().set_tags(tags)


def log_artifact(
    local_path: str | os.PathLike[str] | Artifact,
    artifact_path: str | None = None,
    *,
    aliases: Sequence[str] = (),
) -> FileInfo | Artifact:
    """Log a file into the active run's artifacts, or a versioned :class:`mlcore.Artifact`."""
    return _run().log_artifact(local_path, artifact_path, aliases=aliases)


def use_artifact(ref: str) -> Artifact:
    """Use a versioned artifact (``name:v3``, ``name:latest``, ``name:alias``) in the active
    run; ``.download()`` fetches it."""
    return _run().use_artifact(ref)


def log_model(model: Any, artifact_path: str = "model", **options: Any) -> ModelInfo:
    """Log a model to the active run (flavor detected); see :meth:`mlcore.Tracker.log_model`."""
    return _run().log_model(model, artifact_path, **options)


def load_model(model_uri: str, *, trust_unrecorded: bool | None = None) -> LoadedModel:
    """Load a model (``runs:/...``, ``models:/name@alias``, ``models:/name/Production``...),
    verified, with a generic ``predict``. A local path has no recorded hash: it loads only
    with ``trust_unrecorded=True`` (or ``MLCORE_TRUST_UNRECORDED_MODELS=1``)."""
    model: LoadedModel = get_tracker().load_model(model_uri, trust_unrecorded=trust_unrecorded)
    return model


def register_model(
    model_uri: str,
    name: str,
    tags: Mapping[str, Any] | None = None,
    description: str | None = None,
) -> ModelVersion:
    """Register the model at ``model_uri`` as the next version of ``name``."""
    from mlcore.registry import Registry

    return Registry(tracker=get_tracker()).create_version(
        name, model_uri, tags=tags, description=description
    )


def log_artifacts(
    local_dir: str | os.PathLike[str], artifact_path: str | None = None
) -> list[FileInfo]:
    return _run().log_artifacts(local_dir, artifact_path)


def log_dict(dictionary: Any, artifact_file: str) -> FileInfo:
    return _run().log_dict(dictionary, artifact_file)


def log_text(text: str, artifact_file: str) -> FileInfo:
    return _run().log_text(text, artifact_file)


def log_figure(figure: Any, artifact_file: str) -> FileInfo:
    return _run().log_figure(figure, artifact_file)


def get_artifact_uri(artifact_path: str | None = None) -> str:
    """The URI of ``artifact_path`` in the active run's artifact store."""
    run = _run()
    return run.tracker.artifact_store(run.id).uri(artifact_path or "")


def flush() -> None:
    """Wait until everything logged through the fluent API is stored."""
    trackers = {id(r.tracker): r.tracker for r in _state.global_stack}
    if _state.tracker is not None:
        trackers[id(_state.tracker)] = _state.tracker
    for tracker in trackers.values():
        tracker.flush()


def get_run(run_id: str) -> Run:
    return get_tracker().get_run(run_id)


def metric_history(run_id: str, key: str) -> pa.Table:
    return get_tracker().metric_history(run_id, key)


def search_runs(
    experiments: str | Sequence[str] | None = None,
    filter: str | None = None,
    order_by: Sequence[str] | str | None = None,
    max_results: int = 1000,
    page_token: str | None = None,
) -> RunPage:
    """Search runs of ``experiments`` (default: the current experiment if one was set,
    else all). See :meth:`Tracker.search_runs`."""
    if experiments is None and _state.experiment is not None:
        experiments = [_state.experiment]
    return get_tracker().search_runs(experiments, filter, order_by, max_results, page_token)


class _ConfigProxy:
    """``mlcore.config``: the config of the active run (W&B's ``wandb.config``)."""

    def _target(self) -> Config:
        run = active_run()
        if run is None:
            raise AttributeError("mlcore.config: no active run; call mlcore.start_run() first")
        return run.config

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._target(), name)

    def __getitem__(self, key: str) -> Any:
        return self._target()[key]

    def __contains__(self, key: object) -> bool:
        run = active_run()
        return run is not None and key in run.config

    def __iter__(self) -> Any:
        return iter(self._target())

    def __len__(self) -> int:
        return len(self._target())

    def __setattr__(self, name: str, value: Any) -> None:
        _run().config.update({name: value})

    def __setitem__(self, key: str, value: Any) -> None:
        _run().config.update({key: value})

    def update(self, values: Mapping[str, Any] | None = None, **more: Any) -> None:
        _run().config.update(values, **more)

    def get(self, key: str, default: Any = None) -> Any:
        run = active_run()
        return run.config.get(key, default) if run is not None else default

    def as_dict(self) -> dict[str, Any]:
        run = active_run()
        return run.config.as_dict() if run is not None else {}

    def __repr__(self) -> str:
        return f"mlcore.config({self.as_dict()!r})"


config = _ConfigProxy()


_register_defaults()
