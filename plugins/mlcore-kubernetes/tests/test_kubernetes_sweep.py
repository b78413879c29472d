"""Sweeps on Kubernetes: every trial a Job (run by the stand-in kubelet against a real
kube-apiserver) that runs ``python -m mlcore.sweep.worker``; the agent and the pods share only
the store."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kube_cluster import HarnessKubelet
from mlcore_kubernetes import KubernetesExecutor

import mlcore
from mlcore.tracking import Tracker

pytest.importorskip("optuna")
pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")


@pytest.fixture
def tracker(tmp_path: Path) -> Iterator[Tracker]:
    with Tracker(f"sqlite:///{tmp_path}/mlcore.db", artifact_uri=str(tmp_path / "art")) as t:
        yield t


@pytest.fixture
def executor(kube_api: Any, namespace: str, kubelet: HarnessKubelet) -> Iterator[Any]:
    executor = KubernetesExecutor(
        api_client=kube_api, namespace=namespace, image="trainer:1.0", watch_timeout=2
    )
    yield executor
    executor.close()


def square(config: Any) -> None:
    if config.x == 2:
        raise ValueError("x=2 diverges")
    mlcore.log({"loss": float(config.x**2), "pid": float(os.getpid())})


def test_a_sweep_runs_each_trial_as_a_job(
    kube_api: Any, namespace: str, executor: Any, tracker: Tracker
) -> None:
    from kubernetes import client

    config = {
        "method": "grid",
        "metric": {"name": "loss", "goal": "minimize"},
        "parameters": {"x": {"values": [1, 2, 3]}},
    }
    sweep = mlcore.sweep(config, square, parallelism=3, executor=executor, tracker=tracker)
    runs = {r.data.params["x"]: r for r in sweep.runs}
    assert runs["2"].info.status.value == "FAILED"
    assert runs["2"].data.tags["mlcore.sweep.error"] == "ValueError: x=2 diverges"
    assert runs["1"].info.status.value == runs["3"].info.status.value == "FINISHED"
    assert float(os.getpid()) not in {runs[x].data.metrics["pid"] for x in ("1", "3")}
    assert sweep.best_run is not None and sweep.best_run.data.params["x"] == "1"
    jobs = client.BatchV1Api(kube_api).list_namespaced_job(
        namespace, label_selector=f"mlcore/sweep={sweep.id}"
    )
    assert len(jobs.items) == 3
    commands = [j.spec.template.spec.containers[0].command for j in jobs.items]
    assert all(c[:3] == ["python", "-m", "mlcore.sweep.worker"] for c in commands)
    assert {c[c.index("--trial-run") + 1] for c in commands} == {r.info.run_id for r in sweep.runs}


def test_a_program_sweep_runs_its_script_in_the_pods(
    executor: Any, tracker: Tracker, tmp_path: Path
) -> None:
    script = tmp_path / "train.py"
    script.write_text(
        textwrap.dedent(
            """
            import os, mlcore
            with mlcore.start_run():
                mlcore.log({"score": mlcore.config.lr * 10, "pid": float(os.getpid())})
            """
        )
    )
    config = {
        "program": str(script),
        "method": "grid",
        "metric": {"name": "score", "goal": "maximize"},
        "parameters": {"lr": {"values": [0.1, 0.3]}},
    }
    sweep = mlcore.sweep(config, parallelism=2, executor=executor, tracker=tracker)
    scores = {r.data.params["lr"]: r.data.metrics.get("score") for r in sweep.runs}
    assert scores == pytest.approx({"0.1": 1.0, "0.3": 3.0})
    assert all(r.info.status.value == "FINISHED" for r in sweep.runs)
    assert sweep.best_run is not None and sweep.best_run.data.params["lr"] == "0.3"
