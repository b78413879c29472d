"""``TrackingStore``: experiments, runs, params, metrics, tags, artifact records and search.

What a metadata backend must implement to track runs; the model registry
(:class:`~mlcore.stores.RegistryStore`) and versioned artifacts
(:class:`~mlcore.stores.ArtifactVersionStore`) are separate interfaces a backend may add.
The public methods are final template methods (see :class:`~mlcore.stores.StoreBase`); a
backend implements only the underscored hooks. ``mlcore.testing.TrackingStoreConformance`` is
the executable form of this contract.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, final

from mlcore import _validation as check
from mlcore.errors import InvalidInputError
from mlcore.filters import Expr, OrderBy, parse_filter, parse_order_by
from mlcore.stores import downsample
from mlcore.stores.checks import (
    check_experiment_id,
    check_run_id,
    clean_params,
    clean_tags,
    clean_updates,
    config_json,
    flatten_config,
    parse_view,
)
from mlcore.stores.paging import MAX_RESULTS_LIMIT, RunPage, decode_page_token, encode_page_token
from mlcore.stores.queries import SearchQuery
from mlcore.stores.records import MetricPoint, NewRun, RunUpdate
from mlcore.stores.store_base import StoreBase

if TYPE_CHECKING:
    import pyarrow as pa

    from mlcore.types import (
        Experiment,
        ExperimentSummary,
        FileInfo,
        Run,
        RunColumns,
        RunInfo,
        RunStatus,
        SampledSeries,
        ViewType,
    )

__all__ = ["TrackingStore"]


class TrackingStore(StoreBase, abc.ABC):
    """Experiments, runs, params, metrics, tags, artifact records and run search in one
    backend: all a store needs for tracking.

    Subclasses are registered under their URI schemes in the ``mlcore.stores`` entry-point
    group and built with :meth:`from_uri`. A store that also keeps the model registry or
    versioned artifacts implements :class:`~mlcore.stores.RegistryStore` /
    :class:`~mlcore.stores.ArtifactVersionStore` too (``MetadataStore`` is all three).
    """

    #: Where new experiments put their artifacts unless told otherwise.
    default_artifact_root: str = ""
    #: Schemes this class serves (informational; the entry points decide).
    schemes: ClassVar[tuple[str, ...]] = ()
    #: The longest artifact path (characters) the store can index; None = no limit of its own.
    max_artifact_path_length: int | None = None

    @classmethod
    @abc.abstractmethod
    def from_uri(cls, uri: str, *, artifact_uri: str | None = None) -> TrackingStore:
        """Build a store for ``uri``; ``artifact_uri`` overrides the default artifact root."""

    # -- experiments ---------------------------------------------------------------------------
    @final
    def create_experiment(
        self,
        name: str,
        *,
        artifact_location: str | None = None,
        tags: Mapping[str, Any] | None = None,
        description: str | None = None,
    ) -> Experiment:
        """Create an experiment. Raises AlreadyExistsError if the name is taken."""
        check.check_name(name, "experiment name")
        tags_clean = clean_tags(tags)
        with self._boundary():
            return self._create_experiment(name, artifact_location, tags_clean, description)

    @final
    def get_experiment(self, experiment_id: str) -> Experiment:
        """Raises NotFoundError for an unknown id."""
        experiment_id = check_experiment_id(experiment_id)
        with self._boundary():
            return self._get_experiment(experiment_id)

    @final
    def get_experiment_by_name(self, name: str) -> Experiment | None:
        check.check_name(name, "experiment name")
        with self._boundary():
            return self._get_experiment_by_name(name)

    @final
    def search_experiments(self, view: ViewType | str = "active") -> list[Experiment]:
        with self._boundary():
            return self._search_experiments(parse_view(view))

    @final
    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        experiment_id = check_experiment_id(experiment_id)
        check.check_name(new_name, "experiment name")
        with self._boundary():
            self._rename_experiment(experiment_id, new_name)

    @final
    def delete_experiment(self, experiment_id: str) -> None:
        """Soft-delete an experiment and its runs (restorable)."""
        experiment_id = check_experiment_id(experiment_id)
        with self._boundary():
            self._set_experiment_stage(experiment_id, "deleted")

    @final
    def restore_experiment(self, experiment_id: str) -> None:
        experiment_id = check_experiment_id(experiment_id)
        with self._boundary():
            self._set_experiment_stage(experiment_id, "active")

    @final
    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        self.set_experiment_tags(experiment_id, {key: value})

    @final
    def set_experiment_tags(self, experiment_id: str, tags: Mapping[str, Any]) -> None:
        """Set several tags at once: all are checked first, then stored together or not at all."""
        experiment_id = check_experiment_id(experiment_id)
        cleaned = clean_tags(tags)
        with self._boundary():
            self._set_experiment_tags(experiment_id, cleaned)

    @final
    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        """Remove one tag of an experiment (NotFoundError when it has no such tag)."""
        experiment_id = check_experiment_id(experiment_id)
        check.check_key(key, "tag key")
        with self._boundary():
            self._delete_experiment_tag(experiment_id, key)

    # -- runs ------------------------------------------------------------------------------------
    @final
    def create_run(
        self,
        experiment_id: str,
        *,
        name: str,
        start_time: int,
        tags: Mapping[str, Any] | None = None,
        parent_run_id: str | None = None,
        config: Mapping[str, Any] | None = None,
        user: str | None = None,
        alive_until: int | None = None,
        run_id: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Run:
        """Create a RUNNING run with its first tags and params, in one transaction.

        The ``config`` (W&B style, any JSON values) is kept as given and also logged as params,
        flattened with dots (``{"opt": {"lr": 0.1}}`` -> ``opt.lr = "0.1"``), so the filter
        language can search it. ``alive_until`` (ms) enables crash detection by heartbeat.
        """
        experiment_id = check_experiment_id(experiment_id)
        check.check_name(name, "run name")
        if parent_run_id is not None:
            check_run_id(parent_run_id)
        if run_id is not None:
            run_id = check_run_id(run_id)
        config_text = config_json(config) if config else "{}"
        all_params = (
            {**flatten_config(config), **clean_params(params)} if config else clean_params(params)
        )
        with self._boundary():
            return self._create_run(
                experiment_id,
                name=name,
                start_time=start_time,
                tags=clean_tags(tags),
                parent_run_id=parent_run_id,
                config_json=config_text,
                user=user,
                alive_until=alive_until,
                run_id=run_id,
                params=all_params,
            )

    @final
    def create_runs(
        self,
        experiment_id: str,
        new_runs: Sequence[NewRun],
        *,
        updates: Sequence[RunUpdate] = (),
    ) -> list[Run]:
        """Create several RUNNING runs in one transaction (all or none), in order, after
        applying ``updates`` (see :meth:`update_runs`) in the same transaction.

        What a pipeline runner or a sweep does when steps or trials end and others start; a
        backend without a faster way inherits one ``create_run`` a run.
        """
        experiment_id = check_experiment_id(experiment_id)
        updates_clean = clean_updates(updates)
        clean = []
        for new in new_runs:
            check.check_name(new.name, "run name")
            clean.append(
                NewRun(
                    name=new.name,
                    start_time=new.start_time,
                    tags=clean_tags(new.tags),
                    params=clean_params(new.params),
                    parent_run_id=None
                    if new.parent_run_id is None
                    else check_run_id(new.parent_run_id),
                    alive_until=new.alive_until,
                    run_id=None if new.run_id is None else check_run_id(new.run_id),
                )
            )
        if not clean and not updates_clean:
            return []
        with self._boundary():
            return self._create_runs(experiment_id, clean, updates_clean)

    @final
    def update_runs(self, updates: Sequence[RunUpdate]) -> None:
        """Apply several status / end time / tag changes in one transaction (all or none)."""
        clean = clean_updates(updates)
        if not clean:
            return
        with self._boundary():
            self._update_runs(clean)

    @final
    def get_run(self, run_id: str) -> Run:
        """Raises NotFoundError for an unknown id."""
        run_id = check_run_id(run_id)
        with self._boundary():
            return self._get_run(run_id)

    @final
    def update_run(
        self,
        run_id: str,
        *,
        status: RunStatus | str | None = None,
        end_time: int | None = None,
        name: str | None = None,
        alive_until: int | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> RunInfo:
        """Change a run's status, end time, name or liveness deadline, and set ``tags``, in
        one transaction (a run never shows its final status without its final tags)."""
        run_id = check_run_id(run_id)
        status_value = None if status is None else _settable_status(status)
        if name is not None:
            check.check_name(name, "run name")
        tags_clean = clean_tags(tags) if tags else {}
        with self._boundary():
            return self._update_run(
                run_id,
                status=status_value.value if status_value else None,
                end_time=end_time,
                name=name,
                alive_until=alive_until,
                tags=tags_clean,
            )

    @final
    def end_run(
        self,
        run_id: str,
        *,
        status: RunStatus | str = "FINISHED",
        end_time: int,
        tags: Mapping[str, Any] | None = None,
    ) -> RunInfo:
        """End a run: set its status, end time and ``tags`` in one transaction (as
        :meth:`update_run` does), then merge its small metric chunks (:meth:`compact_metrics`).

        Returns the run's info as ended.
        """
        run_id = check_run_id(run_id)
        status_value = _settable_status(status).value
        tags_clean = clean_tags(tags) if tags else {}
        with self._boundary():
            return self._end_run(run_id, status_value, end_time, tags_clean)

    def _end_run(self, run_id: str, status: str, end_time: int, tags: dict[str, str]) -> RunInfo:
        """:meth:`end_run`; a backend that can do it in fewer round trips overrides this."""
        info = self._update_run(
            run_id, status=status, end_time=end_time, name=None, alive_until=None, tags=tags
        )
        self._compact_metrics(run_id)
        return info

    @final
    def heartbeat(self, run_ids: Sequence[str], alive_until: int) -> None:
        """Extend the liveness deadline of running runs (the writer calls this periodically)."""
        if not run_ids:
            return
        with self._boundary():
            self._heartbeat(list(run_ids), alive_until)

    @final
    def delete_run(self, run_id: str) -> None:
        run_id = check_run_id(run_id)
        with self._boundary():
            self._set_run_stage(run_id, "deleted")

    @final
    def restore_run(self, run_id: str) -> None:
        run_id = check_run_id(run_id)
        with self._boundary():
            self._set_run_stage(run_id, "active")

    @final
    def update_run_config(self, run_id: str, config: Mapping[str, Any]) -> dict[str, Any]:
        """Merge ``config`` into the run's config (and params); returns the merged config.

        Changing the value of a key already set is a ParamConflictError, as for params.
        """
        run_id = check_run_id(run_id)
        config_json(config)
        flat = flatten_config(config)
        with self._boundary():
            return self._update_run_config(run_id, dict(config), flat)

    # -- logging ---------------------------------------------------------------------------------
    @final
    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        """Log params; re-logging the same value is a no-op, another value a ParamConflictError
        (and then nothing of this call is stored)."""
        run_id = check_run_id(run_id)
        clean = clean_params(params)
        if not clean:
            return
        with self._boundary():
            self._log_params(run_id, clean)

    @final
    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        run_id = check_run_id(run_id)
        clean = clean_tags(tags)
        if not clean:
            return
        with self._boundary():
            self._set_tags(run_id, clean)

    @final
    def delete_tag(self, run_id: str, key: str) -> None:
        run_id = check_run_id(run_id)
        check.check_key(key, "tag key")
        with self._boundary():
            self._delete_tag(run_id, key)

    @final
    def log_metrics(self, points: Sequence[MetricPoint], *, batch_id: str | None = None) -> None:
        """Store metric points of any runs in one transaction.

        The batching writer is the usual caller and has validated every point already (keys,
        float values, int steps and timestamps); this method does not check them again.
        Points of runs that do not exist are dropped with a warning.

        Args:
            batch_id: makes the call idempotent: a batch stored twice (a retry after a lost
                acknowledgement) is stored once.
        """
        if not points:
            return
        with self._boundary():
            self._log_metrics(points, batch_id)

    @final
    def compact_metrics(self, run_id: str) -> int:
        """Merge a run's small metric chunks (called when a run ends); returns rows merged."""
        run_id = check_run_id(run_id)
        with self._boundary():
            return self._compact_metrics(run_id)

    @final
    def metric_history(
        self,
        run_id: str,
        key: str,
        *,
        max_points: int | None = None,
        min_step: int | None = None,
        max_step: int | None = None,
    ) -> pa.Table:
        """The points of one metric as ``pyarrow.Table(step, timestamp, value)``, by step.

        Args:
            max_points: at most this many rows: a range holding more is downsampled by M4
                (per bucket of steps its first, last, smallest and largest value; see
                :mod:`mlcore.stores.downsample`), so spikes, the min, the max and the end
                points are kept. None: every point.
            min_step, max_step: only steps in this range (inclusive).
        """
        run_id = check_run_id(run_id)
        check.check_key(key, "metric key")
        downsample.check_range(max_points, min_step, max_step)
        with self._boundary():
            if max_points is None and min_step is None and max_step is None:
                return self._metric_history(run_id, key)
            if not _takes_ranges(type(self)):  # a backend written before ranges existed
                full = self._metric_history(run_id, key)
                return downsample.sample(full, max_points, min_step, max_step)
            return self._metric_history(
                run_id, key, max_points=max_points, min_step=min_step, max_step=max_step
            )

    @final
    def sampled_histories(
        self,
        run_ids: Sequence[str],
        keys: Sequence[str],
        max_points: int = 2000,
        min_step: int | None = None,
        max_step: int | None = None,
    ) -> list[SampledSeries]:
        """Several metric histories at once, each downsampled to at most ``max_points`` points
        as :meth:`metric_history` does: one series per run and key, runs first, in the order
        given (repeats once). A key a run never logged gives an empty series; an unknown run
        raises NotFoundError. At most 1,000 series and ``max_points`` <= 10,000 per call."""
        run_list = list(dict.fromkeys(check_run_id(r) for r in _as_list(run_ids, "run_ids")))
        key_list = list(dict.fromkeys(_as_list(keys, "keys")))
        for key in key_list:
            check.check_key(key, "metric key")
        downsample.check_series_request(len(run_list) * len(key_list), max_points)
        downsample.check_range(max_points, min_step, max_step)
        if not run_list or not key_list:
            return []
        with self._boundary():
            return self._sampled_histories(run_list, key_list, max_points, min_step, max_step)

    # -- summaries -------------------------------------------------------------------------------
    @final
    def experiment_summaries(
        self, experiment_ids: Sequence[str] | None = None, include_deleted: bool = False
    ) -> list[ExperimentSummary]:
        """Experiments (all, or those of ``experiment_ids``) with their number of runs and last
        activity, by id. Deleted experiments only with ``include_deleted``; an unknown id is
        left out."""
        ids = (
            None
            if experiment_ids is None
            else [check_experiment_id(e) for e in _as_list(experiment_ids, "experiment_ids")]
        )
        if not isinstance(include_deleted, bool):
            raise InvalidInputError(
                "include_deleted must be true or false", field="include_deleted"
            )
        with self._boundary():
            return self._experiment_summaries(ids, include_deleted)

    @final
    def run_columns(self, experiment_ids: Sequence[str]) -> RunColumns:
        """The param, metric and tag keys the (not deleted) runs of ``experiment_ids`` use,
        each list sorted and distinct: the columns a runs table can show."""
        ids = [check_experiment_id(e) for e in _as_list(experiment_ids, "experiment_ids")]
        if not ids:
            from mlcore.types import RunColumns

            return RunColumns()
        with self._boundary():
            return self._run_columns(ids)

    # -- search ----------------------------------------------------------------------------------
    @final
    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter: str | None = None,
        order_by: Sequence[str] | str | None = None,
        *,
        max_results: int = 1000,
        page_token: str | None = None,
        view: ViewType | str = "active",
    ) -> RunPage:
        """Runs matching ``filter`` in the given experiments (see :mod:`mlcore.filters`)."""
        ids = [check_experiment_id(e) for e in experiment_ids]
        expr = parse_filter(filter)
        orders = parse_order_by(
            order_by if order_by is None or isinstance(order_by, str) else list(order_by)
        )
        if not isinstance(max_results, int) or not 0 < max_results <= MAX_RESULTS_LIMIT:
            raise InvalidInputError(
                f"max_results must be an integer in 1..{MAX_RESULTS_LIMIT}, got {max_results!r}",
                field="max_results",
            )
        offset = decode_page_token(page_token)
        query = SearchQuery(filter, order_by, max_results, page_token)
        with self._boundary():
            return self._search_runs_page(ids, expr, orders, offset, parse_view(view), query)

    def _search_runs_page(
        self,
        experiment_ids: list[str],
        expr: Expr | None,
        orders: list[OrderBy],
        offset: int,
        view: ViewType,
        query: SearchQuery,
    ) -> RunPage:
        """One page of a run search, parsed; a remote store overrides it to send ``query``
        (the search as the caller wrote it) instead."""
        runs, more = self._search_runs(
            experiment_ids, expr, orders, query.max_results, offset, view
        )
        page = RunPage(runs)
        page.next_page_token = encode_page_token(offset + len(runs)) if more else None
        return page

    @final
    def count_runs(
        self,
        experiment_ids: Sequence[str],
        filter: str | None = None,
        view: ViewType | str = "active",
    ) -> int:
        """How many runs ``search_runs`` would return in all (for a table's scrollbar)."""
        ids = [check_experiment_id(e) for e in experiment_ids]
        expr = parse_filter(filter)
        with self._boundary():
            return self._count_runs(ids, expr, filter, parse_view(view))

    def _count_runs(
        self, experiment_ids: list[str], expr: Expr | None, filter: str | None, view: ViewType
    ) -> int:
        """Pages through the search; the SQL store counts in one query instead."""
        total, token = 0, None
        while True:
            page = self.search_runs(
                experiment_ids, filter, max_results=MAX_RESULTS_LIMIT, page_token=token, view=view
            )
            total += len(page)
            token = page.next_page_token
            if token is None:
                return total

    # -- artifact index --------------------------------------------------------------------------
    @final
    def record_artifacts(self, run_id: str, files: Sequence[FileInfo]) -> None:
        """Remember size and sha256 of files uploaded to a run's artifact store."""
        run_id = check_run_id(run_id)
        if not files:
            return
        for f in files:
            self.check_artifact_path_length(f.path)
        with self._boundary():
            self._record_artifacts(run_id, list(files))

    def check_artifact_path_length(self, path: str) -> None:
        """Refuse (before anything is uploaded) a path longer than the store can index."""
        limit = self.max_artifact_path_length
        if limit is not None and len(path) > limit:
            raise InvalidInputError(
                f"artifact path is {len(path)} characters long; {self.display_name} indexes "
                f"at most {limit} characters (Unicode code points): {path[:40]!r}...",
                field="artifact_path",
            )

    @final
    def artifact_records(self, run_id: str, prefix: str = "") -> dict[str, FileInfo]:
        """Recorded files of a run under ``prefix`` (path -> FileInfo with sha256)."""
        run_id = check_run_id(run_id)
        with self._boundary():
            return self._artifact_records(run_id, prefix)

    # -- what a backend implements ------------------------------------------------------------
    @abc.abstractmethod
    def _create_experiment(
        self,
        name: str,
        artifact_location: str | None,
        tags: dict[str, str],
        description: str | None,
    ) -> Experiment: ...

    @abc.abstractmethod
    def _get_experiment(self, experiment_id: str) -> Experiment: ...

    @abc.abstractmethod
    def _get_experiment_by_name(self, name: str) -> Experiment | None: ...

    @abc.abstractmethod
    def _search_experiments(self, view: ViewType) -> list[Experiment]: ...

    @abc.abstractmethod
    def _rename_experiment(self, experiment_id: str, new_name: str) -> None: ...

    @abc.abstractmethod
    def _set_experiment_stage(self, experiment_id: str, stage: str) -> None: ...

    @abc.abstractmethod
    def _set_experiment_tags(self, experiment_id: str, tags: dict[str, str]) -> None: ...

    @abc.abstractmethod
    def _delete_experiment_tag(self, experiment_id: str, key: str) -> None: ...

    @abc.abstractmethod
    def _create_run(
        self,
        experiment_id: str,
        *,
        name: str,
        start_time: int,
        tags: dict[str, str],
        parent_run_id: str | None,
        config_json: str,
        user: str | None,
        alive_until: int | None,
        run_id: str | None,
        params: dict[str, str],
    ) -> Run: ...

    @abc.abstractmethod
    def _get_run(self, run_id: str) -> Run: ...

    @abc.abstractmethod
    def _update_run(
        self,
        run_id: str,
        *,
        status: str | None,
        end_time: int | None,
        name: str | None,
        alive_until: int | None,
        tags: dict[str, str],
    ) -> RunInfo: ...

    def _create_runs(
        self, experiment_id: str, new_runs: list[NewRun], updates: list[RunUpdate]
    ) -> list[Run]:
        """Default: the updates, then one ``_create_run`` a run (backends override it with one
        transaction)."""
        if updates:
            self._update_runs(updates)
        return [
            self._create_run(
                experiment_id,
                name=new.name,
                start_time=new.start_time,
                tags=dict(new.tags),
                parent_run_id=new.parent_run_id,
                config_json="{}",
                user=None,
                alive_until=new.alive_until,
                run_id=new.run_id,
                params=dict(new.params),
            )
            for new in new_runs
        ]

    def _update_runs(self, updates: list[RunUpdate]) -> None:
        """Default: one ``_update_run`` a change (backends override it with one transaction)."""
        for change in updates:
            self._update_run(
                change.run_id,
                status=change.status,
                end_time=change.end_time,
                name=None,
                alive_until=None,
                tags=dict(change.tags),
            )

    @abc.abstractmethod
    def _heartbeat(self, run_ids: list[str], alive_until: int) -> None: ...

    @abc.abstractmethod
    def _set_run_stage(self, run_id: str, stage: str) -> None: ...

    @abc.abstractmethod
    def _update_run_config(
        self, run_id: str, config: dict[str, Any], params: dict[str, str]
    ) -> dict[str, Any]: ...

    @abc.abstractmethod
    def _log_params(self, run_id: str, params: dict[str, str]) -> None: ...

    @abc.abstractmethod
    def _set_tags(self, run_id: str, tags: dict[str, str]) -> None: ...

    @abc.abstractmethod
    def _delete_tag(self, run_id: str, key: str) -> None: ...

    @abc.abstractmethod
    def _log_metrics(self, points: Sequence[MetricPoint], batch_id: str | None) -> None: ...

    def _compact_metrics(self, run_id: str) -> int:
        """Optional: backends without chunked metric storage keep the default no-op."""
        return 0

    @abc.abstractmethod
    def _metric_history(
        self,
        run_id: str,
        key: str,
        max_points: int | None = None,
        min_step: int | None = None,
        max_step: int | None = None,
    ) -> pa.Table:
        """Every point (no options given) or the points of ``[min_step, max_step]``,
        downsampled beyond ``max_points`` with :func:`mlcore.stores.downsample.sample`
        (a backend that can skip stored data outside the range does)."""

    def _sampled_histories(
        self,
        run_ids: list[str],
        keys: list[str],
        max_points: int = 2000,
        min_step: int | None = None,
        max_step: int | None = None,
    ) -> list[SampledSeries]:
        """Default: one ``_metric_history`` per run and key (a run checked once); backends
        override it with one read."""
        found = []
        for run_id in run_ids:
            self._get_run(run_id)  # NotFoundError for an unknown run
            for key in keys:
                if _takes_ranges(type(self)):
                    table = self._metric_history(
                        run_id, key, max_points=max_points, min_step=min_step, max_step=max_step
                    )
                else:
                    table = downsample.sample(
                        self._metric_history(run_id, key), max_points, min_step, max_step
                    )
                found.append(downsample.to_series(run_id, key, table))
        return found

    def _experiment_summaries(
        self, experiment_ids: list[str] | None = None, include_deleted: bool = False
    ) -> list[ExperimentSummary]:
        """Default: the experiments, then a search of each one's runs (backends override it
        with one query)."""
        from mlcore.types import ExperimentSummary, LifecycleStage, ViewType, build

        view = ViewType.ALL if include_deleted else ViewType.ACTIVE_ONLY
        experiments = self._search_experiments(view)
        if experiment_ids is not None:
            wanted = set(experiment_ids)
            experiments = [e for e in experiments if e.experiment_id in wanted]
        summaries = []
        for experiment in experiments:
            runs = self._all_runs([experiment.experiment_id])
            times = [t for r in runs for t in (r.info.start_time, r.info.end_time) if t is not None]
            if experiment.last_update_time is not None:
                times.append(experiment.last_update_time)
            summaries.append(
                build(
                    ExperimentSummary,
                    {
                        "experiment_id": experiment.experiment_id,
                        "name": experiment.name,
                        "lifecycle_stage": LifecycleStage(experiment.lifecycle_stage),
                        "tags": dict(experiment.tags),
                        "description": experiment.description,
                        "creation_time": experiment.creation_time,
                        "last_update_time": experiment.last_update_time,
                        "run_count": len(runs),
                        "last_activity": max(times) if times else None,
                    },
                )
            )
        return sorted(summaries, key=lambda s: _id_order(s.experiment_id))

    def _run_columns(self, experiment_ids: list[str]) -> RunColumns:
        """Default: the keys of every run a search returns (backends override it with
        DISTINCT queries)."""
        from mlcore.types import RunColumns, build

        params: set[str] = set()
        metrics: set[str] = set()
        tags: set[str] = set()
        for run in self._all_runs(experiment_ids):
            params.update(run.data.params)
            metrics.update(run.data.metrics)
            tags.update(run.data.tags)
        return build(
            RunColumns, {"params": sorted(params), "metrics": sorted(metrics), "tags": sorted(tags)}
        )

    def _all_runs(self, experiment_ids: list[str]) -> list[Run]:
        """Every active run of the experiments, page by page."""
        from mlcore.types import ViewType

        found: list[Run] = []
        while True:
            page, more = self._search_runs(
                experiment_ids, None, [], MAX_RESULTS_LIMIT, len(found), ViewType.ACTIVE_ONLY
            )
            found.extend(page)
            if not more or not page:
                return found

    @abc.abstractmethod
    def _search_runs(
        self,
        experiment_ids: list[str],
        expr: Expr | None,
        order_by: list[OrderBy],
        max_results: int,
        offset: int,
        view: ViewType,
    ) -> tuple[list[Run], bool]:
        """Return one page of runs and whether more follow."""

    @abc.abstractmethod
    def _record_artifacts(self, run_id: str, files: list[FileInfo]) -> None: ...

    @abc.abstractmethod
    def _artifact_records(self, run_id: str, prefix: str) -> dict[str, FileInfo]: ...


