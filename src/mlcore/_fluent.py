"""The fluent API: ``mlcore.start_run()``, ``mlcore.log_metric()``...

A thin facade over the process's run context (:mod:`mlcore.tracking.context`): its default
:class:`Tracker`, current experiment and active runs. This module imports only the standard
library at module level, so ``import mlcore`` stays cheap; the run context and the tracking
machinery are imported on first use.

Active runs: a run started in the main thread is active for every thread that has not started
its own (W&B semantics: a data-loader or callback thread logs to the main run); a run started
in another thread is active in that thread only (what pipeline and sweep workers rely on).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Literal, overload

from mlcore.errors import InvalidInputError

if TYPE_CHECKING:
    import pyarrow as pa

    from mlcore.flavors import LoadedModel
    from mlcore.stores import RunPage
    from mlcore.tracking import ActiveRun, Artifact, Config, ModelInfo, Tracker
    from mlcore.tracking.context import RunContext
    from mlcore.types import Experiment, FileInfo, ModelVersion, Run

    _state: RunContext  # the process's run context, served by __getattr__

__all__ = [
    "active_run",
    "config",
    "define_metric",
    "end_run",
    "finish",
    "flush",
    "get_artifact_uri",
    "get_run",
    "get_tracker",
    "get_tracking_uri",
    "init",
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
    "save",
    "search_runs",
    "set_experiment",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_run",
    "unwatch",
    "use_artifact",
    "watch",
]

# The process's run context, set on first use; ``(_context or _load())`` keeps the hot path
# (``log_metric``) to one check.
_context: RunContext | None = None


def _load() -> RunContext:
    """The process's run context (imported on first use)."""
    global _context
    from mlcore.tracking.context import run_context

    _context = run_context()
    return _context


def __getattr__(name: str) -> Any:
    if name == "_state":  # the run context, under the name tests and mlcore.testing use
        return _context or _load()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def set_tracking_uri(uri: str | os.PathLike[str]) -> None:
    """Where runs go from now on: a directory (default ``./.mlcore``), ``sqlite:///x.db``,
    ``postgresql://...``, ``http://server:5000``... Runs already active keep their store."""
    (_context or _load()).set_tracking_uri(uri)


def get_tracking_uri() -> str:
    """The tracking URI the fluent API uses."""
    return (_context or _load()).get_tracking_uri()


def get_tracker() -> Tracker:
    """The default :class:`Tracker` behind the fluent API (built on first use)."""
    return (_context or _load()).default_tracker()


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
    (_context or _load()).experiment = experiment.experiment_id
    return experiment


def active_run() -> ActiveRun | None:
    """The run fluent calls log to in this thread, or None."""
    return (_context or _load()).active_run()


def start_run(
    name: str | None = None,
    *,
    tags: Mapping[str, Any] | Collection[str] | None = None,
    config: Mapping[str, Any] | None = None,
    notes: str | None = None,
    nested: bool = False,
    run_id: str | None = None,
    experiment: str | None = None,
    parent_run_id: str | None = None,
    run_name: str | None = None,
) -> ActiveRun:
    """Start a run and make it active; use it as a context manager to end it.

    Args:
        name: run name (generated when omitted).
        tags: initial tags: a mapping, or a list of names as W&B takes them (each becomes a
            tag with an empty value, ``tags.<name> IS NOT NULL`` in a search).
        config: W&B-style config; readable as ``run.config.x`` / ``mlcore.config.x`` and
            searchable as params.
        notes: free text, stored as the ``mlcore.note`` tag.
        nested: start a child of the active run (otherwise an active run is an error).
        run_id: resume an existing run instead of creating one.
        experiment: experiment name or id (default: the one from ``set_experiment``).
        parent_run_id: explicit parent.
        run_name: MLflow's name for ``name``.

    Raises:
        InvalidInputError: a run is already active in this thread and ``nested`` is False.
        TypeError: both ``name`` and ``run_name`` given.
    """
    from mlcore._validation import mlflow_alias

    return (_context or _load()).start_run(
        mlflow_alias("start_run", "name", name, "run_name", run_name),
        tags=tags,
        config=config,
        notes=notes,
        nested=nested,
        run_id=run_id,
        experiment=experiment,
        parent_run_id=parent_run_id,
    )


def activated(run: ActiveRun) -> AbstractContextManager[ActiveRun]:
    """Make ``run`` the active run of this thread for the block, without ending it after
    (how pipeline steps and sweep trials see their own run)."""
    return (_context or _load()).activated(run)


def end_run(status: str = "FINISHED") -> None:
    """End the active run (no-op when none is active)."""
    run = active_run()
    if run is not None:
        run.end(status)


