"""Reading an MLflow database (SQLite, PostgreSQL, MySQL) without writing to it.

A SQLite file is opened read-only (``mode=ro``, or ``immutable`` when no writer holds it: no
``-wal``/``-shm`` file is created and the journal mode is left as it is). Other databases are
read inside read-only transactions. Tables read: ``experiments``, ``experiment_tags``,
``runs``, ``params``, ``tags``, ``metrics``, ``datasets``, ``inputs``, ``input_tags``,
``logged_models`` (+ ``_tags``, ``_params``), ``registered_models``, ``model_versions``,
``registered_model_tags``, ``model_version_tags``, ``registered_model_aliases``; MLflow stores
NaN as ``value 0, is_nan 1``.
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from itertools import groupby
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Engine, MetaData, Table, inspect, select, text
from sqlalchemy.engine import make_url

from mlcore.errors import InvalidInputError
from mlcore.importers.mlflow.artifact_files import ArtifactLocator, UnreachableArtifacts
from mlcore.importers.mlflow.file_source import DamagedRecord
from mlcore.importers.mlflow.records import (
    DatasetInput,
    LoggedModel,
    ModelVersionRecord,
    Problem,
    RegisteredModelRecord,
    RunRecord,
    SourceExperiment,
)
from mlcore.stores.foreign import is_mlflow_tables
from mlcore.uris import redact_uri

__all__ = ["SqlSource"]


def _engine(url: str) -> Engine:
    if make_url(url).get_backend_name() == "sqlite":
        from mlcore.stores.sql.engine import create_readonly_sqlite_engine

        database = make_url(url).database or ""
        if not database or database == ":memory:" or not os.path.isfile(database):
            raise InvalidInputError(f"MLflow database {url!r} does not exist", field="source")
        return create_readonly_sqlite_engine(database)
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    from mlcore.stores.sql.engine import normalize_url

    return create_engine(normalize_url(url), poolclass=NullPool)


class SqlSource:
    """An MLflow tracking database, read-only."""

    kind = "MLflow database"

    def __init__(self, url: str, artifacts_root: str | None = None) -> None:
        self.display = redact_uri(url)
        self.engine = _engine(url)
        base = (
            os.path.dirname(os.path.abspath(make_url(url).database or "."))
            if make_url(url).get_backend_name() == "sqlite"
            else os.getcwd()
        )
        self.locator = ArtifactLocator(artifacts_root, base)
        self.problems: list[Problem] = []
        self._conn: Connection = self.engine.connect()
        if self.engine.dialect.name != "sqlite":
            self._conn.execute(text("SET TRANSACTION READ ONLY"))
        tables = set(inspect(self._conn).get_table_names())
        columns = (
            {c["name"] for c in inspect(self._conn).get_columns("runs")}
            if "runs" in tables
            else set()
        )
        if not is_mlflow_tables(tables, columns):
            self.close()
            raise InvalidInputError(
                f"{self.display} is not an MLflow database (no MLflow runs table)", field="source"
            )
        meta = MetaData()
        wanted = [
            "experiments", "experiment_tags", "runs", "params", "tags", "metrics", "datasets",
            "inputs", "input_tags", "logged_models", "logged_model_tags", "logged_model_params",
            "registered_models", "model_versions", "registered_model_tags",
            "model_version_tags", "registered_model_aliases",
        ]  # fmt: skip
        self.t: dict[str, Table] = {
            name: Table(name, meta, autoload_with=self._conn) for name in wanted if name in tables
        }

    def close(self) -> None:
        self._conn.close()
        self.engine.dispose()

    def _rows(self, statement: Any) -> list[Any]:
        return list(self._conn.execute(statement).mappings())

    # -- experiments and runs --------------------------------------------------------------
    def experiments(self) -> list[SourceExperiment]:
        e, tags = self.t["experiments"], self.t.get("experiment_tags")
        by_id: dict[str, dict[str, str]] = defaultdict(dict)
        if tags is not None:
            for row in self._rows(select(tags)):
                by_id[str(row["experiment_id"])][row["key"]] = row["value"] or ""
        return [
            SourceExperiment(
                experiment_id=str(row["experiment_id"]),
                name=row["name"],
                lifecycle_stage=row["lifecycle_stage"] or "active",
                tags=by_id[str(row["experiment_id"])],
                creation_time=row.get("creation_time"),
            )
            for row in self._rows(select(e).order_by(e.c.experiment_id))
        ]

    def run_ids(self, experiment_id: str) -> list[str]:
        r = self.t["runs"]
        statement = select(r.c.run_uuid).where(r.c.experiment_id == int(experiment_id))
        return sorted(row[0] for row in self._conn.execute(statement.order_by(r.c.run_uuid)))

    def parent_ids(self, experiment_id: str) -> dict[str, str]:
        r, t = self.t["runs"], self.t["tags"]
        statement = (
            select(t.c.run_uuid, t.c.value)
            .join(r, r.c.run_uuid == t.c.run_uuid)
            .where(r.c.experiment_id == int(experiment_id), t.c.key == "mlflow.parentRunId")
        )
        return {str(row[0]): str(row[1]) for row in self._conn.execute(statement)}

    def run_states(self, experiment_id: str) -> dict[str, tuple[str, int | None, str]]:
        """run id -> (status, end time, artifact URI), to skip what was imported already."""
        r = self.t["runs"]
        statement = select(r.c.run_uuid, r.c.status, r.c.end_time, r.c.artifact_uri).where(
            r.c.experiment_id == int(experiment_id)
        )
        return {
            row[0]: (row[1] or "FINISHED", None if row[2] is None else int(row[2]), row[3] or "")
            for row in self._conn.execute(statement)
        }

    def read_run(self, experiment_id: str, run_id: str) -> RunRecord:
        r = self.t["runs"]
        row = self._conn.execute(select(r).where(r.c.run_uuid == run_id)).mappings().first()
        if row is None:
            raise DamagedRecord(f"run {run_id} vanished from the database")
        tags = self._key_values("tags", run_id)
        record = RunRecord(
            run_id=run_id,
            experiment_id=experiment_id,
            name=row["name"] or tags.get("mlflow.runName") or run_id,
            status=row["status"] or "FINISHED",
            start_time=int(row["start_time"] or 0),
            end_time=None if row["end_time"] is None else int(row["end_time"]),
            lifecycle_stage=row["lifecycle_stage"] or "active",
            user=row["user_id"] or tags.get("mlflow.user"),
            artifact_uri=row["artifact_uri"] or "",
            params=self._key_values("params", run_id),
            tags=tags,
        )
        for key, rows in groupby(self._metric_rows(run_id), itemgetter(0)):
            record.metrics[key] = [
                (ts, step, math.nan if is_nan else float(value))
                for _key, ts, step, value, is_nan in rows
            ]
        record.inputs = self._inputs(run_id)
        try:
            record.files = self.locator.files(record.artifact_uri)
        except (UnreachableArtifacts, OSError) as exc:
            raise DamagedRecord(str(exc)) from None
        return record

    def _metric_rows(self, run_id: str) -> list[Any]:
        """A run's metric rows through the driver's own cursor (millions of rows: no per-row
        SQLAlchemy work)."""
        marker = "?" if self.engine.dialect.paramstyle == "qmark" else "%s"
        q = self.engine.dialect.identifier_preparer.quote_identifier
        key, timestamp, step = q("key"), q("timestamp"), q("step")
        cursor = self._conn.connection.cursor()
        try:
            cursor.execute(
                f"SELECT {key}, {timestamp}, {step}, {q('value')}, {q('is_nan')} "
                f"FROM {q('metrics')} WHERE {q('run_uuid')} = {marker} "
                f"ORDER BY {key}, {timestamp}, {step}, {q('value')}",  # MLflow's order
                (run_id,),
            )
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def _key_values(self, table: str, run_id: str) -> dict[str, str]:
        t = self.t[table]
        statement = select(t.c.key, t.c.value).where(t.c.run_uuid == run_id)
        return {key: value or "" for key, value in self._conn.execute(statement)}

    def _inputs(self, run_id: str) -> list[DatasetInput]:
        i, d, it = self.t.get("inputs"), self.t.get("datasets"), self.t.get("input_tags")
        if i is None or d is None:
            return []
        rows = self._rows(
            select(i.c.input_uuid, d)
            .join(d, d.c.dataset_uuid == i.c.source_id)
            .where(i.c.destination_id == run_id, i.c.source_type == "DATASET")
            .order_by(i.c.input_uuid)
        )
        found = []
        for row in rows:
            context = None
            if it is not None:
                context = self._conn.execute(
                    select(it.c.value).where(
                        it.c.input_uuid == row["input_uuid"], it.c.name == "mlflow.data.context"
                    )
                ).scalar()
            found.append(
                DatasetInput(
                    name=row["name"],
                    digest=row["digest"],
                    source_type=row["dataset_source_type"],
                    source=row["dataset_source"],
                    schema=row["dataset_schema"],
                    profile=row["dataset_profile"],
                    context=context,
                )
            )
        return found

    # -- logged models and the registry --------------------------------------------------
    def logged_models(self) -> list[LoggedModel]:
        lm = self.t.get("logged_models")
        if lm is None:
            return []
        found = []
        for row in self._rows(select(lm).order_by(lm.c.model_id)):
            model = LoggedModel(
                model_id=row["model_id"],
                experiment_id=str(row["experiment_id"]),
                name=row["name"],
                source_run_id=row["source_run_id"],
                artifact_location=row["artifact_location"] or "",
            )
            for table, key, value, into in (
                ("logged_model_tags", "tag_key", "tag_value", model.tags),
                ("logged_model_params", "param_key", "param_value", model.params),
            ):
                t = self.t.get(table)
                if t is not None:
                    statement = select(t.c[key], t.c[value]).where(t.c.model_id == model.model_id)
                    into.update({k: v or "" for k, v in self._conn.execute(statement)})
            try:
                model.files = self.locator.files(model.artifact_location)
            except (UnreachableArtifacts, OSError) as exc:
                self.problems.append(Problem(f"logged model {model.model_id}", str(exc)))
                continue
            found.append(model)
        return found

    def registered_models(self) -> list[RegisteredModelRecord]:
        rm = self.t.get("registered_models")
        if rm is None:
            return []
        mv, rmt = self.t["model_versions"], self.t.get("registered_model_tags")
        mvt, rma = self.t.get("model_version_tags"), self.t.get("registered_model_aliases")
        found = []
        for row in self._rows(select(rm).order_by(rm.c.name)):
            name = row["name"]
            model = RegisteredModelRecord(name=name, description=row["description"] or None)
            if rmt is not None:
                statement = select(rmt.c.key, rmt.c.value).where(rmt.c.name == name)
                model.tags = {k: v or "" for k, v in self._conn.execute(statement)}
            if rma is not None:
                statement = select(rma.c.alias, rma.c.version).where(rma.c.name == name)
                model.aliases = {alias: int(v) for alias, v in self._conn.execute(statement)}
            for v in self._rows(select(mv).where(mv.c.name == name).order_by(mv.c.version)):
                if (v.get("current_stage") or "") == "Deleted_Internal":
                    continue
                version = ModelVersionRecord(
                    version=int(v["version"]),
                    source=v["source"] or "",
                    run_id=v["run_id"] or None,
                    stage=v["current_stage"] or "None",
                    description=v["description"] or None,
                    user=v["user_id"] or None,
                    storage_location=v.get("storage_location") or None,
                )
                if version.source.startswith("models:/m-"):
                    version.model_id = version.source[len("models:/") :].split("/")[0]
                if mvt is not None:
                    statement = select(mvt.c.key, mvt.c.value).where(
                        mvt.c.name == name, mvt.c.version == version.version
                    )
                    version.tags = {k: x or "" for k, x in self._conn.execute(statement)}
                model.versions.append(version)
            found.append(model)
        return found
