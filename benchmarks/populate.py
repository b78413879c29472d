"""Populating stores with many runs for the read benchmarks.

mlcore is populated through its own store API. MLflow is populated through its own SQLAlchemy
models in bulk (creating 10,000 runs through its client takes ~25 ms each); its search then
reads exactly what its client would have written. Each side gets the system tags its own
client adds to every run (mlcore: source name and git commit; MLflow: user, source name and
type, run name), so the stores look like users' stores.
"""

from __future__ import annotations

import random
import time
import uuid
from typing import Any

LRS = ["0.1", "0.01", "0.001"]
TEAMS = ["a", "b"]


def run_specs(n: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [
        {
            "params": {
                "lr": rng.choice(LRS),
                "depth": str(rng.randint(2, 12)),
                "model": rng.choice(["xgb", "rf", "lr"]),
            },
            "metrics": {"acc": rng.random(), "loss": rng.random(), "f1": rng.random()},
            "tags": {"team": rng.choice(TEAMS), "stage": rng.choice(["dev", "prod"])},
        }
        for _ in range(n)
    ]


def populate_mlcore(uri: str, specs: list[dict[str, Any]], system_tags: bool = True) -> Any:
    import mlcore

    tracker = mlcore.Tracker(uri)
    store = tracker.store
    experiment_id = tracker.get_or_create_experiment("search-bench").experiment_id
    now = int(time.time() * 1000)
    points = []
    from mlcore.tracking.run_source import source_tags

    system = source_tags() if system_tags else {}
    for i, spec in enumerate(specs):
        run = store.create_run(
            experiment_id,
            name=f"run-{i}",
            start_time=now + i,
            params=spec["params"],
            tags={**system, **spec["tags"]},
        )
        points.extend((run.info.run_id, k, v, now, 0) for k, v in spec["metrics"].items())
        if len(points) > 30_000:
            store.log_metrics(points)
            points = []
    store.log_metrics(points)
    return tracker


def populate_mlflow(uri: str, specs: list[dict[str, Any]], system_tags: bool = True) -> str:
    import mlflow
    from mlflow.store.tracking.dbmodels.models import (
        SqlLatestMetric,
        SqlMetric,
        SqlParam,
        SqlRun,
        SqlTag,
    )
    from sqlalchemy.orm import Session

    mlflow.set_tracking_uri(uri)
    experiment_id = mlflow.create_experiment("search-bench")
    store = mlflow.tracking._tracking_service.utils._get_store()
    from mlflow.tracking.context.registry import resolve_tags

    system = resolve_tags({}) if system_tags else {}
    now = int(time.time() * 1000)
    objects: list[Any] = []
    for i, spec in enumerate(specs):
        run_id = uuid.uuid4().hex
        run_tags = {
            **system,
            **({"mlflow.runName": f"run-{i}"} if system_tags else {}),
            **spec["tags"],
        }
        objects.append(
            SqlRun(
                run_uuid=run_id,
                name=f"run-{i}",
                source_type="LOCAL",
                source_name="",
                entry_point_name="",
                user_id="bench",
                status="FINISHED",
                start_time=now + i,
                end_time=now + i,
                source_version="",
                lifecycle_stage="active",
                artifact_uri=f"/tmp/{run_id}",
                experiment_id=int(experiment_id),
            )
        )
        objects += [SqlParam(key=k, value=v, run_uuid=run_id) for k, v in spec["params"].items()]
        objects += [SqlTag(key=k, value=v, run_uuid=run_id) for k, v in run_tags.items()]
        for k, v in spec["metrics"].items():
            objects.append(
                SqlMetric(key=k, value=v, timestamp=now, step=0, is_nan=False, run_uuid=run_id)
            )
            objects.append(
                SqlLatestMetric(
                    key=k, value=v, timestamp=now, step=0, is_nan=False, run_uuid=run_id
                )
            )
    with Session(store.engine) as session:
        session.add_all(objects)
        session.commit()
    return experiment_id


def populate_mlcore_bulk(
    url: str, specs: list[dict[str, Any]], batch: int = 50_000, name: str = "search-bench"
) -> str:
    """Fill an mlcore store (SQLite or PostgreSQL URL) with ``specs`` by direct executemany
    into its tables: a million runs in about a minute instead of the ~20 min one
    ``create_runs``/``log_metrics`` batch at a time takes. Writes what the same runs created
    through the store hold in ``runs``, ``params``, ``tags`` and ``latest_metrics`` (search
    reads nothing else); the metric histories (``metric_chunks``) are left out. Returns the
    experiment id."""
    from sqlalchemy import func, insert, select

    from mlcore._validation import numeric_or_none
    from mlcore.stores.sql import SqlStore
    from mlcore.stores.sql.schema import latest_metrics, params, runs, tags

    store = SqlStore(url)
    experiment = store.create_experiment(name)
    root = experiment.artifact_location
    now = 1_700_000_000_000
    rng = random.Random(11 if name == "search-bench" else f"11-{name}")
    with store.engine.begin() as conn:
        first = (conn.execute(select(func.max(runs.c.run_pk))).scalar() or 0) + 1
        for start in range(0, len(specs), batch):
            part = specs[start : start + batch]
            run_rows, param_rows, tag_rows, metric_rows = [], [], [], []
            for offset, spec in enumerate(part):
                i = start + offset
                pk = first + i
                run_id = f"{rng.getrandbits(128):032x}"
                run_rows.append(
                    {
                        "run_pk": pk,
                        "run_id": run_id,
                        "experiment_id": int(experiment.experiment_id),
                        "name": f"run-{i}",
                        "status": "FINISHED",
                        "start_time": now + i,
                        "end_time": now + i,
                        "parent_run_id": None,
                        "user": "bench",
                        "artifact_uri": f"{root}/{run_id}",
                        "lifecycle_stage": "active",
                        "alive_until": None,
                        "config": "{}",
                        "deleted_time": None,
                    }
                )
                param_rows += [
                    {"run_pk": pk, "key": k, "value": v, "value_num": numeric_or_none(v)}
                    for k, v in spec["params"].items()
                ]
                tag_rows += [{"run_pk": pk, "key": k, "value": v} for k, v in spec["tags"].items()]
                metric_rows += [
                    {
                        "run_pk": pk,
                        "key": k,
                        "value": v,
                        "is_nan": False,
                        "step": 0,
                        "timestamp": now,
                    }
                    for k, v in spec["metrics"].items()
                ]
            for table, rows in (
                (runs, run_rows),
                (params, param_rows),
                (tags, tag_rows),
                (latest_metrics, metric_rows),
            ):
                conn.execute(insert(table), rows)
    if store.engine.dialect.name == "postgresql":  # keys given explicitly: move the sequence on
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(
                "SELECT setval(pg_get_serial_sequence('runs', 'run_pk'), max(run_pk)) FROM runs"
            )
            conn.exec_driver_sql("ANALYZE")
    experiment_id = experiment.experiment_id
    store.close()
    return experiment_id
