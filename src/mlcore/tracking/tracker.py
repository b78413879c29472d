"""``Tracker``: the tracking client for embedding — no global state, one per store.

Several trackers on different stores can live in one process; each owns its store, its
artifact stores and its batching writer.
"""

from __future__ import annotations

import io
import os
import threading
import time
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, cast, overload

from mlcore import _config
from mlcore import _validation as check
from mlcore.errors import InvalidInputError, NotFoundError
from mlcore.stores import MetadataStore, NewRun, RunPage, RunUpdate, resolve_store
from mlcore.stores.base import check_run_id
from mlcore.stores.checks import run_tags
from mlcore.tracking import lifecycle
from mlcore.tracking.active_run import ActiveRun
from mlcore.tracking.run_source import generate_run_name, source_tags
from mlcore.tracking.writer import BatchWriter
from mlcore.uris import validate_artifact_path

# Artifacts, models (flavors, pydantic), tables (pyarrow) and lineage are imported where they
# are used, so that opening a store and logging metrics loads none of them.
if TYPE_CHECKING:
    import pyarrow as pa

    from mlcore.artifacts import ArtifactStore
    from mlcore.stores.base import MetricPoint
    from mlcore.tracking.artifact_versions import Artifact
    from mlcore.tracking.bulk_runs import RunEnd, RunSpec
    from mlcore.tracking.models import ModelInfo
    from mlcore.types import Experiment, FileInfo, LineageGraph, Metric, Run, RunInfo

__all__ = ["Tracker"]

_MAX_CACHED_KEYS = 100_000
_HEX_DIGITS = frozenset("0123456789abcdef")


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _check_new_run_id(run_id: object) -> None:
    if run_id is not None and not (
        isinstance(run_id, str) and len(run_id) == 32 and set(run_id) <= _HEX_DIGITS
    ):
        raise InvalidInputError("run_id must be 32 lower-case hex digits", field="run_id")


