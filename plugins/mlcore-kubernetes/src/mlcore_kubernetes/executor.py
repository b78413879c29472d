"""``KubernetesExecutor``: one ``batch/v1`` Job per step attempt.

The Job runs the step's command (``python -m mlcore.pipeline.worker --step-run ID ...``) in
the component's image; the worker reads its request from the step run's artifacts and writes
its result and log back there, so the runner and the pod share nothing but the tracking store
and the artifact store. Retries belong to the runner (``backoffLimit: 0``); a Job the API
server refuses (e.g. 422 Invalid) is a failed attempt with the server's message; a step past
its timeout has its Job deleted (``activeDeadlineSeconds`` is set as well); cancelling deletes
the Job and its pods.
"""

from __future__ import annotations

import math
import re
import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

from mlcore.errors import InvalidInputError
from mlcore.executors import Executor, StepHandle, StepOutcome, StepTask

__all__ = ["KubernetesExecutor", "job_name"]

MANAGED_BY = "app.kubernetes.io/managed-by"
EXECUTOR_LABEL = "mlcore/executor"
_LABEL_VALUE = re.compile(r"[^A-Za-z0-9_.-]")
LOG_TAIL_LINES = 100
#: Container waiting reasons that mean the pod will not start by itself.
STUCK_REASONS = frozenset(
    {
        "CreateContainerConfigError",
        "CreateContainerError",
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "ErrImageNeverPull",
    }
)
POD_CHECK_INTERVAL_S = 2.0


def _slug(text: str, limit: int) -> str:
    slug = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    return slug[:limit].rstrip("-") or "step"


def job_name(task: StepTask) -> str:
    """A DNS-1123 name (at most 63 characters) unique to the attempt."""
    suffix = _slug(task.id, 40)
    return f"mlcore-{_slug(task.name, 63 - len('mlcore-') - len(suffix) - 1)}-{suffix}"


def _label_value(value: str) -> str:
    clean = _LABEL_VALUE.sub("-", value)[:63].strip("-_.")
    return clean


class _JobHandle(StepHandle):
    def __init__(self, task: StepTask, executor: KubernetesExecutor, name: str) -> None:
        super().__init__(task)
        self.executor = executor
        self.name = name
        self.final: StepOutcome | None = None
        self.pod_checked = 0.0
        self.stuck_since: float | None = None

    def done(self) -> bool:
        return self.executor._check(self)

    def outcome(self) -> StepOutcome:
        assert self.final is not None
        return self.final

    def cancel(self) -> None:
        if self.final is None:
            self.executor._delete(self.name)
            self.final = StepOutcome("cancelled", error=f"cancelled; Job {self.name} deleted")