def init(
    project: str | None = None,
    entity: str | None = None,
    name: str | None = None,
    id: str | None = None,
    tags: Sequence[str] | Mapping[str, Any] | None = None,
    notes: str | None = None,
    config: Mapping[str, Any] | Any = None,
    group: str | None = None,
    job_type: str | None = None,
    dir: str | os.PathLike[str] | None = None,
    mode: str | None = None,
    resume: str | bool | None = None,
    reinit: str | bool | None = None,
    fork_from: str | None = None,
    *,
    team: str | None = None,
    config_exclude_keys: Sequence[str] | None = None,
    config_include_keys: Sequence[str] | None = None,
    **ignored: Any,
) -> ActiveRun:
    """Start a run as ``wandb.init`` does and make it active; returns it (a context manager).

    ``project`` is the experiment; ``entity`` (or ``team``), ``group`` and ``job_type`` are
    stored as the tags ``mlcore.entity``, ``mlcore.group``, ``mlcore.job_type``; ``tags`` a
    list of names; ``notes`` the ``mlcore.note`` tag. ``mode``: ``"online"``, ``"offline"``
    (the local embedded store) or ``"disabled"`` (every call a no-op). ``resume``:
    ``"allow"``, ``"must"``, ``"never"`` with ``id``. A run already active is finished first
    unless ``reinit`` is ``"return_previous"`` or ``"create_new"``. ``fork_from=
    "<run_id>?_step=<n>"`` starts a run holding a copy of that run's history up to step
    ``n``. W&B options with no meaning here (``anonymous``, ``save_code``, ``settings``,
    ``allow_val_change``, ``sync_tensorboard``, ``monitor_gym``, ``magic``) are accepted
    and ignored; any other keyword is a ``TypeError``. See docs/coming-from-wandb.md.
    """
    unknown = set(ignored) - _IGNORED_INIT_OPTIONS
    if unknown:
        raise TypeError(f"init() got unexpected keyword arguments: {', '.join(sorted(unknown))}")
    if team is not None and entity is not None and team != entity:
        raise InvalidInputError("give entity or team, not both", field="team")
    from mlcore.tracking.run_init import init_run

    return init_run(
        _context or _load(),
        project=project,
        entity=entity if entity is not None else team,
        name=name,
        id=id,
        tags=tags,
        notes=notes,
        config=config,
        group=group,
        job_type=job_type,
        dir=dir,
        mode=mode,
        resume=resume,
        reinit=reinit,
        fork_from=fork_from,
        config_exclude_keys=config_exclude_keys,
        config_include_keys=config_include_keys,
    )


_IGNORED_INIT_OPTIONS = frozenset(
    {
        "anonymous",
        "save_code",
        "settings",
        "allow_val_change",
        "sync_tensorboard",
        "monitor_gym",
        "magic",
        "tensorboard",
    }
)


def finish(exit_code: int | None = None, quiet: bool | None = None) -> None:
    """End the active run (W&B's ``wandb.finish``): FAILED for a non-zero ``exit_code``."""
    run = active_run()
    if run is not None:
        run.finish(exit_code)


def define_metric(
    name: str,
    step_metric: str | None = None,
    *,
    summary: str | None = None,
    goal: str | None = None,
    hidden: bool | None = None,
    step_sync: bool | None = None,
    overwrite: bool | None = None,
) -> dict[str, Any]:
    """How a metric of the active run is summarised; see :meth:`ActiveRun.define_metric`."""
    return _run().define_metric(
        name,
        step_metric,
        summary=summary,
        goal=goal,
        hidden=hidden,
        step_sync=step_sync,
        overwrite=overwrite,
    )


def watch(
    models: Any,
    criterion: Any = None,
    log: str | None = "gradients",
    log_freq: int = 1000,
    idx: int | None = None,
    log_graph: bool = False,
) -> Any:
    """Log a torch model's gradients and/or parameters every ``log_freq`` steps into the
    active run (W&B's ``wandb.watch``); watching again continues its step counters. A list
    or tuple of models watches each."""
    from mlcore.autolog.torch_watch import watch as _watch

    run = _run()
    if log is None:
        return None
    if isinstance(models, (list, tuple)):
        return [_watch(model, log=log, log_freq=log_freq, run=run) for model in models]
    return _watch(models, log=log, log_freq=log_freq, run=run)


def unwatch(models: Any = None) -> None:
    """Stop watching ``models`` (and store their histograms)."""
    from mlcore.autolog.torch_watch import unwatch as _unwatch

    for model in models if isinstance(models, (list, tuple)) else [models]:
        if model is not None:
            _unwatch(model)


def save(
    glob_str: str | os.PathLike[str],
    base_path: str | os.PathLike[str] | None = None,
    policy: str = "live",
) -> list[str]:
    """Store files matching ``glob_str`` with the active run (W&B's ``wandb.save``); see
    :meth:`ActiveRun.save`."""
    return _run().save(glob_str, base_path, policy)


def _run() -> ActiveRun:
    """The active run, starting one (like MLflow) when none is."""
    run = (_context or _load()).active_run()
    return run if run is not None else start_run()


# The logging calls read the run active in every thread (``shared_run``: one attribute) and
# only look further (this thread's own run, or a new one) when there is none.


def log_metric(
    key: str, value: float, step: int | None = None, timestamp: int | None = None
) -> None:
    """Log one metric point (buffered; about a microsecond)."""
    ((_context or _load()).shared_run or _run()).log_metric(key, value, step, timestamp)


