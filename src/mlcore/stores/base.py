"""``MetadataStore``: the abstract base of every metadata backend.

Each public method is a *template method*: it validates its arguments, calls the abstract
``_method`` a backend implements, and translates backend exceptions into
:mod:`mlcore.errors` on the way out. A backend (built in or third party) implements only the
underscored methods and inherits the checks, so every store refuses the same bad input with
the same error. ``mlcore.testing.StoreConformance`` is the executable form of this contract.
"""

from __future__ import annotations

import abc
import base64
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, final

from mlcore import _validation as check
from mlcore.errors import InvalidInputError, NotFoundError, translate_errors
from mlcore.filters import Expr, OrderBy, parse_filter, parse_order_by
from mlcore.stores.artifact_versions_api import ArtifactVersionMethods
from mlcore.stores.queries import SearchQuery
from mlcore.stores.registry_api import RegistryMethods

if TYPE_CHECKING:
    import pyarrow as pa

    from mlcore.types import Experiment, FileInfo, Run, RunInfo, RunStatus, ViewType

__all__ = ["MetadataStore", "MetricPoint", "NewRun", "RunPage", "RunUpdate"]

#: One metric point as the batching writer hands it to a store:
#: ``(run_id, key, value, timestamp_ms, step)``.
MetricPoint = tuple[str, str, float, int, int]

_RUN_ID = re.compile(r"^[0-9a-f]{32}$")
MAX_RESULTS_LIMIT = 50_000


@dataclass(frozen=True)
class NewRun:
    """One run of :meth:`MetadataStore.create_runs`."""

    name: str
    start_time: int
    tags: Mapping[str, Any] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    parent_run_id: str | None = None
    alive_until: int | None = None
    run_id: str | None = None


@dataclass(frozen=True)
class RunUpdate:
    """One change of :meth:`MetadataStore.update_runs`."""

    run_id: str
    status: str | None = None
    end_time: int | None = None
    tags: Mapping[str, Any] = field(default_factory=dict)


class RunPage(list["Run"]):
    """A page of runs; ``next_page_token`` is None on the last page."""

    next_page_token: str | None = None


def check_run_id(run_id: object) -> str:
    """A run id is 32 lower-case hex digits; anything else cannot exist."""
    if not isinstance(run_id, str) or not _RUN_ID.match(run_id):
        raise NotFoundError(f"run {run_id!r} not found (run ids are 32 hex digits)")
    return run_id


def check_experiment_id(experiment_id: object) -> str:
    text = str(experiment_id) if isinstance(experiment_id, int) else experiment_id
    if not isinstance(text, str) or not text.isdigit():
        raise NotFoundError(f"experiment {experiment_id!r} not found")
    return text


def encode_page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def decode_page_token(token: str | None) -> int:
    if token is None or token == "":
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
    except Exception:
        raise InvalidInputError(f"invalid page token {token!r}", field="page_token") from None
    if not isinstance(offset, int) or offset < 0:
        raise InvalidInputError(f"invalid page token {token!r}", field="page_token")
    return offset


