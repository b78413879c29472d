"""The kubernetes executor against a real kube-apiserver: manifests (validated against the
Kubernetes schemas), the executor conformance suite, pipelines, rejected Jobs, timeouts,
failed pods, secrets and cancellation."""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kube_cluster import HarnessKubelet
from mlcore_kubernetes import KubernetesExecutor, job_name

from mlcore.errors import InvalidInputError
from mlcore.executors import Executor, StepTask, resolve_executor
from mlcore.pipeline import Dataset, Input, Output, component, pipeline
from mlcore.testing import ExecutorConformance
from mlcore.tracking import Tracker

kubernetes_validate = pytest.importorskip("kubernetes_validate")
pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
SCHEMA_VERSIONS = ["1.25.0", "1.33.0"]


def validate(manifest: dict[str, Any]) -> None:
    for version in SCHEMA_VERSIONS:
        kubernetes_validate.validate(manifest, version, strict=True)


class ValidatingExecutor(KubernetesExecutor):
    """Checks every Job it sends against the Kubernetes JSON schemas, and keeps them."""

    sent: list[dict[str, Any]]

    def manifest(self, task: StepTask) -> dict[str, Any]:
        manifest = super().manifest(task)
        validate(manifest)
        self.__dict__.setdefault("sent", []).append(manifest)
        return manifest


def offline_executor(**options: Any) -> KubernetesExecutor:
    from kubernetes import client

    config = client.Configuration()
    config.host = "http://127.0.0.1:9"  # nothing listens: manifests only
    return KubernetesExecutor(api_client=client.ApiClient(config), watch_timeout=1, **options)


def sample_task(**changes: Any) -> StepTask:
    fields: dict[str, Any] = {
        "id": "0123456789ab-2",
        "name": "train-model[3]",
        "function": len,
        "payload": b"",
        "command": [
            "python",
            "-m",
            "mlcore.pipeline.worker",
            "--step-run",
            "a" * 32,
            "--attempt",
            "2",
            "--tracking-uri",
            "sqlite:////data/mlcore.db",
        ],
        "timeout": 90.5,
        "image": "trainer:1.0",
        "resources": {"cpu": "2", "memory": "4Gi"},
        "env": {"MODE": "fast"},
        "labels": {
            "mlcore/pipeline-run": "b" * 32,
            "mlcore/step-run": "a" * 32,
            "mlcore/attempt": "2",
        },
    }
    fields.update(changes)
    return StepTask(**fields)


# -- manifests (no API server needed) -------------------------------------------------------------
def test_the_job_manifest() -> None:
    executor = offline_executor(
        namespace="ml",
        secret_env=["store-creds"],
        tracking_uri="http://mlcore:5000",
        service_account="runner",
        env={"TEAM": "risk"},
        ttl_seconds_after_finished=600,
    )
    try:
        manifest = executor.manifest(sample_task())
    finally:
        executor.close()
    validate(manifest)
    meta, spec = manifest["metadata"], manifest["spec"]
    assert meta["name"] == "mlcore-train-model-3-0123456789ab-2"
    assert meta["namespace"] == "ml"
    assert meta["labels"]["mlcore/step-run"] == "a" * 32
    assert meta["labels"]["mlcore/attempt"] == "2"
    assert meta["labels"]["app.kubernetes.io/managed-by"] == "mlcore"
    assert spec["backoffLimit"] == 0
    assert spec["ttlSecondsAfterFinished"] == 600
    assert spec["activeDeadlineSeconds"] == 91
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert pod["serviceAccountName"] == "runner"
    assert spec["template"]["metadata"]["labels"] == meta["labels"]
    (container,) = pod["containers"]
    assert container["image"] == "trainer:1.0"
    assert container["command"][:3] == ["python", "-m", "mlcore.pipeline.worker"]
    assert container["command"][-1] == "http://mlcore:5000"  # how pods reach the store
    assert container["resources"] == {
        "requests": {"cpu": "2", "memory": "4Gi"},
        "limits": {"cpu": "2", "memory": "4Gi"},
    }
    assert {"name": "MODE", "value": "fast"} in container["env"]
    assert {"name": "TEAM", "value": "risk"} in container["env"]
    assert container["envFrom"] == [{"secretRef": {"name": "store-creds"}}]