class KubernetesExecutor(Executor):
    """Steps as Kubernetes Jobs.

    Options:
        namespace: where Jobs go (default ``default``).
        image: the image of components that name none.
        api_client: a ``kubernetes.client.ApiClient``; otherwise in-cluster configuration,
            else ``kubeconfig`` / ``context`` (default ``~/.kube/config``).
        max_parallel: Jobs at once (default 16).
        env: environment variables for every step (a component's ``env`` adds to them).
        secret_env: Secrets whose keys become environment variables (``envFrom``): where
            store credentials go (``AWS_*``, a database password...).
        tracking_uri: the tracking URI as pods reach it, when it differs from the runner's
            (e.g. ``http://mlcore-server:5000``).
        service_account, image_pull_policy, node_selector: passed to the pod spec.
        ttl_seconds_after_finished: how long finished Jobs stay (default 3600).
        labels: extra labels on Jobs and pods.
        python: the interpreter in the image (default ``python``).
        stuck_pod_grace: seconds a pod may wait on a missing Secret or an image it cannot
            pull before the attempt fails (default 60).
    """

    name: ClassVar[str] = "kubernetes"
    runs_commands: ClassVar[bool] = True

    def __init__(
        self,
        *,
        namespace: str = "default",
        image: str | None = None,
        api_client: Any = None,
        kubeconfig: str | None = None,
        context: str | None = None,
        max_parallel: int = 16,
        env: dict[str, str] | None = None,
        secret_env: str | Sequence[str] = (),
        tracking_uri: str | None = None,
        service_account: str | None = None,
        image_pull_policy: str | None = None,
        node_selector: dict[str, str] | None = None,
        ttl_seconds_after_finished: int = 3600,
        labels: dict[str, str] | None = None,
        python: str = "python",
        stuck_pod_grace: float = 60.0,
        watch_timeout: int = 5,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        try:
            from kubernetes import client
        except ImportError as exc:  # pragma: no cover - a dependency of this package
            raise InvalidInputError(
                "the kubernetes executor needs `pip install kubernetes`"
            ) from exc
        if not isinstance(max_parallel, int) or max_parallel < 1:
            raise InvalidInputError("max_parallel must be a positive integer", field="max_parallel")
        self.api = api_client or _load_client(kubeconfig, context)
        # the client's models are strict pydantic classes; mlcore sends plain manifests
        self.batch: Any = client.BatchV1Api(self.api)
        self.core: Any = client.CoreV1Api(self.api)
        self.namespace = namespace
        self.image = image
        self.max_parallel = max_parallel
        self.env = {str(k): str(v) for k, v in (env or {}).items()}
        self.secret_env = [secret_env] if isinstance(secret_env, str) else list(secret_env)
        self.tracking_uri = tracking_uri
        self.service_account = service_account
        self.image_pull_policy = image_pull_policy
        self.node_selector = dict(node_selector or {})
        self.ttl_seconds_after_finished = ttl_seconds_after_finished
        self.labels = {str(k): _label_value(str(v)) for k, v in (labels or {}).items()}
        self.python = python
        self.watch_timeout = watch_timeout
        self.stuck_pod_grace = stuck_pod_grace
        self.executor_id = uuid.uuid4().hex[:16]
        self._states: dict[str, Any] = {}  # Job name -> its latest status
        self._deleted: set[str] = set()
        self._live: dict[str, _JobHandle] = {}
        self._changed = threading.Condition()
        self._closed = False
        self._watcher = threading.Thread(
            target=self._watch, daemon=True, name="mlcore-kubernetes-watch"
        )
        self._watcher.start()

    @property
    def capacity(self) -> int:
        return self.max_parallel

    # -- manifests ---------------------------------------------------------------------------
    def manifest(self, task: StepTask) -> dict[str, Any]:
        """The Job for ``task`` (a plain dict, as sent to the API server)."""
        image = task.image or self.image
        if not image:
            raise InvalidInputError(
                f"step {task.name!r} has no image: set @component(image=...) or the "
                "executor's image option",
                field="image",
            )
        name = job_name(task)
        labels = {
            **self.labels,
            **{k: _label_value(v) for k, v in task.labels.items()},
            MANAGED_BY: "mlcore",
            EXECUTOR_LABEL: self.executor_id,
            "mlcore/step": _label_value(_slug(task.name, 63)),
        }
        command = list(task.command)
        if command and command[0] == "python":
            command[0] = self.python
        if self.tracking_uri and "--tracking-uri" in command:
            command[command.index("--tracking-uri") + 1] = self.tracking_uri
        env = {**self.env, **task.env}
        container: dict[str, Any] = {
            "name": "step",
            "image": image,
            "command": command,
            "env": [{"name": k, "value": v} for k, v in env.items()],
        }
        if task.resources:
            container["resources"] = {
                "requests": dict(task.resources),
                "limits": dict(task.resources),
            }
        if self.secret_env:
            container["envFrom"] = [{"secretRef": {"name": s}} for s in self.secret_env]
        if self.image_pull_policy:
            container["imagePullPolicy"] = self.image_pull_policy
        pod_spec: dict[str, Any] = {"restartPolicy": "Never", "containers": [container]}
        if self.service_account:
            pod_spec["serviceAccountName"] = self.service_account
        if self.node_selector:
            pod_spec["nodeSelector"] = dict(self.node_selector)
        spec: dict[str, Any] = {
            "backoffLimit": 0,  # the runner owns retries
            "ttlSecondsAfterFinished": self.ttl_seconds_after_finished,
            "template": {"metadata": {"labels": dict(labels)}, "spec": pod_spec},
        }
        if task.timeout:
            spec["activeDeadlineSeconds"] = max(1, math.ceil(task.timeout))
        return {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": name, "namespace": self.namespace, "labels": labels},
            "spec": spec,
        }

    # -- submitting ----------------------------------------------------------------------------
    def submit(self, task: StepTask) -> StepHandle:
        from kubernetes.client.exceptions import ApiException

        manifest = self.manifest(task)
        handle = _JobHandle(task, self, manifest["metadata"]["name"])
        try:
            self.batch.create_namespaced_job(self.namespace, manifest)
        except ApiException as exc:
            handle.final = StepOutcome(
                "rejected",
                error=f"the API server rejected Job {handle.name} ({exc.status} "
                f"{exc.reason}): {_api_message(exc)}",
            )
            return handle
        except Exception as exc:  # unreachable server, TLS...
            handle.final = StepOutcome(
                "failed", error=f"cannot create Job {handle.name}: {type(exc).__name__}: {exc}"
            )
            return handle
        with self._changed:
            self._live[handle.name] = handle
        return handle

    # -- status ----------------------------------------------------------------------------------
    def _check(self, handle: _JobHandle) -> bool:
        if handle.final is not None:
            return True
        with self._changed:
            state = self._states.get(handle.name)
            deleted = handle.name in self._deleted
        outcome = _interpret(handle.name, state) if state is not None else None
        if outcome is None and deleted:
            outcome = StepOutcome("failed", error=f"Job {handle.name} was deleted by someone else")
        if outcome is None:
            outcome = self._stuck(handle)
        if outcome is None:
            deadline = handle.deadline()
            if deadline is not None and time.monotonic() > deadline + 2:
                # activeDeadlineSeconds did not end it (no controller?): end it here
                self._delete(handle.name)
                outcome = StepOutcome(
                    "timeout", error=f"timed out after {handle.task.timeout:g}s; Job deleted"
                )
        if outcome is None:
            return False
        if not outcome.ok:
            outcome = StepOutcome(
                outcome.status,
                outcome.value,
                _with_logs(outcome.error or "", self._pod_logs(handle.name)),
            )
        handle.final = outcome
        with self._changed:
            self._live.pop(handle.name, None)
        return True

    def _stuck(self, handle: _JobHandle) -> StepOutcome | None:
        """A failed outcome when the Job's pod cannot start (a missing Secret, an image that
        cannot be pulled) for ``stuck_pod_grace`` seconds; the Job is then deleted."""
        now = time.monotonic()
        if now - handle.pod_checked < POD_CHECK_INTERVAL_S:
            return None
        handle.pod_checked = now
        try:
            pods = self.core.list_namespaced_pod(
                self.namespace, label_selector=f"job-name={handle.name}"
            ).items
        except Exception:
            return None
        for pod in pods:
            for status in (pod.status.container_statuses or []) if pod.status else []:
                waiting = status.state.waiting if status.state else None
                if waiting is None or waiting.reason not in STUCK_REASONS:
                    continue
                handle.stuck_since = handle.stuck_since or now
                if now - handle.stuck_since >= self.stuck_pod_grace:
                    self._delete(handle.name)
                    return StepOutcome(
                        "failed",
                        error=f"the pod of Job {handle.name} cannot start ({waiting.reason}): "
                        f"{waiting.message}; Job deleted",
                    )
                return None
        handle.stuck_since = None
        return None

    def _pod_logs(self, name: str) -> str | None:
        """The tail of the Job's pod log, when the API server can fetch it."""
        try:
            pods = self.core.list_namespaced_pod(self.namespace, label_selector=f"job-name={name}")
            texts = []
            for pod in pods.items:
                text = self.core.read_namespaced_pod_log(
                    pod.metadata.name, self.namespace, tail_lines=LOG_TAIL_LINES
                )
                if text:
                    texts.append(str(text))
            return "\n".join(texts) or None
        except Exception:  # no node, pod gone, no permission: the step run's log remains
            return None

    def _watch(self) -> None:
        """Follow the Jobs of this executor (list, then watch from that version)."""
        from kubernetes import watch as kube_watch

        watch_module: Any = kube_watch
        from kubernetes.client.exceptions import ApiException

        selector = f"{EXECUTOR_LABEL}={self.executor_id}"
        version: str | None = None
        while not self._closed:
            try:
                if version is None:
                    listing = self.batch.list_namespaced_job(
                        self.namespace, label_selector=selector
                    )
                    with self._changed:
                        for job in listing.items:
                            self._states[job.metadata.name] = job.status
                        self._changed.notify_all()
                    version = listing.metadata.resource_version
                watcher: Any = watch_module.Watch()
                stream = watcher.stream(
                    self.batch.list_namespaced_job,
                    self.namespace,
                    label_selector=selector,
                    resource_version=version,
                    timeout_seconds=self.watch_timeout,
                )
                for event in stream:
                    job = event["object"]
                    if not hasattr(job, "metadata"):
                        version = None  # an ERROR event (e.g. 410 Gone): list again
                        break
                    version = job.metadata.resource_version
                    with self._changed:
                        if event["type"] == "DELETED":
                            self._deleted.add(job.metadata.name)
                        else:
                            self._states[job.metadata.name] = job.status
                        self._changed.notify_all()
                    if self._closed:
                        return
            except ApiException as exc:
                version = None
                if exc.status != 410:
                    time.sleep(0.5)
            except Exception:  # the server went away for a moment: list again
                version = None
                time.sleep(0.5)

    def wait(self, handles: Sequence[StepHandle], timeout: float) -> list[StepHandle]:
        deadlines = [d + 2.1 for d in (h.deadline() for h in handles) if d is not None]
        if deadlines:
            timeout = min(timeout, max(0.0, min(deadlines) - time.monotonic()))
        end = time.monotonic() + timeout
        while True:
            finished = [h for h in handles if h.done()]
            left = end - time.monotonic()
            if finished or left <= 0:
                return finished
            with self._changed:
                self._changed.wait(min(left, 0.5))

    def _delete(self, name: str) -> None:
        try:
            self.batch.delete_namespaced_job(name, self.namespace, propagation_policy="Background")
        except Exception:  # already gone
            pass

    def close(self) -> None:
        """Stop watching; Jobs still running are deleted."""
        if self._closed:
            return
        self._closed = True
        with self._changed:
            live = list(self._live.values())
        for handle in live:
            handle.cancel()
        self._watcher.join(0.2)  # a daemon; it leaves at its watch's next timeout


def _interpret(name: str, status: Any) -> StepOutcome | None:
    """The outcome a Job status means (None while it runs)."""
    if status is None:
        return None
    if (status.succeeded or 0) >= 1:
        return StepOutcome("succeeded")
    conditions = list(status.conditions or [])
    failed = next((c for c in conditions if c.type == "Failed" and c.status == "True"), None)
    if (status.failed or 0) >= 1 or failed is not None:
        reason = failed.reason if failed is not None else "Failed"
        message = failed.message if failed is not None else "its pod failed"
        kind: Literal["timeout", "failed"] = "timeout" if reason == "DeadlineExceeded" else "failed"
        return StepOutcome(kind, error=f"Job {name} failed ({reason}): {message}")
    return None


def _with_logs(error: str, logs: str | None) -> str:
    if logs:
        return f"{error}\n--- pod log (last {LOG_TAIL_LINES} lines) ---\n{logs.rstrip()}"
    return (
        f"{error}\n(pod logs unavailable from the API server; the step's own log is in its "
        "run's artifacts, logs/attempt-N.txt)"
    )


def _api_message(exc: Any) -> str:
    import json

    try:
        return str(json.loads(exc.body)["message"])
    except Exception:
        return str(exc.body or exc.reason)


def _load_client(kubeconfig: str | None, context: str | None) -> Any:
    from kubernetes import client
    from kubernetes import config as kube_config

    config: Any = kube_config
    if kubeconfig is None and context is None:
        try:
            config.load_incluster_config()
            return client.ApiClient()
        except config.ConfigException:
            pass
    try:
        return config.new_client_from_config(config_file=kubeconfig, context=context)
    except Exception as exc:
        raise InvalidInputError(
            f"no Kubernetes configuration: not in a cluster and the kubeconfig "
            f"({kubeconfig or '~/.kube/config'}) does not load: {exc}"
        ) from exc