def log_metrics(metrics: Mapping[str, float], step: int | None = None) -> None:
    ((_context or _load()).shared_run or _run()).log_metrics(metrics, step)


def log(data: Mapping[str, Any], step: int | None = None, commit: bool | None = None) -> None:
    """W&B-style: log a dict of numbers and media into the active run's history; each call
    is the next step unless ``commit=False`` or ``step`` says otherwise (see
    :meth:`ActiveRun.log`)."""
    ((_context or _load()).shared_run or _run()).log(data, step=step, commit=commit)


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


def log_model(
    model: Any, artifact_path: str | None = None, *, name: str | None = None, **options: Any
) -> ModelInfo:
    """Log a model to the active run (flavor detected); see :meth:`mlcore.Tracker.log_model`.
    ``name`` is MLflow 3's name for ``artifact_path`` (default ``model``)."""
    return _run().log_model(model, artifact_path, name=name, **options)


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
    (_context or _load()).flush()


def get_run(run_id: str) -> Run:
    return get_tracker().get_run(run_id)


def metric_history(
    run_id: str,
    key: str,
    *,
    max_points: int | None = None,
    min_step: int | None = None,
    max_step: int | None = None,
) -> pa.Table:
    """A metric's points, ``max_points`` downsampled keeping extremes: see
    :meth:`Tracker.metric_history`."""
    return get_tracker().metric_history(
        run_id, key, max_points=max_points, min_step=min_step, max_step=max_step
    )


@overload
def search_runs(
    experiments: str | Sequence[str] | None = None,
    filter: str | None = None,
    order_by: Sequence[str] | str | None = None,
    max_results: int = 1000,
    page_token: str | None = None,
    *,
    experiment_ids: str | Sequence[str] | None = None,
    experiment_names: str | Sequence[str] | None = None,
    filter_string: str | None = None,
    output_format: None = None,
) -> RunPage: ...


@overload
def search_runs(
    experiments: str | Sequence[str] | None = None,
    filter: str | None = None,
    order_by: Sequence[str] | str | None = None,
    max_results: int = 1000,
    page_token: str | None = None,
    *,
    experiment_ids: str | Sequence[str] | None = None,
    experiment_names: str | Sequence[str] | None = None,
    filter_string: str | None = None,
    output_format: Literal["list"],
) -> list[Run]: ...


@overload
def search_runs(
    experiments: str | Sequence[str] | None = None,
    filter: str | None = None,
    order_by: Sequence[str] | str | None = None,
    max_results: int = 1000,
    page_token: str | None = None,
    *,
    experiment_ids: str | Sequence[str] | None = None,
    experiment_names: str | Sequence[str] | None = None,
    filter_string: str | None = None,
    output_format: Literal["pandas"],
) -> Any: ...


def search_runs(
    experiments: str | Sequence[str] | None = None,
    filter: str | None = None,
    order_by: Sequence[str] | str | None = None,
    max_results: int = 1000,
    page_token: str | None = None,
    *,
    experiment_ids: str | Sequence[str] | None = None,
    experiment_names: str | Sequence[str] | None = None,
    filter_string: str | None = None,
    output_format: Literal["pandas", "list"] | None = None,
) -> Any:
    """Search runs of ``experiments`` (default: the current experiment if one was set,
    else all). See :meth:`Tracker.search_runs`.

    MLflow's spellings: ``experiment_ids``/``experiment_names`` for ``experiments``,
    ``filter_string`` for ``filter``. Without ``output_format`` one page comes back (a
    :class:`RunPage`); with ``output_format="list"`` (a list of runs) or ``"pandas"`` (a
    DataFrame: ``run_id``, ``run_name``, ``status``, times, ``params.*``, ``metrics.*``,
    ``tags.*``) every page up to ``max_results`` runs, as ``mlflow.search_runs`` returns.

    Raises:
        TypeError: a value given under both spellings.
        InvalidInputError: an unknown ``output_format``.
    """
    from mlcore._validation import mlflow_alias, mlflow_experiments

    experiments = mlflow_experiments(experiments, experiment_ids, experiment_names)
    filter = mlflow_alias("search_runs", "filter", filter, "filter_string", filter_string or None)
    if output_format not in (None, "list", "pandas"):
        raise InvalidInputError(
            f"output_format must be 'pandas' or 'list', got {output_format!r}",
            field="output_format",
        )
    current = (_context or _load()).experiment
    if experiments is None and current is not None:
        experiments = [current]
    tracker = get_tracker()
    page = tracker.search_runs(experiments, filter, order_by, max_results, page_token)
    if output_format is None:
        return page
    runs: list[Run] = list(page)
    while page.next_page_token is not None and len(runs) < max_results:
        page = tracker.search_runs(
            experiments, filter, order_by, max_results - len(runs), page.next_page_token
        )
        runs.extend(page)
    if output_format == "list":
        return runs
    from mlcore.tracking.tables import runs_to_table

    return runs_to_table(runs).to_pandas()


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