class Tracker:
    """Experiment tracking against one store.

    Args:
        tracking_uri: where metadata lives: a directory (``./.mlcore``, the default),
            ``sqlite:///path.db``, ``postgresql://...``, or any scheme a plugin registers.
            Default: ``$MLCORE_TRACKING_URI``, else ``./.mlcore``.
        artifact_uri: root for the artifacts of new experiments (``file://``, ``s3://``...).
        store: an already built store (then ``tracking_uri`` is only informative).

    Example:
        >>> tracker = Tracker("sqlite:///:memory:")
        >>> with tracker.start_run(experiment="demo", config={"lr": 0.1}) as run:
        ...     run.log_metric("loss", 0.5, step=1)
        >>> tracker.get_run(run.id).data.metrics
        {'loss': 0.5}
    """

    def __init__(
        self,
        tracking_uri: str | None = None,
        *,
        artifact_uri: str | None = None,
        store: MetadataStore | None = None,
    ) -> None:
        self.tracking_uri = tracking_uri or _config.tracking_uri_from_env()
        # a plugin may implement tracking only (mlcore.stores.TrackingStore); registry and
        # artifact-version use should go through mlcore.stores.require_registry /
        # require_artifact_versions, which say what such a store lacks
        self._store = cast(
            "MetadataStore", store or resolve_store(self.tracking_uri, artifact_uri=artifact_uri)
        )
        self._writer = BatchWriter(
            self._store,
            interval=_config.flush_interval(),
            heartbeat_interval=_config.heartbeat_interval(),
            heartbeat_timeout=_config.heartbeat_timeout(),
        )
        self._artifact_stores: dict[str, ArtifactStore] = {}
        self._known_runs: set[str] = set()
        self._fresh_runs: dict[str, Run] = {}  # created in bulk, not resumed yet
        self._valid_keys: set[str] = set()
        # (is the default, name or id as text) -> experiment id
        self._known_experiments: dict[tuple[bool, str], str] = {}
        self._open_runs: dict[str, ActiveRun] = {}
        self._lock = threading.Lock()
        self._closed = False
        lifecycle.register_tracker(self)

    def __repr__(self) -> str:
        return f"Tracker({self._store.display_name!r})"

    @property
    def store(self) -> MetadataStore:
        """The metadata store this tracker writes to."""
        return self._store

    # -- experiments ---------------------------------------------------------------------------
    def create_experiment(
        self,
        name: str,
        *,
        artifact_location: str | None = None,
        tags: Mapping[str, Any] | None = None,
        description: str | None = None,
    ) -> Experiment:
        """Create an experiment; AlreadyExistsError if the name is taken."""
        return self._store.create_experiment(
            name, artifact_location=artifact_location, tags=tags, description=description
        )

    def get_experiment(self, experiment_id: str) -> Experiment:
        return self._store.get_experiment(experiment_id)

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        return self._store.get_experiment_by_name(name)

    def get_or_create_experiment(self, name: str) -> Experiment:
        """The experiment called ``name``, created if missing (safe under concurrent callers)."""
        from mlcore.errors import AlreadyExistsError

        found = self._store.get_experiment_by_name(name)
        if found is not None:
            return found
        try:
            return self._store.create_experiment(name)
        except AlreadyExistsError:
            found = self._store.get_experiment_by_name(name)
            if found is None:  # pragma: no cover - deleted between the two calls
                raise
            return found

    def experiment(self, name_or_id: str) -> Experiment:
        """Look an experiment up by name, else by id; NotFoundError if neither matches."""
        if not isinstance(name_or_id, (str, int)):
            raise InvalidInputError(
                f"an experiment is named by its name or id, got {type(name_or_id).__name__}",
                field="experiment",
            )
        text = str(name_or_id)
        found = self._store.get_experiment_by_name(text) if text.strip() else None
        if found is not None:
            return found
        if text.isdigit():
            return self._store.get_experiment(text)
        raise NotFoundError(f"experiment {text!r} not found")

    def list_experiments(self, view: str = "active") -> list[Experiment]:
        return self._store.search_experiments(view)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self._known_experiments.clear()
        self._store.rename_experiment(experiment_id, new_name)

    def delete_experiment(self, experiment_id: str) -> None:
        self._known_experiments.clear()
        self._store.delete_experiment(experiment_id)

    def restore_experiment(self, experiment_id: str) -> None:
        self._known_experiments.clear()
        self._store.restore_experiment(experiment_id)

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        self._store.set_experiment_tag(experiment_id, key, value)

    # -- runs ------------------------------------------------------------------------------------
    def create_run(
        self,
        experiment: str | None = None,
        *,
        name: str | None = None,
        tags: Mapping[str, Any] | Collection[str] | None = None,
        config: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        notes: str | None = None,
        parent_run_id: str | None = None,
        start_time: int | None = None,
        heartbeat: bool = False,
        experiment_id: str | None = None,
        run_id: str | None = None,
    ) -> Run:
        """Create a RUNNING run (MLflow's ``create_run``); ``start_run`` also tracks it.

        Args:
            experiment: experiment name or id; created if a name does not exist yet.
                Default: ``$MLCORE_EXPERIMENT_NAME`` or ``Default``.
            experiment_id: an experiment's id, used as it is (no lookup by name); instead
                of ``experiment``.
            run_id: the new run's id (32 lower-case hex digits) instead of a random one;
                ``AlreadyExistsError`` if a run has it (how a sweep's agents claim a trial).
            heartbeat: keep the run alive with this process's heartbeat, so it reads as
                CRASHED if the process dies.
            tags: a mapping, or a list/tuple/set of names as W&B takes them (each becomes a
                tag with an empty value); anything else is an ``InvalidInputError``.
        """
        given_tags = run_tags(tags)
        experiment_id = self._target_experiment(experiment, experiment_id)
        _check_new_run_id(run_id)
        all_tags = {**source_tags(), **given_tags}
        if notes is not None:
            all_tags["mlcore.note"] = notes
        run = self._store.create_run(
            experiment_id,
            name=name if name is not None else generate_run_name(),
            start_time=start_time if start_time is not None else _now_ms(),
            tags=all_tags,
            parent_run_id=parent_run_id,
            config=config,
            params=params,
            alive_until=self._writer.alive_until() if heartbeat else None,
            run_id=run_id,
        )
        self._remember_run(run.info.run_id)
        if heartbeat:
            self._writer.register_run(run.info.run_id)
        return run

    def create_runs(
        self,
        runs: Sequence[RunSpec],
        *,
        experiment: str | None = None,
        experiment_id: str | None = None,
        end: Sequence[RunEnd] = (),
        tag_source: bool = False,
    ) -> list[Run]:
        """Create RUNNING runs in bulk, in order, kept alive by this process's heartbeat
        (unless a spec says ``heartbeat=False``) until :meth:`end_runs` or :meth:`end_run`.

        The runs, and the ends of ``end`` (see :meth:`end_runs`), are stored in one
        transaction, all or none; a run with a ``config`` is created in a transaction of its
        own, after the ends. What a pipeline does when steps end and others start; a sweep
        claims a trial with one run of a given ``run_id``.

        Args:
            runs: the runs to create (all in one experiment, with one start time).
            experiment: experiment name or id, as for :meth:`create_run`.
            experiment_id: an experiment's id, used as it is; instead of ``experiment``.
            end: runs to end in the same transaction.
            tag_source: add the tags that describe this program (``mlcore.source.*``), as
                :meth:`create_run` does; otherwise tags are stored as given.

        Raises:
            InvalidInputError: both experiments given, a malformed ``run_id``, a bad name,
                status or tag (nothing is created).
            NotFoundError: unknown experiment or parent run (nothing is created).
            AlreadyExistsError: a run has one of the given run ids (nothing is created).
        """
        experiment_id = self._target_experiment(experiment, experiment_id)
        for spec in runs:
            _check_new_run_id(spec.run_id)
        now = _now_ms()
        ends = self._ending(end, now)
        alive_until = self._writer.alive_until()
        if tag_source:
            source = source_tags()
            runs = [replace(spec, tags={**source, **spec.tags}) for spec in runs]
        if all(spec.config is None for spec in runs):
            created = self._store.create_runs(
                experiment_id,
                [
                    NewRun(
                        name=spec.name if spec.name is not None else generate_run_name(),
                        start_time=now,
                        tags=spec.tags,
                        params=spec.params,
                        parent_run_id=spec.parent_run_id,
                        alive_until=alive_until if spec.heartbeat else None,
                        run_id=spec.run_id,
                    )
                    for spec in runs
                ],
                updates=ends,
            )
        else:  # the store's bulk path takes params only
            self._store.update_runs(ends)
            created = [
                self._store.create_run(
                    experiment_id,
                    name=spec.name if spec.name is not None else generate_run_name(),
                    start_time=now,
                    tags=spec.tags,
                    parent_run_id=spec.parent_run_id,
                    config=spec.config,
                    params=spec.params,
                    alive_until=alive_until if spec.heartbeat else None,
                    run_id=spec.run_id,
                )
                for spec in runs
            ]
        for spec, run in zip(runs, created):
            self._remember_run(run.info.run_id)
            if spec.heartbeat:
                self._writer.register_run(run.info.run_id)
                self._keep_fresh(run)
        return created

    def _keep_fresh(self, run: Run) -> None:
        """Remember a run just created in bulk until it is resumed here (how a sweep's trial
        starts the run its agent claimed): the resume then needs no read. Forgotten when this
        tracker changes the run's info or config."""
        if len(self._fresh_runs) > 1000:
            self._fresh_runs.clear()
        self._fresh_runs[run.info.run_id] = run

    def end_runs(self, runs: Sequence[RunEnd]) -> None:
        """End runs in bulk: their status, end time and tags, in one transaction. Unlike
        :meth:`end_run` it neither flushes buffered metrics nor compacts them first (the
        writer stores them as usual): what a scheduler ending many runs at once needs."""
        self._store.update_runs(self._ending(runs, _now_ms()))

    def _ending(self, runs: Sequence[RunEnd], now: int) -> list[RunUpdate]:
        """The store's updates for ``runs``, whose heartbeat stops here."""
        updates = [
            RunUpdate(
                check_run_id(end.run_id),
                end.status,
                end.end_time if end.end_time is not None else now,
                end.tags,
            )
            for end in runs
        ]
        for update in updates:
            self._writer.unregister_run(update.run_id)
            self._fresh_runs.pop(update.run_id, None)
        return updates

    def resolve_experiment_id(self, experiment: str | None = None) -> str:
        """The id of ``experiment``, a name or an id; a name not known yet is created (as
        :meth:`create_run` does). None: ``$MLCORE_EXPERIMENT_NAME``, else ``Default``."""
        if experiment is None:
            name = _config.env_str("MLCORE_EXPERIMENT_NAME") or _config.DEFAULT_EXPERIMENT
            known = self._known_experiments.get((True, name))
            if known is None:
                known = self.get_or_create_experiment(name).experiment_id
                self._remember_experiment((True, name), known)
            return known
        return self._experiment_id_of(str(experiment))

    def _experiment_id_of(self, text: str) -> str:
        """The id of the experiment named (else numbered) ``text``, created if missing.

        Remembered per tracker: a run start costs no lookup. A rename or delete through this
        tracker forgets what it remembered; the store still refuses runs in a deleted
        experiment.
        """
        known = self._known_experiments.get((False, text))
        if known is not None:
            return known
        found = self._store.get_experiment_by_name(text)
        if found is not None:
            experiment_id = found.experiment_id
        elif text.isdigit():
            experiment_id = self._store.get_experiment(text).experiment_id
        else:
            experiment_id = self.get_or_create_experiment(text).experiment_id
        self._remember_experiment((False, text), experiment_id)
        return experiment_id

    def _remember_experiment(self, key: tuple[bool, str], experiment_id: str) -> None:
        if len(self._known_experiments) > 1000:
            self._known_experiments.clear()
        self._known_experiments[key] = experiment_id

    def _target_experiment(self, experiment: str | None, experiment_id: str | None) -> str:
        if experiment_id is None:
            return self.resolve_experiment_id(experiment)
        if experiment is not None:
            raise InvalidInputError("give experiment or experiment_id, not both")
        return experiment_id

    def start_run(
        self,
        experiment: str | None = None,
        *,
        name: str | None = None,
        tags: Mapping[str, Any] | Collection[str] | None = None,
        config: Mapping[str, Any] | None = None,
        notes: str | None = None,
        parent_run_id: str | None = None,
        run_id: str | None = None,
    ) -> ActiveRun:
        """Start (or, with ``run_id``, resume) a run and return a handle to log to.

        The run is kept alive by a heartbeat and ended at interpreter exit if still open.
        Use it as a context manager to end it when the block ends.
        """
        run_tags(tags)  # refused before anything is created or resumed
        lifecycle.install_hooks()
        if run_id is not None:
            run = self._resume(run_id)
        else:
            run = self.create_run(
                experiment,
                name=name,
                tags=tags,
                config=config,
                notes=notes,
                parent_run_id=parent_run_id,
                heartbeat=True,
            )
        handle = ActiveRun(self, run, on_end=self._forget_open_run)
        with self._lock:
            self._open_runs[handle.id] = handle
        return handle

    def _resume(self, run_id: str) -> Run:
        if not self._writer.keeps_alive(run_id):  # one this process keeps alive is RUNNING
            self._store.update_run(run_id, status="RUNNING", alive_until=self._writer.alive_until())
        self._remember_run(run_id)
        self._writer.register_run(run_id)
        fresh = self._fresh_runs.pop(run_id, None)
        return fresh if fresh is not None else self._store.get_run(run_id)

    def _forget_open_run(self, handle: ActiveRun) -> None:
        with self._lock:
            self._open_runs.pop(handle.id, None)

    def get_run(self, run_id: str) -> Run:
        """The run as stored now (metrics still buffered are flushed first)."""
        self._writer.flush()
        return self._store.get_run(run_id)

    def end_run(
        self, run_id: str, status: str = "FINISHED", end_time: int | None = None
    ) -> RunInfo:
        """End a run: store its buffered metrics, then set status and end time."""
        check_run_id(run_id)
        self._writer.unregister_run(run_id)
        self._fresh_runs.pop(run_id, None)
        self._writer.flush()
        return self._store.end_run(
            run_id, status=status, end_time=end_time if end_time is not None else _now_ms()
        )

    set_terminated = end_run  # MLflow's name

    def update_run(self, run_id: str, *, name: str | None = None) -> RunInfo:
        self._fresh_runs.pop(run_id, None)
        return self._store.update_run(run_id, name=name)

    def delete_run(self, run_id: str) -> None:
        self._fresh_runs.pop(run_id, None)
        self._store.delete_run(run_id)

    def restore_run(self, run_id: str) -> None:
        self._fresh_runs.pop(run_id, None)
        self._store.restore_run(run_id)

    def _end_open_runs(self, status: str) -> None:
        with self._lock:
            handles = list(self._open_runs.values())
        for handle in reversed(handles):  # children before parents
            handle.end(status)

    def _remember_run(self, run_id: str) -> None:
        if len(self._known_runs) > _MAX_CACHED_KEYS:
            self._known_runs.clear()
        self._known_runs.add(run_id)

    # -- logging ---------------------------------------------------------------------------------
    def _metric_point(
        self, run_id: str, key: str, value: Any, step: Any, timestamp: Any
    ) -> MetricPoint:
        """One validated point; InvalidInputError (naming the field) for anything the store
        would refuse, so a bad point never reaches the writer's buffer.

        The hot path: each distinct key is checked once (then remembered), a float value and
        an int step cost a type test and a range test (steps and timestamps are 64-bit).
        """
        if key not in self._valid_keys:
            check.check_key(key, "metric key")
            if len(self._valid_keys) > _MAX_CACHED_KEYS:
                self._valid_keys.clear()
            self._valid_keys.add(key)
        return (
            run_id,
            key,
            value if type(value) is float else check.metric_value(value, key),
            time.time_ns() // 1_000_000 if timestamp is None else check.timestamp_ms(timestamp),
            0
            if step is None
            else step
            if type(step) is int and -0x8000000000000000 <= step <= 0x7FFFFFFFFFFFFFFF
            else check.step_value(step),
        )

    def _log_point(self, run_id: str, key: str, value: Any, step: Any, timestamp: Any) -> None:
        self._writer.add(self._metric_point(run_id, key, value, step, timestamp))

    def _log_points(self, points: list[MetricPoint]) -> None:
        """Buffer points made by :meth:`_metric_point` (all of a call's, or none of them)."""
        self._writer.extend(points)

    def _require_known_run(self, run_id: str) -> None:
        if run_id not in self._known_runs:
            self._store.get_run(run_id)  # NotFoundError for unknown ids
            self._remember_run(run_id)

    def log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        step: int | None = None,
        timestamp: int | None = None,
    ) -> None:
        """Buffer one metric point; it is stored within ``MLCORE_FLUSH_INTERVAL`` seconds.

        Raises:
            InvalidInputError: bad key or a value that is not a number.
            NotFoundError: unknown run.
        """
        self._require_known_run(run_id)
        self._log_point(run_id, key, value, step, timestamp)

    def log_metrics(
        self,
        run_id: str,
        metrics: Mapping[str, float],
        step: int | None = None,
        timestamp: int | None = None,
    ) -> None:
        self._require_known_run(run_id)
        point = self._metric_point
        self._log_points([point(run_id, k, v, step, timestamp) for k, v in metrics.items()])

    def log_param(self, run_id: str, key: str, value: Any) -> None:
        self._store.log_params(run_id, {key: value})

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        """Raises ParamConflictError (nothing stored) if a key already has another value."""
        self._store.log_params(run_id, params)

    def set_tag(self, run_id: str, key: str, value: Any) -> None:
        self._store.set_tags(run_id, {key: value})

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        self._store.set_tags(run_id, tags)

    def delete_tag(self, run_id: str, key: str) -> None:
        self._store.delete_tag(run_id, key)

    def update_config(self, run_id: str, config: Mapping[str, Any]) -> dict[str, Any]:
        """Merge ``config`` into the run's config and params; returns the merged config."""
        self._fresh_runs.pop(run_id, None)
        return self._store.update_run_config(run_id, config)

    def log_batch(
        self,
        run_id: str,
        metrics: Iterable[Metric | tuple[str, float, int, int] | Mapping[str, Any]] = (),
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> None:
        """Store metrics, params and tags now (synchronously, unlike ``log_metric``).

        ``metrics`` items are ``Metric`` objects, ``(key, value, timestamp, step)`` tuples or
        dicts with those keys. All points are validated before anything is stored.
        """
        self._require_known_run(run_id)
        points = [self._point(run_id, item) for item in metrics]
        if params:
            self._store.log_params(run_id, params)
        if tags:
            self._store.set_tags(run_id, tags)
        if points:
            self._store.log_metrics(points)

    def _point(self, run_id: str, item: Any) -> tuple[str, str, float, int, int]:
        if isinstance(item, Mapping):
            key, value = item.get("key"), item.get("value")
            timestamp, step = item.get("timestamp"), item.get("step", 0)
        elif isinstance(item, tuple):
            if len(item) != 4:
                raise InvalidInputError(
                    "metric tuples are (key, value, timestamp, step)", field="metrics"
                )
            key, value, timestamp, step = item
        else:
            key, value = getattr(item, "key", None), getattr(item, "value", None)
            timestamp, step = getattr(item, "timestamp", None), getattr(item, "step", 0)
        name = check.check_key(key, "metric key")
        return (
            run_id,
            name,
            check.metric_value(value, name),
            _now_ms() if timestamp is None else check.timestamp_ms(timestamp),
            check.step_value(step if step is not None else 0),
        )

    def flush(self) -> None:
        """Store everything logged so far (metrics are buffered; the rest is synchronous)."""
        self._writer.flush()

    # -- reading ---------------------------------------------------------------------------------
    def _experiment_ids(self, experiments: str | Sequence[str] | None) -> list[str]:
        if experiments is None:
            return []
        if isinstance(experiments, (str, int)):
            experiments = [str(experiments)]
        return [self.experiment(e).experiment_id for e in experiments]

    def search_runs(
        self,
        experiments: str | Sequence[str] | None = None,
        filter: str | None = None,
        order_by: Sequence[str] | str | None = None,
        max_results: int = 1000,
        page_token: str | None = None,
        view: str = "active",
    ) -> RunPage:
        """Runs matching ``filter`` (see the search language docs), one page at a time.

        Args:
            experiments: names or ids; None searches every experiment.
            filter: e.g. ``"metrics.auc > 0.9 and (params.model = 'xgb' or tags.stage IN
                ('dev', 'prod'))"``.
            order_by: e.g. ``["metrics.auc DESC", "attributes.start_time"]``.
            max_results: page size (at most 50,000).
            page_token: ``next_page_token`` of the previous page.
            view: ``active``, ``deleted`` or ``all``.

        Returns:
            A list of runs with ``.next_page_token`` (None on the last page).
        """
        self._writer.flush()
        return self._store.search_runs(
            self._experiment_ids(experiments),
            filter,
            order_by,
            max_results=max_results,
            page_token=page_token,
            view=view,
        )

    def iter_runs(
        self,
        experiments: str | Sequence[str] | None = None,
        filter: str | None = None,
        order_by: Sequence[str] | str | None = None,
        view: str = "active",
        page_size: int = 1000,
    ) -> Iterator[Run]:
        """Every matching run, fetching page after page."""
        token: str | None = None
        while True:
            page = self.search_runs(
                experiments, filter, order_by, max_results=page_size, page_token=token, view=view
            )
            yield from page
            token = page.next_page_token
            if token is None:
                return

    def runs_table(
        self,
        experiments: str | Sequence[str] | None = None,
        filter: str | None = None,
        order_by: Sequence[str] | str | None = None,
        max_results: int | None = None,
        view: str = "active",
    ) -> pa.Table:
        """The same query as ``search_runs`` as a ``pyarrow.Table``, one row per run
        (``params.*``, ``metrics.*``, ``tags.*`` columns). ``max_results=None`` = all."""
        if max_results is None:
            runs = list(self.iter_runs(experiments, filter, order_by, view, page_size=10_000))
        else:
            runs = list(self.search_runs(experiments, filter, order_by, max_results, view=view))
        from mlcore.tracking.tables import runs_to_table

        return runs_to_table(runs)

    def metric_history(
        self,
        run_id: str,
        key: str,
        *,
        max_points: int | None = None,
        min_step: int | None = None,
        max_step: int | None = None,
    ) -> pa.Table:
        """The points of a metric: ``pyarrow.Table(step, timestamp, value)`` ordered by step.

        ``max_points=N`` returns at most N rows, downsampled so extremes survive (per bucket
        of steps: first, last, min and max; a spike is never dropped); ``min_step`` /
        ``max_step`` pick a range (inclusive), read at full resolution when it holds at most
        N points. Default: every point.
        """
        self._writer.flush()
        return self._store.metric_history(
            run_id, key, max_points=max_points, min_step=min_step, max_step=max_step
        )

    # -- artifacts -------------------------------------------------------------------------------
    def artifact_store(self, run_id: str) -> ArtifactStore:
        """The artifact store rooted at the run's artifact URI."""
        root = self._store.get_run(run_id).info.artifact_uri
        store = self._artifact_stores.get(root)
        if store is None:
            from mlcore.artifacts import resolve_artifact_store

            store = self._artifact_stores[root] = resolve_artifact_store(root)
        return store

    def _record(self, run_id: str, files: list[FileInfo]) -> None:
        self._store.record_artifacts(run_id, files)

    @overload
    def log_artifact(
        self,
        run_id: str,
        local_path: Artifact,
        artifact_path: None = None,
        *,
        aliases: Sequence[str] = ...,
    ) -> Artifact: ...

    @overload
    def log_artifact(
        self,
        run_id: str,
        local_path: str | os.PathLike[str],
        artifact_path: str | None = None,
        *,
        aliases: Sequence[str] = ...,
    ) -> FileInfo: ...

    def log_artifact(
        self,
        run_id: str,
        local_path: str | os.PathLike[str] | Artifact,
        artifact_path: str | None = None,
        *,
        aliases: Sequence[str] = (),
    ) -> FileInfo | Artifact:
        """Upload one file to ``<artifact_path>/<file name>`` of the run, or log a versioned
        :class:`~mlcore.Artifact` (``name:vN``, with ``aliases``)."""
        from mlcore.tracking.artifact_versions import Artifact, log_artifact_version

        if isinstance(local_path, Artifact):
            return log_artifact_version(self, run_id, local_path, aliases)
        local = os.fspath(local_path)
        if os.path.isdir(local):
            raise InvalidInputError(
                f"{local!r} is a directory; use log_artifacts for directories", field="local_path"
            )
        base = validate_artifact_path(artifact_path or "")
        name = os.path.basename(local)
        self._store.check_artifact_path_length(f"{base}/{name}" if base else name)
        store = self.artifact_store(run_id)
        info = store.put_file(local, f"{base}/{name}" if base else name)
        self._record(run_id, [info])
        return info

    def log_artifacts(
        self, run_id: str, local_dir: str | os.PathLike[str], artifact_path: str | None = None
    ) -> list[FileInfo]:
        """Upload a directory tree below ``artifact_path`` of the run."""
        base = validate_artifact_path(artifact_path or "")
        if self._store.max_artifact_path_length is not None:
            for folder, _, names in os.walk(local_dir):
                for name in names:
                    rel = os.path.relpath(os.path.join(folder, name), local_dir)
                    rel = rel.replace(os.sep, "/")
                    self._store.check_artifact_path_length(f"{base}/{rel}" if base else rel)
        store = self.artifact_store(run_id)
        files = store.put_dir(local_dir, base)
        self._record(run_id, files)
        return files

    def log_bytes(self, run_id: str, data: bytes, artifact_file: str) -> FileInfo:
        self._store.check_artifact_path_length(artifact_file)
        info = self.artifact_store(run_id).put_stream(io.BytesIO(data), artifact_file)
        self._record(run_id, [info])
        return info

    def log_text(self, run_id: str, text: str, artifact_file: str) -> FileInfo:
        from mlcore.tracking import artifact_formats

        return self.log_bytes(run_id, artifact_formats.encode_text(text), artifact_file)

    def log_dict(self, run_id: str, dictionary: Any, artifact_file: str) -> FileInfo:
        """JSON, or YAML for ``.yaml``/``.yml`` names."""
        from mlcore.tracking import artifact_formats

        return self.log_bytes(
            run_id, artifact_formats.encode_dict(dictionary, artifact_file), artifact_file
        )

    def log_figure(self, run_id: str, figure: Any, artifact_file: str) -> FileInfo:
        """A matplotlib or plotly figure, in the format of the file extension."""
        from mlcore.tracking import artifact_formats

        return self.log_bytes(
            run_id, artifact_formats.encode_figure(figure, artifact_file), artifact_file
        )

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        """Files and directories directly under ``path`` (with sha256 where recorded)."""
        store = self.artifact_store(run_id)
        entries = store.list(path or "")
        records = self._store.artifact_records(run_id, validate_artifact_path(path or ""))
        return [records[e.path] if not e.is_dir and e.path in records else e for e in entries]

    def download_artifacts(
        self, run_id: str, path: str = "", dst_path: str | os.PathLike[str] | None = None
    ) -> str:
        """Download a file or directory of the run; returns its local path.

        Files whose sha256 was recorded when logged are verified (IntegrityError if altered).
        """
        import tempfile

        normal = validate_artifact_path(path)
        store = self.artifact_store(run_id)
        target = (
            os.fspath(dst_path)
            if dst_path is not None
            else tempfile.mkdtemp(prefix="mlcore-artifacts-")
        )
        records = self._store.artifact_records(run_id, normal)
        expected = {p: r.sha256 for p, r in records.items() if r.sha256}
        return store.download(normal, target, expected=expected)

    # -- versioned artifacts and lineage --------------------------------------------------------
    def use_artifact(self, run_id: str, ref: str) -> Artifact:
        """Record that the run uses ``ref`` (``name:v3``, ``name:latest``, ``name:alias``) and
        return it (``.download()`` fetches its files)."""
        from mlcore.tracking.artifact_versions import use_artifact

        return use_artifact(self, run_id, ref)

    def artifact(self, ref: str) -> Artifact:
        """A logged artifact version, without recording a use."""
        from mlcore.tracking.artifact_versions import Artifact

        return Artifact._logged(self._store.get_artifact_version(ref), self)

    def lineage(self, start: str, depth: int = 10) -> LineageGraph:
        """Runs, artifact versions and model versions that produced or consumed ``start``
        (``"name:v0"``, a run id or ``runs:/<id>``, ``models:/name/1``), transitively."""
        from mlcore.tracking.lineage import lineage

        return lineage(self.store, start, depth)

    # -- models ----------------------------------------------------------------------------------
    def log_model(
        self,
        run_id: str,
        model: Any,
        artifact_path: str = "model",
        *,
        flavor: str | None = None,
        input_example: Any = None,
        signature: Any = None,
        requirements: Sequence[str] | None = None,
        registered_model_name: str | None = None,
        flavor_options: dict[str, Any] | None = None,
    ) -> ModelInfo:
        """Save ``model`` (flavor detected unless given) into the run's artifacts.

        Args:
            input_example: a few rows of input; stored with the model and used to infer the
                signature ``predict`` checks inputs against.
            registered_model_name: also register it as the next version of this model.
        """
        from mlcore.tracking.models import log_model

        return log_model(
            self,
            run_id,
            model,
            artifact_path,
            flavor=flavor,
            input_example=input_example,
            signature=signature,
            requirements=requirements,
            registered_model_name=registered_model_name,
            flavor_options=flavor_options,
        )

    def load_model(
        self, model_uri: str, *, native: bool = False, trust_unrecorded: bool | None = None
    ) -> Any:
        """Load a model from ``runs:/``, ``models:/`` (version, stage, ``latest``, ``@alias``),
        an artifact URI or a local path. Every file's sha256 is verified before anything is
        deserialised. Returns a :class:`~mlcore.flavors.LoadedModel` with a generic
        ``predict``, or the framework's own object with ``native=True``. A model whose
        manifest hash the store did not record (a local path) loads only with
        ``trust_unrecorded=True`` (or ``MLCORE_TRUST_UNRECORDED_MODELS=1``)."""
        from mlcore.tracking.models import load as load_model_uri

        model = load_model_uri(self, model_uri, trust_unrecorded=trust_unrecorded)
        return model.native if native else model

    # -- lifetime --------------------------------------------------------------------------------
    def close(self) -> None:
        """Store what is buffered and release connections (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._writer.close()
        self._store.close()

    def __enter__(self) -> Tracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self._end_open_runs("FAILED" if exc and exc[0] is not None else "FINISHED")
        self.close()
