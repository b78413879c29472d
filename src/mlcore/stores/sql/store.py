"""``SqlStore``: the metadata store on SQLAlchemy (SQLite by default, PostgreSQL, MySQL)."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import Connection, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.exc import IntegrityError as SqlIntegrityError

from mlcore import _config, artifact_options
from mlcore._validation import numeric_or_none
from mlcore.errors import (
    AlreadyExistsError,
    InvalidInputError,
    NotFoundError,
    ParamConflictError,
)
from mlcore.filters import Expr, OrderBy
from mlcore.stores.base import MetadataStore, MetricPoint, NewRun, RunUpdate
from mlcore.stores.foreign import is_mlflow_sqlite, refuse_mlflow
from mlcore.stores.paging import RunPage, encode_page_token, page_token_after
from mlcore.stores.queries import SearchQuery
from mlcore.stores.sql import metric_ops, migrate, sqlite_runs, summaries
from mlcore.stores.sql.artifact_version_ops import SqlArtifactVersionOps
from mlcore.stores.sql.engine import Transactions, create_sql_engine, is_sqlite_memory
from mlcore.stores.sql.registry_ops import SqlRegistryOps
from mlcore.stores.sql.rows import (
    RUN_COLUMNS,
    chunked,
    driver_fetch,
    load_experiment,
    load_experiments,
    load_page,
    load_runs,
    new_run,
    run_info,
)
from mlcore.stores.sql.run_search import build_search, run_search
from mlcore.stores.sql.schema import (
    MAX_MYSQL_ARTIFACT_PATH,
    MYSQL_DIALECTS,
    artifact_files,
    experiment_tags,
    experiments,
    metric_chunks,
    runs,
)
from mlcore.stores.sql.schema import params as params_table
from mlcore.stores.sql.schema import tags as tags_table
from mlcore.stores.sql.thread_connections import ThreadConnections
from mlcore.stores.sql.upsert import insert_ignore, upsert
from mlcore.uris import join_uri, path_to_file_uri, redact_uri, uri_scheme

if TYPE_CHECKING:
    import pyarrow as pa

    from mlcore.types import (
        Experiment,
        ExperimentSummary,
        FileInfo,
        Run,
        RunColumns,
        RunInfo,
        SampledSeries,
        ViewType,
    )

__all__ = ["SqlStore", "now_ms"]


def now_ms() -> int:
    return time.time_ns() // 1_000_000


# statements run on every call of hot methods, built once (see registry_ops)
_RUN_PK = select(runs.c.run_pk).where(runs.c.run_id == bindparam("run_id"))
_INSERT_RUN = insert(runs)
_INSERT_RUNS_RETURNING = insert(runs).returning(
    runs.c.run_pk, runs.c.run_id, sort_by_parameter_order=True
)
_EXPERIMENT_AND_PARENT = select(
    experiments.c.artifact_location,
    experiments.c.lifecycle_stage,
    _RUN_PK.scalar_subquery().label("parent_pk"),
).where(experiments.c.experiment_id == bindparam("experiment_id"))
_RUN_PKS = select(runs.c.run_pk, runs.c.run_id).where(
    runs.c.run_id.in_(bindparam("run_ids", expanding=True))
)
_EXPERIMENT_FOR_RUN = select(experiments.c.artifact_location, experiments.c.lifecycle_stage).where(
    experiments.c.experiment_id == bindparam("experiment_id")
)
_UPDATE_RUN = update(runs).where(runs.c.run_id == bindparam("target_run_id"))
_RUN_ROW = select(*RUN_COLUMNS).where(runs.c.run_id == bindparam("run_id"))
_END_RUN = (
    update(runs)
    .where(runs.c.run_id == bindparam("target_run_id"))
    .values(
        status=bindparam("status"), end_time=bindparam("end_time"), alive_until=bindparam("alive")
    )
)
_END_RUN_RETURNING = _END_RUN.returning(*RUN_COLUMNS)
# a run may need compacting when a metric of it has two small chunks (metric_ops.compact)
_NEEDS_COMPACTING = (
    select(metric_chunks.c.key)
    .where(
        metric_chunks.c.run_pk == bindparam("pk"),
        metric_chunks.c.count < metric_ops.SMALL_CHUNK_POINTS,
    )
    .group_by(metric_chunks.c.key)
    .having(func.count() > 1)
    .limit(1)
)
_INSERT_TAGS = insert(tags_table)
_INSERT_PARAMS = insert(params_table)
_ARTIFACT_RECORDS = select(artifact_files).where(artifact_files.c.run_pk == bindparam("pk"))
_ARTIFACT_RECORDS_UNDER = _ARTIFACT_RECORDS.where(
    or_(
        artifact_files.c.path == bindparam("prefix"),
        artifact_files.c.path.like(bindparam("pattern"), escape="\\"),
    )
)


def _like_prefix(prefix: str) -> str:
    """A LIKE pattern matching paths below ``prefix/`` (wildcards in it escaped)."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "/%"