def _as_list(values: Any, name: str) -> list[str]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise InvalidInputError(f"{name} must be a list of strings", field=name)
    return list(values)


def _id_order(experiment_id: str) -> tuple[int, str]:
    return (int(experiment_id), "") if experiment_id.isdigit() else (1 << 62, experiment_id)


_RANGES: dict[type, bool] = {}


def _takes_ranges(cls: type) -> bool:
    """Whether ``cls._metric_history`` takes ``max_points``, ``min_step`` and ``max_step``
    (one written before they existed is served by reading everything and sampling here)."""
    known = _RANGES.get(cls)
    if known is None:
        import inspect

        parameters = inspect.signature(cls._metric_history).parameters  # type: ignore[attr-defined]
        known = _RANGES[cls] = "max_points" in parameters or any(
            p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
        )
    return known


_SETTABLE: dict[str, RunStatus] = {}  # status text as given -> RunStatus, once checked


def _settable_status(status: RunStatus | str) -> RunStatus:
    """``status`` as a RunStatus a caller may set; InvalidInputError otherwise."""
    known = _SETTABLE.get(status) if type(status) is str else None
    if known is not None:
        return known
    from mlcore.types import RunStatus

    try:
        value = RunStatus(str(status).upper())
    except ValueError:
        raise InvalidInputError(
            f"unknown run status {status!r}; statuses are {', '.join(s.value for s in RunStatus)}",
            field="status",
        ) from None
    if value is RunStatus.CRASHED:
        raise InvalidInputError(
            "CRASHED is derived from a stale heartbeat and cannot be set", field="status"
        )
    if type(status) is str and len(_SETTABLE) < 64:
        _SETTABLE[status] = value
    return value