def test_job_names_are_valid_and_unique_per_attempt() -> None:
    long = sample_task(name="x" * 200 + "[12]", id="ffffffffffff-13")
    name = job_name(long)
    assert len(name) <= 63
    assert name.endswith("-ffffffffffff-13")
    assert name == name.lower()
    assert job_name(sample_task(id="0123456789ab-3")) != job_name(sample_task())
    assert job_name(sample_task(name="Ünïcode step!")).startswith("mlcore-n-code-step-")


def test_a_step_without_an_image_is_refused() -> None:
    executor = offline_executor()
    try:
        with pytest.raises(InvalidInputError, match="has no image"):
            executor.manifest(sample_task(image=None))
    finally:
        executor.close()


# -- against the real API server -------------------------------------------------------------------
class TestKubernetesExecutor(ExecutorConformance):
    many = 12  # each Job is a Python process on this small machine

    @pytest.fixture
    def executor(
        self, kube_api: Any, namespace: str, kubelet: HarnessKubelet
    ) -> Iterator[Executor]:
        executor = ValidatingExecutor(
            api_client=kube_api, namespace=namespace, max_parallel=8, watch_timeout=2
        )
        yield executor
        executor.close()


@pytest.fixture
def tracker(tmp_path: Path) -> Iterator[Tracker]:
    tracker = Tracker(f"sqlite:///{tmp_path}/mlcore.db", artifact_uri=str(tmp_path / "art"))
    yield tracker
    tracker.close()


@pytest.fixture
def executor(kube_api: Any, namespace: str, kubelet: HarnessKubelet) -> Iterator[Any]:
    executor = ValidatingExecutor(
        api_client=kube_api,
        namespace=namespace,
        image="python:3.11-slim",
        secret_env=["store-creds"],
        watch_timeout=2,
    )
    yield executor
    executor.close()


@component(resources={"cpu": "500m", "memory": "256Mi"})
def make(n: int, data: Output[Dataset]) -> int:
    data.write_text("\n".join(str(i) for i in range(n)))
    print(f"made {n} rows in pid {os.getpid()}")
    return os.getpid()


@component(env={"GREETING": "hello"})
def read(data: Input[Dataset]) -> str:
    rows = len(data.read_text().splitlines())
    return f"{os.environ['GREETING']} {rows} {os.environ.get('STORE_TOKEN')}"


@pipeline
def on_kubernetes(n: int = 4):
    m = make(n=n)
    read(data=m.outputs["data"])


@component(retries=1, retry_backoff=0.1, env={"BAD NAME": "x"})
def rejected() -> int:
    return 1


@pipeline
def rejecting():
    rejected()


@component(timeout=2)
def stuck() -> int:
    time.sleep(120)
    return 0


@pipeline
def timing_out():
    stuck()


@component
def vanishes() -> int:
    print("going down")
    os._exit(5)


@component
def raises() -> int:
    raise RuntimeError("no luck today")


@component
def slow(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@component
def echo_env() -> str:
    return os.environ.get("STORE_TOKEN", "")


@pipeline
def rejecting_free():
    echo_env()


@pipeline
def failing():
    vanishes()
    raises()


@pipeline
def cancelled(seconds: float = 60.0):
    raises()
    slow(seconds=seconds)


def create_secret(kube_api: Any, namespace: str) -> None:
    from kubernetes import client

    client.CoreV1Api(kube_api).create_namespaced_secret(
        namespace,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "store-creds"},
            "data": {"STORE_TOKEN": base64.b64encode(b"s3cr3t").decode()},
        },
    )


