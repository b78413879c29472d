"""``mlcore.init``: W&B's ``wandb.init`` on the run context.

- ``project`` is the experiment; ``entity`` (or ``team``), ``group`` and ``job_type`` are
  stored as the tags ``mlcore.entity``, ``mlcore.group``, ``mlcore.job_type`` (search:
  ``tags.mlcore.group = 'x'``); ``tags=[...]`` become tags with an empty value.
- ``id``: a W&B run id (any short string) maps to the 32-hex mlcore id
  ``sha256("<project>/<id>")[:32]`` (a 32-hex id is used as it is), so the same ``project`` and
  ``id`` always name the same run; the W&B id is kept as the tag ``mlcore.wandb_id``.
- ``resume``: ``"allow"`` (or True) continues the run if it exists, else creates it;
  ``"must"`` requires it; ``"never"`` (and the default) refuses an id already used.
  A resumed run's ``log`` continues after its last stored step.
- ``reinit``: with a run active, the default (and ``True``, ``"finish_previous"``) finishes it
  first; ``"return_previous"`` (or False) returns it; ``"create_new"`` starts a run that is not
  made active (log to it through the returned handle).
- ``mode``: ``"online"`` (the tracking URI), ``"offline"`` (the local embedded store:
  ``<dir>/.mlcore`` when the tracking URI is a server), ``"disabled"`` (a no-op run).
- ``fork_from="<run_id>?_step=<n>"``: a new run whose history starts as a COPY of the
  parent's points up to and including step ``n`` (timestamps kept) and its config; its ``log``
  continues at ``n + 1``; the tag ``mlcore.fork_from`` names the parent and step.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

from mlcore.errors import AlreadyExistsError, InvalidInputError, NotFoundError
from mlcore.tracking.active_run import ENTITY_TAG, FORK_TAG, GROUP_TAG, JOB_TYPE_TAG, ActiveRun

if TYPE_CHECKING:
    from mlcore.tracking.context import RunContext
    from mlcore.tracking.tracker import Tracker

__all__ = ["MODES", "WANDB_ID_TAG", "init_run", "parse_fork_from", "run_id_for"]

WANDB_ID_TAG = "mlcore.wandb_id"
MODES = {"online": "online", "run": "online", "offline": "offline", "dryrun": "offline"}
_HEX32 = re.compile(r"[0-9a-f]{32}")
_REINIT = ("default", "finish_previous", "return_previous", "create_new")
_RESUME = ("allow", "must", "never", "auto")


def run_id_for(project: str | None, run_id: str) -> str:
    """The mlcore run id of W&B id ``run_id`` in ``project`` (a 32-hex id unchanged)."""
    if _HEX32.fullmatch(run_id):
        return run_id
    return hashlib.sha256(f"{project or ''}/{run_id}".encode()).hexdigest()[:32]


def parse_fork_from(value: str) -> tuple[str, int]:
    """``"<run_id>?_step=<n>"`` -> ``(run_id, n)``; InvalidInputError otherwise."""
    match = re.fullmatch(r"([^?]+)\?_step=(\d+)", value.strip()) if isinstance(value, str) else None
    if match is None:
        raise InvalidInputError(
            f"fork_from must be '<run_id>?_step=<n>', got {value!r}", field="fork_from"
        )
    return match.group(1), int(match.group(2))


def _tracker_for(context: RunContext, mode: str, directory: str | None) -> Tracker:
    uri = context.get_tracking_uri()
    remote = uri.startswith(("http://", "https://"))
    explicit = context.tracking_uri is not None or "MLCORE_TRACKING_URI" in os.environ
    if mode == "offline" and remote:
        local = os.path.join(directory or os.getcwd(), ".mlcore")
        return context.worker_tracker(local)
    if directory is not None and not explicit:
        return context.worker_tracker(os.path.join(directory, ".mlcore"))
    return context.default_tracker()


def init_run(
    context: RunContext,
    *,
    project: str | None = None,
    entity: str | None = None,
    name: str | None = None,
    id: str | None = None,
    tags: Collection[str] | Mapping[str, Any] | None = None,
    notes: str | None = None,
    config: Mapping[str, Any] | Any = None,
    group: str | None = None,
    job_type: str | None = None,
    dir: str | os.PathLike[str] | None = None,
    mode: str | None = None,
    resume: str | bool | None = None,
    reinit: str | bool | None = None,
    fork_from: str | None = None,
    config_exclude_keys: Collection[str] | None = None,
    config_include_keys: Collection[str] | None = None,
) -> ActiveRun:
    """See the module docstring and :func:`mlcore.init`."""
    mode = mode or os.environ.get("MLCORE_MODE") or os.environ.get("WANDB_MODE") or "online"
    if mode != "disabled" and mode not in MODES:
        raise InvalidInputError("mode must be 'online', 'offline' or 'disabled'", field="mode")
    if isinstance(reinit, bool) or reinit is None:
        reinit = "return_previous" if reinit is False else "finish_previous"
    if reinit not in _REINIT:
        raise InvalidInputError(f"reinit must be one of {', '.join(_REINIT)}", field="reinit")
    if isinstance(resume, bool) or resume is None:
        resume = "allow" if resume else None
    if resume is not None and resume not in _RESUME:
        raise InvalidInputError(f"resume must be one of {', '.join(_RESUME)}", field="resume")
    if fork_from is not None and resume is not None:
        raise InvalidInputError("fork_from and resume cannot be used together", field="fork_from")
    if resume == "must" and id is None:
        raise InvalidInputError("resume='must' needs the id of the run to resume", field="id")
    if id is not None and (not isinstance(id, str) or not id or "/" in id):
        raise InvalidInputError("id must be a non-empty string without '/'", field="id")
    config_dict = _config(config, config_exclude_keys, config_include_keys)

    current = context.active_run()
    if current is not None and reinit == "return_previous":
        return current
    if current is not None and reinit in ("default", "finish_previous"):
        for run in reversed(context.main_runs()):
            run.end()
        current = context.active_run()
        if current is not None:
            current.end()

    if mode == "disabled":
        from mlcore.tracking.disabled_run import DisabledRun

        disabled = DisabledRun(name, config_dict)
        if reinit != "create_new":
            context.push(disabled)
        return disabled

    tracker = _tracker_for(context, MODES[mode], os.fspath(dir) if dir is not None else None)
    experiment = project or os.environ.get("WANDB_PROJECT") or context.experiment
    given_tags: dict[str, Any] = {}
    if tags is not None:
        from mlcore.stores.checks import run_tags

        given_tags.update(run_tags(tags))
    for key, value in ((ENTITY_TAG, entity), (GROUP_TAG, group), (JOB_TYPE_TAG, job_type)):
        if value is not None:
            given_tags[key] = value

    run_id = run_id_for(project, id) if id is not None else None
    if id is not None and run_id != id:
        given_tags["mlcore.wandb_id"] = id
    exists = False
    if run_id is not None:
        try:
            tracker.store.get_run(run_id)
            exists = True
        except NotFoundError:
            exists = False
    if exists and resume in (None, "never"):
        raise AlreadyExistsError(
            f"run {id!r} exists; pass resume='allow' or resume='must' to continue it"
        )
    if not exists and resume == "must":
        raise NotFoundError(f"no run {id!r} to resume in project {project!r}")

    parent: tuple[str, int] | None = None
    if fork_from is not None:
        parent_id, fork_step = parse_fork_from(fork_from)
        parent_id = run_id_for(project, parent_id)
        parent_run = tracker.get_run(parent_id)  # NotFoundError for an unknown parent
        if run_id == parent_id:
            raise InvalidInputError("a run cannot fork from itself", field="fork_from")
        parent = (parent_id, fork_step)
        given_tags[FORK_TAG] = f"{parent_id}?_step={fork_step}"
        config_dict = {**parent_run.config, **(config_dict or {})}

    if exists:
        handle = tracker.start_run(run_id=run_id)
        handle.resumed = True
        if given_tags:
            handle.set_tags(given_tags)
        if name is not None:
            tracker.update_run(handle.id, name=name)
        if notes is not None:
            handle.set_tag("mlcore.note", notes)
        if config_dict:
            handle.config.update(config_dict)
        handle._step = _next_step(tracker, handle.id)
        handle._run = tracker.store.get_run(handle.id)
    else:
        if run_id is not None:
            tracker.create_run(
                experiment,
                name=name,
                tags=given_tags,
                config=config_dict,
                notes=notes,
                run_id=run_id,
            )
            handle = tracker.start_run(run_id=run_id)
        else:
            handle = tracker.start_run(
                experiment, name=name, tags=given_tags, config=config_dict, notes=notes
            )
        if parent is not None:
            _copy_history(tracker, parent[0], handle.id, parent[1])
            handle._step = parent[1] + 1
    handle.project = tracker.get_experiment(handle.info.experiment_id).name
    if reinit != "create_new":
        context.push(handle)
    return handle


def _config(
    config: Any, exclude: Collection[str] | None, include: Collection[str] | None
) -> dict[str, Any] | None:
    if config is None:
        return None
    if hasattr(config, "as_dict") and not isinstance(config, Mapping):
        config = config.as_dict()
    elif not isinstance(config, Mapping) and hasattr(config, "__dict__"):
        config = vars(config)  # argparse.Namespace, as W&B takes it
    if not isinstance(config, Mapping):
        raise InvalidInputError("config must be a dict (or an argparse Namespace)", field="config")
    values = dict(config)
    if include is not None:
        values = {k: v for k, v in values.items() if k in include}
    if exclude is not None:
        values = {k: v for k, v in values.items() if k not in exclude}
    return values


def _next_step(tracker: Tracker, run_id: str) -> int:
    """The step after the last one stored for any metric of the run."""
    last = -1
    for key in tracker.get_run(run_id).data.metrics:
        steps: list[Any] = tracker.metric_history(run_id, key, max_points=4)["step"].to_pylist()
        if steps:
            last = max(last, *steps)
    return last + 1


def _copy_history(tracker: Tracker, source: str, target: str, max_step: int) -> None:
    """Copy ``source``'s metric points with step <= ``max_step`` into ``target``."""
    points: list[tuple[str, str, float, int, int]] = []
    for key in tracker.get_run(source).data.metrics:
        history = tracker.metric_history(source, key, max_step=max_step)
        steps: list[Any] = history.column("step").to_pylist()
        stamps: list[Any] = history.column("timestamp").to_pylist()
        values: list[Any] = history.column("value").to_pylist()
        points.extend(
            (target, key, float(v), int(t), int(s))
            for s, t, v in zip(steps, stamps, values, strict=True)
        )
    if points:
        tracker._log_points(points)
        tracker.flush()
