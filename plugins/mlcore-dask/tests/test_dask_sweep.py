"""Sweeps on a real ``distributed.LocalCluster``: trials run in the worker processes, a
trial whose worker dies fails and the sweep goes on, early termination works across workers."""

from __future__ import annotations

import os

import pytest

import mlcore
from mlcore.tracking import Tracker

pytest.importorskip("distributed")

pytest.importorskip("optuna")


def quadratic(config: object) -> None:
    if config.x == 3:  # type: ignore[attr-defined]
        os._exit(9)  # the worker running this trial dies
    mlcore.log({"loss": (config.x - 5) ** 2, "pid": float(os.getpid())})  # type: ignore[attr-defined]


def test_a_sweep_runs_its_trials_on_the_cluster(cluster: object, tracker: Tracker) -> None:
    config = {
        "method": "grid",
        "metric": {"name": "loss", "goal": "minimize"},
        "parameters": {"x": {"values": [1, 3, 5, 7]}},
    }
    options = {"address": cluster.scheduler_address}  # type: ignore[attr-defined]
    sweep = mlcore.sweep(
        config, quadratic, parallelism=2, executor="dask", executor_options=options,
        tracker=tracker,
    )  # fmt: skip
    runs = {r.data.params["x"]: r for r in sweep.runs}
    assert sorted(runs) == ["1", "3", "5", "7"]
    assert runs["3"].info.status.value == "FAILED"  # its worker died; the sweep went on
    assert "mlcore.sweep.error" in runs["3"].data.tags
    assert all(runs[x].info.status.value == "FINISHED" for x in ("1", "5", "7"))
    pids = {runs[x].data.metrics["pid"] for x in ("1", "5", "7")}
    assert float(os.getpid()) not in pids  # not in this process: on the cluster's workers
    assert sweep.best_run is not None and sweep.best_run.data.params["x"] == "5"


def curve(config: object) -> None:
    for epoch in range(1, 28):
        mlcore.log({"acc": config.lr * epoch / 27})  # type: ignore[attr-defined]


def test_hyperband_stops_trials_running_on_the_workers(cluster: object, tracker: Tracker) -> None:
    config = {
        "method": "random", "seed": 1, "metric": {"name": "acc", "goal": "maximize"},
        "parameters": {"lr": {"min": 0.0, "max": 1.0}},
        # rungs at 3 and 9 epochs of 27 (with min_iter alone, 27 would be a rung too, and a
        # trial could be stopped at its last epoch)
        "early_terminate": {"type": "hyperband", "max_iter": 27, "eta": 3},
    }  # fmt: skip
    options = {"address": cluster.scheduler_address}  # type: ignore[attr-defined]
    sweep = mlcore.sweep(config, curve, count=12, parallelism=2, executor="dask",
                         executor_options=options, tracker=tracker)  # fmt: skip
    killed = [r for r in sweep.runs if r.info.status.value == "KILLED"]
    assert killed and all("hyperband" in r.data.tags["mlcore.sweep.stopped"] for r in killed)
    assert all(len(tracker.metric_history(r.info.run_id, "acc")) < 27 for r in killed)
    best = max(sweep.runs, key=lambda r: float(r.data.params["lr"]))
    assert best.info.status.value == "FINISHED"