def test_a_pipeline_runs_as_jobs(
    kube_api: Any, namespace: str, executor: Any, kubelet: HarnessKubelet, tracker: Tracker
) -> None:
    from kubernetes import client

    create_secret(kube_api, namespace)
    result = on_kubernetes.run({"n": 4}, tracker=tracker, executor=executor)
    assert result.status == "SUCCEEDED", {n: s.error for n, s in result.steps.items()}
    assert result.steps["read"].outputs["Output"] == "hello 4 s3cr3t"
    assert result.steps["make"].outputs["Output"] != os.getpid()  # ran in the "pod"
    jobs = (
        client.BatchV1Api(kube_api)
        .list_namespaced_job(namespace, label_selector=f"mlcore/pipeline-run={result.run_id}")
        .items
    )
    assert len(jobs) == 2
    for job in jobs:
        assert job.spec.backoff_limit == 0
        assert job.spec.ttl_seconds_after_finished == 3600
        assert job.status.succeeded == 1
        assert job.metadata.labels["app.kubernetes.io/managed-by"] == "mlcore"
    make_job = next(j for j in jobs if j.metadata.labels["mlcore/step"] == "make")
    container = make_job.spec.template.spec.containers[0]
    assert container.resources.limits == {"cpu": "500m", "memory": "256Mi"}
    assert make_job.metadata.labels["mlcore/step-run"] == result.steps["make"].run_id
    assert len(executor.sent) == 2
    # the worker wrote the step's log next to its run
    log = tracker.artifact_store(result.steps["make"].run_id).get_bytes("logs/attempt-1.txt")
    assert b"made 4 rows" in log
    again = on_kubernetes.run({"n": 4}, tracker=tracker, executor=executor)
    assert all(s.cached for s in again.steps.values())
    assert len(executor.sent) == 2  # nothing new sent to the cluster


def test_a_job_the_api_server_rejects_is_a_failed_step(
    kube_api: Any, namespace: str, executor: Any, tracker: Tracker
) -> None:
    create_secret(kube_api, namespace)
    started = time.monotonic()
    result = rejecting.run(tracker=tracker, executor=executor)
    assert time.monotonic() - started < 30
    assert result.status == "FAILED"
    step = result.steps["rejected"]
    assert step.attempts == 2  # retried as configured
    assert "422 Unprocessable Entity" in (step.error or "")
    assert "BAD NAME" in (step.error or "")
    run = tracker.get_run(step.run_id or "")
    assert run.info.status.value == "FAILED"
    assert "422" in run.data.tags["mlcore.error"]
    log = tracker.artifact_store(run.id).get_bytes("logs/attempt-2.txt").decode()
    assert "rejected" in log


def test_a_step_past_its_timeout_fails(
    kube_api: Any, namespace: str, executor: Any, tracker: Tracker, kubelet: HarnessKubelet
) -> None:
    create_secret(kube_api, namespace)
    started = time.monotonic()
    result = timing_out.run(tracker=tracker, executor=executor)
    assert time.monotonic() - started < 40
    step = result.steps["stuck"]
    assert result.status == "FAILED"
    assert "DeadlineExceeded" in (step.error or "") or "timed out" in (step.error or "")
    (name,) = kubelet.processes
    assert kubelet.processes[name].poll() is not None  # the pod's process is gone


def test_a_pod_that_cannot_start_fails_its_step(
    kube_api: Any, namespace: str, tracker: Tracker, kubelet: HarnessKubelet
) -> None:
    executor = ValidatingExecutor(
        api_client=kube_api,
        namespace=namespace,
        image="python:3.11",
        secret_env=["missing-creds"],
        stuck_pod_grace=1.0,
        watch_timeout=2,
    )
    try:
        started = time.monotonic()
        result = rejecting_free.run(tracker=tracker, executor=executor)
    finally:
        executor.close()
    assert time.monotonic() - started < 30
    step = result.steps["echo-env"]
    assert result.status == "FAILED"
    assert "CreateContainerConfigError" in (step.error or "")
    assert 'secret "missing-creds" not found' in (step.error or "")


