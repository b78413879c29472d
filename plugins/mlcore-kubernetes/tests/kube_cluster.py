"""A real kube-apiserver (+ etcd) for tests, and a stand-in kubelet.

Nothing here can run pods (no container runtime, no controllers), so :class:`HarnessKubelet`
plays the kubelet and the Job controller: it watches the Jobs created through the real API
server, creates their Pod object, runs the container's command as a local process (with the
container's env and the ``envFrom`` Secrets resolved through the API, as a kubelet does),
enforces ``activeDeadlineSeconds``, and writes the Job (and Pod) status back through the API.
Everything the executor does — manifest, API validation, worker entry point, status, logs,
deletion — goes through the real API server.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def kube_apiserver_binary() -> str | None:
    path = os.environ.get("KUBE_APISERVER_BIN", "")
    if path and os.access(path, os.X_OK) and shutil.which("etcd"):
        return path
    return None


@contextmanager
def real_kube_apiserver(binary: str) -> Iterator[Any]:
    """Start etcd and kube-apiserver on free loopback ports; yield an ApiClient (admin)."""
    from kubernetes import client

    d = tempfile.mkdtemp(prefix="mlcore-kube-")
    etcd_port, peer_port, api_port = free_port(), free_port(), free_port()
    subprocess.run(
        ["openssl", "genrsa", "-out", f"{d}/sa.key", "2048"], check=True, capture_output=True
    )
    subprocess.run(
        ["openssl", "rsa", "-in", f"{d}/sa.key", "-pubout", "-out", f"{d}/sa.pub"],
        check=True,
        capture_output=True,
    )
    with open(f"{d}/tokens.csv", "w") as handle:
        handle.write("test-token,admin,admin,system:masters\n")
    logs = [open(f"{d}/etcd.log", "w"), open(f"{d}/apiserver.log", "w")]  # noqa: SIM115
    procs = [
        subprocess.Popen(
            [
                "etcd",
                "--name",
                "t",
                "--data-dir",
                f"{d}/etcd",
                "--listen-client-urls",
                f"http://127.0.0.1:{etcd_port}",
                "--advertise-client-urls",
                f"http://127.0.0.1:{etcd_port}",
                "--listen-peer-urls",
                f"http://127.0.0.1:{peer_port}",
                "--initial-advertise-peer-urls",
                f"http://127.0.0.1:{peer_port}",
                "--initial-cluster",
                f"t=http://127.0.0.1:{peer_port}",
            ],
            stdout=logs[0],
            stderr=subprocess.STDOUT,
        )
    ]
    procs.append(
        subprocess.Popen(
            [
                binary,
                f"--etcd-servers=http://127.0.0.1:{etcd_port}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={api_port}",
                "--insecure-port=0",
                f"--cert-dir={d}/certs",
                f"--token-auth-file={d}/tokens.csv",
                "--authorization-mode=RBAC",
                "--service-account-issuer=https://kubernetes.default.svc",
                f"--service-account-key-file={d}/sa.pub",
                f"--service-account-signing-key-file={d}/sa.key",
                "--service-cluster-ip-range=10.96.0.0/24",
                "--disable-admission-plugins=ServiceAccount",
                "--enable-priority-and-fairness=false",
                "--feature-gates=TTLAfterFinished=true",
            ],
            stdout=logs[1],
            stderr=subprocess.STDOUT,
        )
    )
    config = client.Configuration()
    config.host, config.verify_ssl = f"https://127.0.0.1:{api_port}", False
    config.api_key = {"authorization": "test-token"}
    config.api_key_prefix = {"authorization": "Bearer"}
    try:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        request = urllib.request.Request(
            f"{config.host}/readyz", headers={"Authorization": "Bearer test-token"}
        )
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(request, context=context, timeout=2) as response:
                    if response.read().startswith(b"ok"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                with open(f"{d}/apiserver.log") as handle:
                    raise TimeoutError(handle.read()[-3000:])
            time.sleep(0.2)
        yield client.ApiClient(config)
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log in logs:
            log.close()
        shutil.rmtree(d, ignore_errors=True)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class HarnessKubelet:
    """Runs the Jobs of one namespace as local processes (see the module docstring)."""

    def __init__(self, api: Any, namespace: str) -> None:
        from kubernetes import client

        self.api = api
        self.namespace = namespace
        self.batch = client.BatchV1Api(api)
        self.core = client.CoreV1Api(api)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.jobs: dict[str, dict[str, Any]] = {}  # name -> the manifest as created
        self.outputs: dict[str, str] = {}  # name -> what the container printed
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def start(self) -> HarnessKubelet:
        thread = threading.Thread(target=self._watch, daemon=True, name="harness-kubelet")
        thread.start()
        self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            for proc in self.processes.values():
                if proc.poll() is None:
                    proc.kill()
        for thread in self._threads:
            thread.join(10)

    # -- watching ----------------------------------------------------------------------------
    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                jobs = self.batch.list_namespaced_job(self.namespace)
            except Exception:
                time.sleep(0.2)
                continue
            names = set()
            for job in jobs.items:
                name = job.metadata.name
                names.add(name)
                if name not in self.jobs:
                    manifest = self.api.sanitize_for_serialization(job)
                    self.jobs[name] = manifest
                    thread = threading.Thread(target=self._run, args=(name, manifest), daemon=True)
                    thread.start()
                    self._threads.append(thread)
            with self._lock:  # a deleted Job: its pod goes away
                for name, proc in self.processes.items():
                    if name not in names and proc.poll() is None:
                        proc.kill()
            time.sleep(0.1)

    # -- one Job -----------------------------------------------------------------------------
    def _env(self, container: dict[str, Any]) -> dict[str, str]:
        """The container's environment; a missing Secret raises LookupError (the kubelet's
        CreateContainerConfigError)."""
        from kubernetes.client.exceptions import ApiException

        env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
        for source in container.get("envFrom", []):
            secret = source.get("secretRef", {}).get("name")
            if secret:
                try:
                    data = self.core.read_namespaced_secret(secret, self.namespace).data or {}
                except ApiException as exc:
                    if exc.status == 404:
                        raise LookupError(f'secret "{secret}" not found') from None
                    raise
                env.update({k: base64.b64decode(v).decode() for k, v in data.items()})
        for item in container.get("env", []):
            env[item["name"]] = item.get("value", "")
        return env

    def _patch_job(self, name: str, status: dict[str, Any]) -> None:
        try:
            self.batch.patch_namespaced_job_status(name, self.namespace, {"status": status})
        except Exception:  # deleted meanwhile
            pass

    def _patch_pod(self, name: str, status: dict[str, Any]) -> None:
        try:
            self.core.patch_namespaced_pod_status(name, self.namespace, {"status": status})
        except Exception:  # deleted meanwhile
            pass

    def _run(self, name: str, manifest: dict[str, Any]) -> None:
        pod_spec = manifest["spec"]["template"]["spec"]
        container = pod_spec["containers"][0]
        pod_name = f"{name}-pod"
        labels = {**manifest["spec"]["template"]["metadata"].get("labels", {}), "job-name": name}
        try:
            self.core.create_namespaced_pod(
                self.namespace,
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {"name": pod_name, "labels": labels},
                    "spec": pod_spec,
                },
            )
        except Exception:
            pass
        command = list(container.get("command", [])) + list(container.get("args", []))
        if command and command[0] == "python":
            command[0] = sys.executable
        started = time.monotonic()
        self._patch_job(name, {"active": 1, "startTime": _now()})
        try:
            env = self._env(container)
        except LookupError as exc:  # the pod waits, as a real one would, until deleted
            self._patch_pod(
                pod_name,
                {
                    "phase": "Pending",
                    "containerStatuses": [
                        {
                            "name": "step",
                            "ready": False,
                            "restartCount": 0,
                            "image": container["image"],
                            "imageID": "",
                            "state": {
                                "waiting": {
                                    "reason": "CreateContainerConfigError",
                                    "message": str(exc),
                                }
                            },
                        }
                    ],
                },
            )
            return
        out_path = tempfile.mktemp(prefix=f"{name}-", suffix=".log")
        with open(out_path, "wb") as out:
            proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
            with self._lock:
                self.processes[name] = proc
            deadline = manifest["spec"].get("activeDeadlineSeconds")
            reason = None
            while proc.poll() is None:
                if deadline is not None and time.monotonic() - started > deadline:
                    proc.kill()
                    reason = "DeadlineExceeded"
                time.sleep(0.05)
        with open(out_path, errors="replace") as handle:
            self.outputs[name] = handle.read()
        os.unlink(out_path)
        code = proc.returncode
        if code == 0:
            self._patch_job(
                name,
                {
                    "active": None,
                    "succeeded": 1,
                    "completionTime": _now(),
                    "conditions": [
                        {
                            "type": "Complete",
                            "status": "True",
                            "lastProbeTime": _now(),
                            "lastTransitionTime": _now(),
                        }
                    ],
                },
            )
        else:
            reason = reason or "BackoffLimitExceeded"
            message = (
                "Job was active longer than specified deadline"
                if reason == "DeadlineExceeded"
                else "Job has reached the specified "
                f"backoff limit (container exited with code {code})"
            )
            self._patch_job(
                name,
                {
                    "active": None,
                    "failed": 1,
                    "conditions": [
                        {
                            "type": "Failed",
                            "status": "True",
                            "reason": reason,
                            "message": message,
                            "lastProbeTime": _now(),
                            "lastTransitionTime": _now(),
                        }
                    ],
                },
            )