class MetadataStore(RegistryMethods, ArtifactVersionMethods, abc.ABC):
    """Experiments, runs, params, metrics, tags, the model registry and versioned artifacts in
    one backend (the registry and artifact methods are in ``registry_api`` and
    ``artifact_versions_api``).

    Subclasses are registered under their URI schemes in the ``mlcore.stores`` entry-point
    group and built with :meth:`from_uri`.
    """

    #: Human-readable name used in error messages; must not contain credentials.
    display_name: str = "store"
    #: Where new experiments put their artifacts unless told otherwise.
    default_artifact_root: str = ""
    #: Schemes this class serves (informational; the entry points decide).
    schemes: ClassVar[tuple[str, ...]] = ()
    #: The longest artifact path (characters) the store can index; None = no limit of its own.
    max_artifact_path_length: int | None = None

    @classmethod
    @abc.abstractmethod
    def from_uri(cls, uri: str, *, artifact_uri: str | None = None) -> MetadataStore:
        """Build a store for ``uri``; ``artifact_uri`` overrides the default artifact root."""

    @contextmanager
    def _boundary(self) -> Iterator[None]:
        with translate_errors(self.display_name):
            yield

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
        clean_tags = _clean_tags(tags)
        with self._boundary():
            return self._create_experiment(name, artifact_location, clean_tags, description)

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
        from mlcore.types import ViewType

        with self._boundary():
            return self._search_experiments(_view(view, ViewType))

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
        experiment_id = check_experiment_id(experiment_id)
        tags = _clean_tags({key: value})
        with self._boundary():
            self._set_experiment_tags(experiment_id, tags)

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
        config_json = _config_json(config or {})
        all_params = {**flatten_config(config or {}), **_clean_params(params)}
        with self._boundary():
            return self._create_run(
                experiment_id,
                name=name,
                start_time=start_time,
                tags=_clean_tags(tags),
                parent_run_id=parent_run_id,
                config_json=config_json,
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
        clean_updates = _clean_updates(updates)
        clean = []
        for new in new_runs:
            check.check_name(new.name, "run name")
            clean.append(
                NewRun(
                    name=new.name,
                    start_time=new.start_time,
                    tags=_clean_tags(new.tags),
                    params=_clean_params(new.params),
                    parent_run_id=None
                    if new.parent_run_id is None
                    else check_run_id(new.parent_run_id),
                    alive_until=new.alive_until,
                    run_id=None if new.run_id is None else check_run_id(new.run_id),
                )
            )
        if not clean and not clean_updates:
            return []
        with self._boundary():
            return self._create_runs(experiment_id, clean, clean_updates)

    @final
    def update_runs(self, updates: Sequence[RunUpdate]) -> None:
        """Apply several status / end time / tag changes in one transaction (all or none)."""
        clean = _clean_updates(updates)
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
        from mlcore.types import RunStatus

        run_id = check_run_id(run_id)
        status_value = None
        if status is not None:
            try:
                status_value = RunStatus(str(status).upper())
            except ValueError:
                raise InvalidInputError(
                    f"unknown run status {status!r}; statuses are "
                    f"{', '.join(s.value for s in RunStatus)}",
                    field="status",
                ) from None
            if status_value is RunStatus.CRASHED:
                raise InvalidInputError(
                    "CRASHED is derived from a stale heartbeat and cannot be set", field="status"
                )
        if name is not None:
            check.check_name(name, "run name")
        clean_tags = _clean_tags(tags) if tags else {}
        with self._boundary():
            return self._update_run(
                run_id,
                status=status_value.value if status_value else None,
                end_time=end_time,
                name=name,
                alive_until=alive_until,
                tags=clean_tags,
            )

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
        _config_json(config)
        flat = flatten_config(config)
        with self._boundary():
            return self._update_run_config(run_id, dict(config), flat)

    # -- logging ---------------------------------------------------------------------------------
    @final
    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        """Log params; re-logging the same value is a no-op, another value a ParamConflictError
        (and then nothing of this call is stored)."""
        run_id = check_run_id(run_id)
        clean = _clean_params(params)
        if not clean:
            return
        with self._boundary():
            self._log_params(run_id, clean)

    @final
    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        run_id = check_run_id(run_id)
        clean = _clean_tags(tags)
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
        from mlcore.types import ViewType

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
            return self._search_runs_page(ids, expr, orders, offset, _view(view, ViewType), query)

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
                f"at most {limit}: {path[:40]!r}...",
                field="artifact_path",
            )

    @final
    def artifact_records(self, run_id: str, prefix: str = "") -> dict[str, FileInfo]:
        """Recorded files of a run under ``prefix`` (path -> FileInfo with sha256)."""
        run_id = check_run_id(run_id)
        with self._boundary():
            return self._artifact_records(run_id, prefix)

    def close(self) -> None:
        """Release connections. The store must not be used afterwards."""

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


def _view(view: Any, view_type: Any) -> Any:
    try:
        return view_type(view.value if hasattr(view, "value") else str(view).lower())
    except ValueError:
        raise InvalidInputError(
            f"view must be 'active', 'deleted' or 'all', got {view!r}", field="view"
        ) from None


def _clean_updates(updates: Sequence[RunUpdate]) -> list[RunUpdate]:
    from mlcore.types import RunStatus

    clean = []
    for change in updates:
        status = None
        if change.status is not None:
            try:
                status = RunStatus(str(change.status).upper()).value
            except ValueError:
                raise InvalidInputError(
                    f"unknown run status {change.status!r}", field="status"
                ) from None
            if status == "CRASHED":
                raise InvalidInputError(
                    "CRASHED is derived from a stale heartbeat and cannot be set", field="status"
                )
        clean.append(
            RunUpdate(
                run_id=check_run_id(change.run_id),
                status=status,
                end_time=change.end_time,
                tags=_clean_tags(change.tags) if change.tags else {},
            )
        )
    return clean


def _clean_tags(tags: Mapping[str, Any] | None) -> dict[str, str]:
    if not tags:
        return {}
    if not isinstance(tags, Mapping):
        raise InvalidInputError("tags must be a mapping of key to value", field="tags")
    return {check.check_key(k, "tag key"): check.tag_value(k, v) for k, v in tags.items()}


def _clean_params(params: Mapping[str, Any] | None) -> dict[str, str]:
    if not params:
        return {}
    if not isinstance(params, Mapping):
        raise InvalidInputError("params must be a mapping of key to value", field="params")
    return {check.check_key(k, "param key"): check.param_value(k, v) for k, v in params.items()}


def flatten_config(config: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Config as params: nested mappings flattened with dots, values as text."""
    flat: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten_config(value, name + "."))
        else:
            flat[check.check_key(name, "config key")] = check.param_value(name, value)
    return flat


def _config_json(config: Mapping[str, Any]) -> str:
    if not isinstance(config, Mapping):
        raise InvalidInputError("config must be a mapping", field="config")
    for key in config:
        check.check_key(key, "config key")
    try:
        return json.dumps(dict(config), default=_json_default, allow_nan=True, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"config is not JSON-serialisable: {exc}", field="config") from exc


def _json_default(value: Any) -> Any:
    """NumPy scalars and arrays, paths and the like become plain JSON values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "__fspath__"):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")