def test_failed_pods_fail_their_steps_with_the_cause(
    kube_api: Any, namespace: str, executor: Any, tracker: Tracker
) -> None:
    create_secret(kube_api, namespace)
    result = failing.run(tracker=tracker, executor=executor)
    assert result.status == "FAILED"
    vanished = result.steps["vanishes"]
    assert "BackoffLimitExceeded" in (vanished.error or "")
    assert "exited with code 5" in (vanished.error or "")
    log = tracker.artifact_store(vanished.run_id or "").get_bytes("logs/attempt-1.txt").decode()
    assert "BackoffLimitExceeded" in log
    raised = result.steps["raises"]
    assert raised.error == "RuntimeError: no luck today"  # the worker's own report
    log = tracker.artifact_store(raised.run_id or "").get_bytes("logs/attempt-1.txt").decode()
    assert "Traceback" in log and "no luck today" in log


def test_cancelling_deletes_the_job(
    kube_api: Any, namespace: str, executor: Any, kubelet: HarnessKubelet, tracker: Tracker
) -> None:
    from kubernetes import client

    create_secret(kube_api, namespace)
    started = time.monotonic()
    result = cancelled.run({"seconds": 60.0}, tracker=tracker, executor=executor, fail_fast=True)
    assert time.monotonic() - started < 40
    assert result.status == "FAILED"
    assert result.steps["slow"].status in ("KILLED", "SKIPPED")
    if result.steps["slow"].status == "KILLED":
        slow_jobs = [m for m in executor.sent if m["metadata"]["labels"]["mlcore/step"] == "slow"]
        (job,) = slow_jobs
        deadline = time.monotonic() + 20
        remaining = None
        while time.monotonic() < deadline:
            remaining = [
                j.metadata.name
                for j in client.BatchV1Api(kube_api).list_namespaced_job(namespace).items
            ]
            if job["metadata"]["name"] not in remaining:
                break
            time.sleep(0.2)
        assert job["metadata"]["name"] not in (remaining or [])
        time.sleep(0.5)
        assert kubelet.processes[job["metadata"]["name"]].poll() is not None


def test_the_executor_resolves_by_name(kube_api: Any, namespace: str) -> None:
    executor = resolve_executor(
        "kubernetes", api_client=kube_api, namespace=namespace, max_parallel=3
    )
    try:
        assert executor.capacity == 3
        assert getattr(executor, "runs_commands", False)
    finally:
        executor.close()
    with pytest.raises(InvalidInputError, match="max_parallel"):
        resolve_executor("kubernetes", api_client=kube_api, max_parallel=0)


def test_a_container_component_runs_as_a_job_in_its_own_image(
    kube_api: Any, namespace: str, executor: Any, kubelet: HarnessKubelet, tracker: Tracker
) -> None:
    from tests.pipeline.test_container_components import boxed

    create_secret(kube_api, namespace)
    result = boxed.run({"message": "pods"}, tracker=tracker, executor=executor)
    assert result.status == "SUCCEEDED", {n: s.error for n, s in result.steps.items()}
    assert result.steps["shout"].outputs["Output"] == "PODS"
    assert result.steps["count"].outputs["Output"] == 3
    say = next(m for m in executor.sent if m["metadata"]["labels"]["mlcore/step"] == "say")
    container = say["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "alpine:3"  # the component's image, not the executor's
    assert {"name": "MLCORE_CONTAINER_RUNTIME", "value": "host"} in container["env"]
    shout = next(m for m in executor.sent if m["metadata"]["labels"]["mlcore/step"] == "shout")
    assert shout["spec"]["template"]["spec"]["containers"][0]["image"] == "python:3.11-slim"
