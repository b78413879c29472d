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

    from mlcore.types import Experiment, FileInfo, Run, RunInfo, RunStatus, ViewType

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
    def metric_history(self, run_id: str, key: str) -> pa.Table:
        """All points of one metric as ``pyarrow.Table(step, timestamp, value)``, by step."""
        run_id = check_run_id(run_id)
        check.check_key(key, "metric key")
        with self._boundary():
            return self._metric_history(run_id, key)

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
    def _metric_history(self, run_id: str, key: str) -> pa.Table: ...

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