def _sqlite_path(url: str) -> str:
    """The file of a SQLite URL ("" for memory or a URL that does not parse)."""
    try:
        return "" if is_sqlite_memory(url) else make_url(url).database or ""
    except ArgumentError:
        return ""


class SqlStore(SqlRegistryOps, SqlArtifactVersionOps, MetadataStore):
    """Metadata in any SQLAlchemy database; the embedded default is SQLite in WAL mode.

    Args:
        url: a SQLAlchemy URL (``sqlite:///path.db``, ``postgresql://user@host/db``, ...).
        artifact_uri: root for artifacts of new experiments. Default: ``MLCORE_ARTIFACT_URI``,
            else ``artifacts/`` next to a SQLite file, else ``./.mlcore/artifacts``.
    """

    schemes: ClassVar[tuple[str, ...]] = ("sqlite", "postgresql", "mysql", "mariadb")

    def __init__(self, url: str, *, artifact_uri: str | None = None) -> None:
        self.url = url
        backend = uri_scheme(url) or "sql"
        self.display_name = f"{backend} store {redact_uri(url)}"
        if backend == "sqlite" and is_mlflow_sqlite(_sqlite_path(url)):
            refuse_mlflow(redact_uri(url))
        with self._boundary():
            self._engine = create_sql_engine(url)
            self._tx = Transactions(self._engine, serialize=self._is_memory())
            migrate.upgrade(self._engine)
        # SQLite starts and ends runs through its own driver (see sqlite_runs), a file on each
        # thread's own connection (see thread_connections)
        self._sqlite = self._engine.dialect.name == "sqlite"
        self._threads = (
            ThreadConnections(self._engine) if self._sqlite and not self._is_memory() else None
        )
        self._run_sqlite = self._tx.run_sqlite if self._threads is None else self._threads.run
        if self._engine.dialect.name in MYSQL_DIALECTS:
            self.max_artifact_path_length = MAX_MYSQL_ARTIFACT_PATH
        self.default_artifact_root = _normalise_root(artifact_uri) or self._default_root()

    @classmethod
    def from_uri(cls, uri: str, *, artifact_uri: str | None = None) -> SqlStore:
        return cls(uri, artifact_uri=artifact_uri)

    def _is_memory(self) -> bool:
        return uri_scheme(self.url) == "sqlite" and is_sqlite_memory(self.url)

    def _default_root(self) -> str:
        from_env = _normalise_root(_config.artifact_uri_from_env())
        if from_env:
            return from_env
        if self._is_memory():
            return f"memory://mlcore-{uuid.uuid4().hex[:12]}/artifacts"
        if uri_scheme(self.url) == "sqlite":
            database = os.path.abspath(make_url(self.url).database or "")
            return path_to_file_uri(os.path.join(os.path.dirname(database), "artifacts"))
        return path_to_file_uri(os.path.join(_config.DEFAULT_HOME, "artifacts"))

    @property
    def engine(self) -> Any:
        return self._engine

    def close(self) -> None:
        if self._threads is not None:
            self._threads.close()
        self._engine.dispose()

    # -- helpers ---------------------------------------------------------------------------------
    def _run_pk(self, conn: Connection, run_id: str, what: str = "run") -> int:
        pk = conn.execute(_RUN_PK, {"run_id": run_id}).scalar()
        if pk is None:
            raise NotFoundError(f"{what} {run_id!r} not found")
        return int(pk)

    def _load_run(self, conn: Connection, run_id: str) -> Run:
        rows = conn.execute(select(*RUN_COLUMNS).where(runs.c.run_id == run_id)).all()
        if not rows:
            raise NotFoundError(f"run {run_id!r} not found")
        return load_runs(conn, rows, now_ms())[0]

    # -- experiments ---------------------------------------------------------------------------
    def _create_experiment(
        self,
        name: str,
        artifact_location: str | None,
        tags: dict[str, str],
        description: str | None,
    ) -> Experiment:
        location = _normalise_root(artifact_location)

        def create(conn: Connection) -> Experiment:
            _require_free_name(conn, name)
            now = now_ms()
            try:
                result = conn.execute(
                    insert(experiments).values(
                        name=name,
                        artifact_location="",
                        lifecycle_stage="active",
                        description=description,
                        creation_time=now,
                        last_update_time=now,
                    )
                )
            except SqlIntegrityError:
                raise _exists(name, "active") from None
            assert result.inserted_primary_key is not None
            experiment_id = result.inserted_primary_key[0]
            conn.execute(
                update(experiments)
                .where(experiments.c.experiment_id == experiment_id)
                .values(
                    artifact_location=location
                    or join_uri(self.default_artifact_root, str(experiment_id))
                )
            )
            if tags:
                conn.execute(
                    insert(experiment_tags),
                    [
                        {"experiment_id": experiment_id, "key": k, "value": v}
                        for k, v in tags.items()
                    ],
                )
            return load_experiments(conn, experiments.c.experiment_id == experiment_id)[0]

        return self._tx.run(create)

    def _get_experiment(self, experiment_id: str) -> Experiment:
        found = self._tx.read(lambda conn: load_experiment(conn, "id", int(experiment_id)))
        if found is None:
            raise NotFoundError(f"experiment {experiment_id!r} not found")
        return found

    def _get_experiment_by_name(self, name: str) -> Experiment | None:
        return self._tx.read(lambda conn: load_experiment(conn, "name", name))

    def _search_experiments(self, view: ViewType) -> list[Experiment]:
        stage = experiments.c.lifecycle_stage
        where = {"active": stage == "active", "deleted": stage == "deleted"}.get(
            view.value, stage.is_not(None)
        )
        return self._tx.read(lambda conn: load_experiments(conn, where))

    def _rename_experiment(self, experiment_id: str, new_name: str) -> None:
        def rename(conn: Connection) -> None:
            _require_free_name(conn, new_name)
            self._touch_experiment(conn, experiment_id, name=new_name)

        self._tx.run(rename)

    def _touch_experiment(self, conn: Connection, experiment_id: str, **values: Any) -> None:
        result = conn.execute(
            update(experiments)
            .where(experiments.c.experiment_id == int(experiment_id))
            .values(last_update_time=now_ms(), **values)
        )
        if result.rowcount == 0:
            raise NotFoundError(f"experiment {experiment_id!r} not found")

    def _set_experiment_stage(self, experiment_id: str, stage: str) -> None:
        self._tx.run(
            lambda conn: self._touch_experiment(conn, experiment_id, lifecycle_stage=stage)
        )

    def _set_experiment_tags(self, experiment_id: str, tags: dict[str, str]) -> None:
        def set_tags(conn: Connection) -> None:
            self._touch_experiment(conn, experiment_id)
            rows = [
                {"experiment_id": int(experiment_id), "key": k, "value": v} for k, v in tags.items()
            ]
            upsert(conn, experiment_tags, rows, ["experiment_id", "key"], ["value"])

        self._tx.run(set_tags)

    def _delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        def apply(conn: Connection) -> None:
            self._touch_experiment(conn, experiment_id)
            result = conn.execute(
                delete(experiment_tags).where(
                    experiment_tags.c.experiment_id == int(experiment_id),
                    experiment_tags.c.key == key,
                )
            )
            if result.rowcount == 0:
                raise NotFoundError(f"experiment {experiment_id!r} has no tag {key!r}")

        self._tx.run(apply)

    # -- runs ----------------------------------------------------------------------------------
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
    ) -> Run:
        new_id = run_id or uuid.uuid4().hex
        if self._sqlite:
            return self._create_run_sqlite(
                int(experiment_id),
                new_id,
                name=name,
                start_time=start_time,
                tags=tags,
                parent_run_id=parent_run_id,
                config_json=config_json,
                user=user,
                alive_until=alive_until,
                params=params,
            )

        def create(conn: Connection) -> Run:
            experiment = conn.execute(
                _EXPERIMENT_FOR_RUN, {"experiment_id": int(experiment_id)}
            ).first()
            if experiment is None:
                raise NotFoundError(f"experiment {experiment_id!r} not found")
            if experiment.lifecycle_stage != "active":
                raise InvalidInputError(
                    f"experiment {experiment_id!r} is deleted; restore it before adding runs",
                    field="experiment_id",
                )
            if parent_run_id is not None:
                self._run_pk(conn, parent_run_id, what="parent run")
            values = {
                "run_id": new_id,
                "experiment_id": int(experiment_id),
                "name": name,
                "status": "RUNNING",
                "start_time": start_time,
                "end_time": None,
                "parent_run_id": parent_run_id,
                "user": user if user is not None else _config.current_user(),
                "artifact_uri": join_uri(experiment.artifact_location, new_id),
                "lifecycle_stage": "active",
                "alive_until": alive_until,
                "config": config_json,
            }
            try:
                result = conn.execute(_INSERT_RUN, values)
            except SqlIntegrityError:
                raise AlreadyExistsError(f"run {new_id!r} already exists") from None
            assert result.inserted_primary_key is not None
            pk = result.inserted_primary_key[0]
            if tags:
                conn.execute(
                    _INSERT_TAGS, [{"run_pk": pk, "key": k, "value": v} for k, v in tags.items()]
                )
            if params:  # a new run: nothing to conflict with
                conn.execute(
                    _INSERT_PARAMS,
                    [
                        {"run_pk": pk, "key": k, "value": v, "value_num": numeric_or_none(v)}
                        for k, v in params.items()
                    ],
                )
            return new_run(values, tags, params)

        return self._tx.run(create)

    def _create_run_sqlite(
        self,
        experiment_id: int,
        run_id: str,
        *,
        name: str,
        start_time: int,
        tags: dict[str, str],
        parent_run_id: str | None,
        config_json: str,
        user: str | None,
        alive_until: int | None,
        params: dict[str, str],
    ) -> Run:
        def create(cursor: Any) -> Run:
            location = sqlite_runs.experiment_location(cursor, experiment_id)
            if parent_run_id is not None:
                sqlite_runs.require_run(cursor, parent_run_id, what="parent run")
            values = {
                "run_id": run_id,
                "experiment_id": experiment_id,
                "name": name,
                "status": "RUNNING",
                "start_time": start_time,
                "end_time": None,
                "parent_run_id": parent_run_id,
                "user": user if user is not None else _config.current_user(),
                "artifact_uri": join_uri(location, run_id),
                "lifecycle_stage": "active",
                "alive_until": alive_until,
                "config": config_json,
            }
            row = tuple([values[field] for field in sqlite_runs.RUN_FIELDS])
            sqlite_runs.insert_run(cursor, row, tags, params)
            return new_run(values, tags, params)

        return self._run_sqlite(create)

    def _create_runs(
        self, experiment_id: str, new_runs: list[NewRun], updates: list[RunUpdate]
    ) -> list[Run]:
        user = _config.current_user()
        if self._sqlite:
            return self._create_runs_sqlite(int(experiment_id), new_runs, updates, user)

        def create(conn: Connection) -> list[Run]:
            if updates:
                self._apply_updates(conn, updates)
            if not new_runs:
                return []
            parents = {n.parent_run_id for n in new_runs if n.parent_run_id is not None}
            experiment: Any
            if len(parents) == 1:  # the usual case: one query checks both
                parent = next(iter(parents))
                experiment = conn.execute(
                    _EXPERIMENT_AND_PARENT,
                    {"experiment_id": int(experiment_id), "run_id": parent},
                ).first()
                if experiment is not None and experiment.parent_pk is None:
                    raise NotFoundError(f"parent run {parent!r} not found")
            else:
                experiment = conn.execute(
                    _EXPERIMENT_FOR_RUN, {"experiment_id": int(experiment_id)}
                ).first()
                for parent in parents:
                    self._run_pk(conn, parent, what="parent run")
            if experiment is None:
                raise NotFoundError(f"experiment {experiment_id!r} not found")
            if experiment.lifecycle_stage != "active":
                raise InvalidInputError(
                    f"experiment {experiment_id!r} is deleted; restore it before adding runs",
                    field="experiment_id",
                )
            rows: list[dict[str, Any]] = []
            for new in new_runs:
                run_id = new.run_id or uuid.uuid4().hex
                rows.append(
                    {
                        "run_id": run_id,
                        "experiment_id": int(experiment_id),
                        "name": new.name,
                        "status": "RUNNING",
                        "start_time": new.start_time,
                        "end_time": None,
                        "parent_run_id": new.parent_run_id,
                        "user": user,
                        "artifact_uri": join_uri(experiment.artifact_location, run_id),
                        "lifecycle_stage": "active",
                        "alive_until": new.alive_until,
                        "config": "{}",
                    }
                )
            returning = conn.dialect.insert_executemany_returning_sort_by_parameter_order
            try:
                if returning:  # SQLite, PostgreSQL: the keys come back with the insert
                    result = conn.execute(_INSERT_RUNS_RETURNING, rows)
                    pks = {run_id: int(pk) for pk, run_id in result}
                else:
                    conn.execute(_INSERT_RUN, rows)
            except SqlIntegrityError:
                raise AlreadyExistsError("a run with one of these ids already exists") from None
            if not returning:
                pks = self._run_pks(conn, [row["run_id"] for row in rows])
            tag_rows, param_rows = [], []
            for row, new in zip(rows, new_runs):
                pk = pks[row["run_id"]]
                tag_rows += [{"run_pk": pk, "key": k, "value": v} for k, v in new.tags.items()]
                param_rows += [
                    {"run_pk": pk, "key": k, "value": v, "value_num": numeric_or_none(v)}
                    for k, v in new.params.items()
                ]
            if tag_rows:
                conn.execute(_INSERT_TAGS, tag_rows)
            if param_rows:
                conn.execute(_INSERT_PARAMS, param_rows)
            return [
                new_run(row, dict(new.tags), dict(new.params)) for row, new in zip(rows, new_runs)
            ]

        return self._tx.run(create)

    def _create_runs_sqlite(
        self,
        experiment_id: int,
        new_runs: list[NewRun],
        updates: list[RunUpdate],
        user: str | None,
    ) -> list[Run]:
        def create(cursor: Any) -> list[Run]:
            if updates:
                sqlite_runs.apply_updates(cursor, updates)
            if not new_runs:
                return []
            location = sqlite_runs.experiment_location(cursor, experiment_id)
            for parent in {n.parent_run_id for n in new_runs if n.parent_run_id is not None}:
                sqlite_runs.require_run(cursor, parent, what="parent run")
            rows = []
            for new in new_runs:
                run_id = new.run_id or uuid.uuid4().hex
                rows.append(
                    {
                        "run_id": run_id,
                        "experiment_id": experiment_id,
                        "name": new.name,
                        "status": "RUNNING",
                        "start_time": new.start_time,
                        "end_time": None,
                        "parent_run_id": new.parent_run_id,
                        "user": user,
                        "artifact_uri": join_uri(location, run_id),
                        "lifecycle_stage": "active",
                        "alive_until": new.alive_until,
                        "config": "{}",
                    }
                )
            fields = sqlite_runs.RUN_FIELDS
            sqlite_runs.insert_runs(
                cursor,
                [
                    (tuple([row[f] for f in fields]), dict(new.tags), dict(new.params))
                    for row, new in zip(rows, new_runs)
                ],
            )
            return [
                new_run(row, dict(new.tags), dict(new.params)) for row, new in zip(rows, new_runs)
            ]

        return self._run_sqlite(create)

    def _run_pks(self, conn: Connection, run_ids: list[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        if len(run_ids) <= 2:  # a pre-compiled statement beats an expanding IN here
            for run_id in run_ids:
                found[run_id] = self._run_pk(conn, run_id)
            return found
        for part in chunked(run_ids):
            found.update(
                (run_id, int(pk)) for pk, run_id in conn.execute(_RUN_PKS, {"run_ids": part})
            )
        missing = [run_id for run_id in run_ids if run_id not in found]
        if missing:
            raise NotFoundError(f"run {missing[0]!r} not found")
        return found

    def _update_runs(self, updates: list[RunUpdate]) -> None:
        if self._sqlite:
            self._run_sqlite(lambda cursor: sqlite_runs.apply_updates(cursor, updates))
            return
        self._tx.run(lambda conn: self._apply_updates(conn, updates))

    def _apply_updates(self, conn: Connection, updates: list[RunUpdate]) -> None:
        pks = self._run_pks(conn, list({u.run_id for u in updates}))
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        tag_rows = []
        for change in updates:
            values: dict[str, Any] = {}
            if change.status is not None:
                values["status"] = change.status
                if change.status != "RUNNING":
                    values["alive_until"] = None
            if change.end_time is not None:
                values["end_time"] = change.end_time
            if values:
                groups.setdefault(tuple(sorted(values)), []).append(
                    {"target_run_id": change.run_id, **values}
                )
            pk = pks[change.run_id]
            tag_rows += [{"run_pk": pk, "key": k, "value": v} for k, v in change.tags.items()]
        for rows in groups.values():
            conn.execute(_UPDATE_RUN, rows)
        if tag_rows:
            upsert(conn, tags_table, tag_rows, ["run_pk", "key"], ["value"])

    def _get_run(self, run_id: str) -> Run:
        return self._tx.read(lambda conn: self._load_run(conn, run_id))

    def _update_run(
        self,
        run_id: str,
        *,
        status: str | None,
        end_time: int | None,
        name: str | None,
        alive_until: int | None,
        tags: dict[str, str],
    ) -> RunInfo:
        values: dict[str, Any] = {}
        if status is not None:
            values["status"] = status
            if status != "RUNNING":
                values["alive_until"] = None
        if end_time is not None:
            values["end_time"] = end_time
        if name is not None:
            values["name"] = name
        if alive_until is not None:
            values["alive_until"] = alive_until

        def apply(conn: Connection) -> RunInfo:
            if values:
                result = conn.execute(_UPDATE_RUN, {"target_run_id": run_id, **values})
                if result.rowcount == 0:
                    raise NotFoundError(f"run {run_id!r} not found")
            row = conn.execute(_RUN_ROW, {"run_id": run_id}).first()
            if row is None:
                raise NotFoundError(f"run {run_id!r} not found")
            if tags:
                rows = [{"run_pk": row.run_pk, "key": k, "value": v} for k, v in tags.items()]
                upsert(conn, tags_table, rows, ["run_pk", "key"], ["value"])
            return run_info(row, now_ms())

        return self._tx.run(apply)

    def _end_run(self, run_id: str, status: str, end_time: int, tags: dict[str, str]) -> RunInfo:
        """One transaction sets the status and checks whether any metric needs compacting;
        only a run that does gets a second one (compaction failing never un-ends a run)."""
        if status == "RUNNING":  # keeps its liveness deadline, as update_run does
            return super()._end_run(run_id, status, end_time, tags)
        values = {"target_run_id": run_id, "status": status, "end_time": end_time, "alive": None}
        if self._sqlite:
            row, compact = self._run_sqlite(
                lambda cursor: sqlite_runs.end_run(cursor, run_id, status, end_time, tags)
            )
            info = run_info(row, now_ms())
            if compact:
                self._compact_metrics(run_id)
            return info

        def apply(conn: Connection) -> tuple[RunInfo, bool]:
            if conn.dialect.update_returning:  # SQLite, PostgreSQL: no read-back
                row = conn.execute(_END_RUN_RETURNING, values).first()
            else:
                conn.execute(_END_RUN, values)
                row = conn.execute(_RUN_ROW, {"run_id": run_id}).first()
            if row is None:
                raise NotFoundError(f"run {run_id!r} not found")
            pk = row[0]
            if tags:
                rows = [{"run_pk": pk, "key": k, "value": v} for k, v in tags.items()]
                upsert(conn, tags_table, rows, ["run_pk", "key"], ["value"])
            compact = conn.execute(_NEEDS_COMPACTING, {"pk": pk}).first() is not None
            return run_info(row, now_ms()), compact

        info, compact = self._tx.run(apply)
        if compact:
            self._compact_metrics(run_id)
        return info

    def _heartbeat(self, run_ids: list[str], alive_until: int) -> None:
        def beat(conn: Connection) -> None:
            for part in chunked(run_ids):
                conn.execute(
                    update(runs)
                    .where(runs.c.run_id.in_(part), runs.c.status == "RUNNING")
                    .values(alive_until=alive_until)
                )

        self._tx.run(beat)

    def _set_run_stage(self, run_id: str, stage: str) -> None:
        def apply(conn: Connection) -> None:
            result = conn.execute(
                update(runs)
                .where(runs.c.run_id == run_id)
                .values(
                    lifecycle_stage=stage, deleted_time=now_ms() if stage == "deleted" else None
                )
            )
            if result.rowcount == 0:
                raise NotFoundError(f"run {run_id!r} not found")

        self._tx.run(apply)

    def _update_run_config(
        self, run_id: str, config: dict[str, Any], params: dict[str, str]
    ) -> dict[str, Any]:
        def apply(conn: Connection) -> dict[str, Any]:
            row = conn.execute(
                select(runs.c.run_pk, runs.c.config).where(runs.c.run_id == run_id)
            ).first()
            if row is None:
                raise NotFoundError(f"run {run_id!r} not found")
            merged = {**json.loads(row.config), **config}
            if params:
                _insert_params(conn, row.run_pk, run_id, params)
            conn.execute(
                update(runs)
                .where(runs.c.run_pk == row.run_pk)
                .values(config=json.dumps(merged, sort_keys=True, default=str))
            )
            return merged

        return self._tx.run(apply)

    # -- params, tags, metrics --------------------------------------------------------------------
    def _log_params(self, run_id: str, params: dict[str, str]) -> None:
        def apply(conn: Connection) -> None:
            _insert_params(conn, self._run_pk(conn, run_id), run_id, params)

        self._tx.run(apply)

    def _set_tags(self, run_id: str, tags: dict[str, str]) -> None:
        def apply(conn: Connection) -> None:
            pk = self._run_pk(conn, run_id)
            rows = [{"run_pk": pk, "key": k, "value": v} for k, v in tags.items()]
            upsert(conn, tags_table, rows, ["run_pk", "key"], ["value"])

        self._tx.run(apply)

    def _delete_tag(self, run_id: str, key: str) -> None:
        def apply(conn: Connection) -> None:
            pk = self._run_pk(conn, run_id)
            result = conn.execute(
                delete(tags_table).where(tags_table.c.run_pk == pk, tags_table.c.key == key)
            )
            if result.rowcount == 0:
                raise NotFoundError(f"run {run_id!r} has no tag {key!r}")

        self._tx.run(apply)

    def _log_metrics(self, points: Sequence[MetricPoint], batch_id: str | None) -> None:
        batch = metric_ops.PreparedBatch(points, batch_id)
        self._tx.run(lambda conn: metric_ops.store_points(conn, batch))

    def _metric_history(
        self,
        run_id: str,
        key: str,
        max_points: int | None = None,
        min_step: int | None = None,
        max_step: int | None = None,
    ) -> pa.Table:
        return self._tx.read(
            lambda conn: metric_ops.history(
                conn, self._run_pk(conn, run_id), key, max_points, min_step, max_step
            )
        )

    def _sampled_histories(
        self,
        run_ids: list[str],
        keys: list[str],
        max_points: int = 2000,
        min_step: int | None = None,
        max_step: int | None = None,
    ) -> list[SampledSeries]:
        def read(conn: Connection) -> list[SampledSeries]:
            pks = self._run_pks(conn, run_ids)
            ordered = {run_id: pks[run_id] for run_id in run_ids}
            return metric_ops.sampled_series(conn, ordered, keys, max_points, min_step, max_step)

        return self._tx.read(read)

    def _experiment_summaries(
        self, experiment_ids: list[str] | None = None, include_deleted: bool = False
    ) -> list[ExperimentSummary]:
        ids = None if experiment_ids is None else [int(e) for e in experiment_ids]
        return self._tx.read(
            lambda conn: summaries.experiment_summaries(conn, ids, include_deleted)
        )

    def _run_columns(self, experiment_ids: list[str]) -> RunColumns:
        ids = [int(e) for e in experiment_ids]
        return self._tx.read(lambda conn: summaries.run_columns(conn, ids))

    def _compact_metrics(self, run_id: str) -> int:
        return self._tx.run(lambda conn: metric_ops.compact(conn, self._run_pk(conn, run_id)))

    # -- search ----------------------------------------------------------------------------------
    def _search_runs(
        self,
        experiment_ids: list[str],
        expr: Expr | None,
        order_by: list[OrderBy],
        max_results: int,
        offset: int,
        view: ViewType,
    ) -> tuple[list[Run], bool]:
        found, more, _ = self._search_page(
            experiment_ids, expr, order_by, max_results, offset, None, view
        )
        return found, more

    def _search_runs_page(
        self,
        experiment_ids: list[str],
        expr: Expr | None,
        orders: list[OrderBy],
        offset: int,
        view: ViewType,
        query: SearchQuery,
    ) -> RunPage:
        """A page resuming strictly after the sort values in the token (see run_search)."""
        found, more, last = self._search_page(
            experiment_ids, expr, orders, query.max_results, offset, query.page_token, view
        )
        page = RunPage(found)
        page.next_page_token = encode_page_token(offset + len(found), last) if more else None
        return page

    def _search_page(
        self,
        experiment_ids: list[str],
        expr: Expr | None,
        orders: list[OrderBy],
        max_results: int,
        offset: int,
        token: str | None,
        view: ViewType,
    ) -> tuple[list[Run], bool, list[Any] | None]:
        now = now_ms()
        shape = (tuple(experiment_ids), expr, tuple(orders), view.value)
        plan = build_search(*shape)
        after = page_token_after(token, plan.size)
        if after is None and offset:  # an offset-only token: one query that can skip rows
            plan = build_search(*shape, single_pass=True)

        def read(conn: Connection) -> tuple[list[Run], bool, list[Any] | None]:
            fetch = driver_fetch(conn)
            start = 0 if after is not None else offset
            rows, more, last = run_search(fetch, conn.dialect, plan, max_results, start, after, now)
            return load_page(fetch, conn.dialect, rows, now), more, last

        return self._tx.read(read)

    def _count_runs(
        self, experiment_ids: list[str], expr: Expr | None, filter: str | None, view: ViewType
    ) -> int:
        """One ``COUNT(*)`` over the search's single-pass query (no page is loaded)."""
        plan = build_search(tuple(experiment_ids), expr, (), view.value, single_pass=True)
        query = select(func.count()).select_from(plan.passes[0].query.subquery())
        now = now_ms()
        return self._tx.read(lambda conn: int(conn.execute(query, {"now_ms": now}).scalar_one()))

    # -- artifact index --------------------------------------------------------------------------
    def _record_artifacts(self, run_id: str, files: list[FileInfo]) -> None:
        now = now_ms()

        def apply(conn: Connection) -> None:
            pk = self._run_pk(conn, run_id)
            rows = [
                {"run_pk": pk, "path": f.path, "size": f.size, "sha256": f.sha256, "created": now}
                for f in files
            ]
            upsert(conn, artifact_files, rows, ["run_pk", "path"], ["size", "sha256", "created"])

        self._tx.run(apply)

    def _artifact_records(self, run_id: str, prefix: str) -> dict[str, FileInfo]:
        from mlcore.types import FileInfo, build

        def read(conn: Connection) -> list[Any]:
            pk = self._run_pk(conn, run_id)
            if not prefix:
                return list(conn.execute(_ARTIFACT_RECORDS, {"pk": pk}).all())
            params = {"pk": pk, "prefix": prefix, "pattern": _like_prefix(prefix)}
            return list(conn.execute(_ARTIFACT_RECORDS_UNDER, params).all())

        return {
            r.path: build(
                FileInfo, {"path": r.path, "is_dir": False, "size": r.size, "sha256": r.sha256}
            )
            for r in self._tx.read(read)
        }


def _require_free_name(conn: Connection, name: str) -> None:
    found = conn.execute(
        select(experiments.c.lifecycle_stage).where(experiments.c.name == name)
    ).first()
    if found is not None:
        raise _exists(name, found.lifecycle_stage)


def _exists(name: str, stage: str) -> AlreadyExistsError:
    if stage == "deleted":
        return AlreadyExistsError(
            f"experiment {name!r} already exists and is deleted; restore it with "
            "restore_experiment() or choose another name"
        )
    return AlreadyExistsError(f"experiment {name!r} already exists")


def _insert_params(conn: Connection, run_pk: int, run_id: str, values: dict[str, str]) -> None:
    """Insert params atomically: a key already stored with another value is a conflict."""
    rows = [
        {"run_pk": run_pk, "key": k, "value": v, "value_num": numeric_or_none(v)}
        for k, v in values.items()
    ]
    insert_ignore(conn, params_table, rows, ["run_pk", "key"])
    stored = dict(
        conn.execute(
            select(params_table.c.key, params_table.c.value).where(
                params_table.c.run_pk == run_pk, params_table.c.key.in_(list(values))
            )
        ).all()
    )
    for key, value in values.items():
        if stored.get(key) != value:
            raise ParamConflictError(
                f"param {key!r} of run {run_id} is already {stored.get(key)!r}; it cannot change "
                f"to {value!r} (params are immutable: log a metric or set a tag for values that "
                "change)",
                field=key,
            )


def _normalise_root(uri: str | None) -> str | None:
    """Artifact roots are stored as absolute URIs; plain paths become ``file://`` URIs."""
    if not uri:
        return None
    # a query holds connection options (endpoint, region...), not identity: remember them for
    # this process and store the bare location
    uri = artifact_options.remember(uri)
    if uri_scheme(uri) == "":
        return path_to_file_uri(uri)
    return uri.rstrip("/")
