"""A KServe ``InferenceService`` manifest that runs ``mlcore serve`` in a custom predictor.

KServe routes the Open Inference Protocol (v2) to the container, which is what ``mlcore serve``
speaks; the readiness probe is ``/v2/health/ready``. The image must hold mlcore with the
``server`` extra and the model's framework (docs/serving.md has a Dockerfile); the model is
fetched from the tracking server named by ``MLCORE_TRACKING_URI``.
"""

from __future__ import annotations

import re
from typing import Any

from mlcore.errors import InvalidInputError

__all__ = ["PORT", "inference_service", "service_name"]

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
PORT = 8080


def service_name(model_name: str) -> str:
    """A DNS-1123 label from a model name (``Credit Model_v2`` -> ``credit-model-v2``)."""
    name = re.sub(r"[^a-z0-9-]+", "-", model_name.lower()).strip("-")[:63].strip("-")
    return name or "model"


def inference_service(
    model_uri: str,
    *,
    name: str,
    image: str,
    tracking_uri: str | None = None,
    namespace: str | None = None,
    token_secret: str | None = None,
    max_batch_size: int | None = None,
    max_wait_ms: float | None = None,
    min_replicas: int = 1,
    max_replicas: int | None = None,
    cpu: str = "1",
    memory: str = "2Gi",
) -> dict[str, Any]:
    """The manifest as a dict (``yaml.safe_dump`` it, or apply it with a Kubernetes client).

    Raises:
        InvalidInputError: a name that is not a DNS-1123 label, bad replica counts.
    """
    if not _DNS_LABEL.match(name):
        raise InvalidInputError(
            f"{name!r} is not a valid InferenceService name (lower-case letters, digits and '-', "
            "at most 63 characters)",
            field="name",
        )
    if min_replicas < 0 or (max_replicas is not None and max_replicas < max(min_replicas, 1)):
        raise InvalidInputError("replica counts must satisfy 0 <= min <= max", field="replicas")
    args = [
        "serve",
        model_uri,
        "--host",
        "0.0.0.0",  # inside the pod; KServe's network fronts it
        "--port",
        str(PORT),
        "--allow-remote",  # the cluster decides who reaches the pod, not the loopback rule
        "--allowed-hosts",
        "*",  # and by which name (KServe's routes send the service's host names)
    ]
    if max_batch_size is not None:
        args += ["--max-batch-size", str(max_batch_size)]
    if max_wait_ms is not None:
        args += ["--max-wait-ms", str(max_wait_ms)]
    env: list[dict[str, Any]] = []
    if tracking_uri:
        env.append({"name": "MLCORE_TRACKING_URI", "value": tracking_uri})
    if token_secret:
        env.append(
            {
                "name": "MLCORE_TRACKING_TOKEN",
                "valueFrom": {"secretKeyRef": {"name": token_secret, "key": "token"}},
            }
        )
    probe = {"httpGet": {"path": "/v2/health/ready", "port": PORT}, "periodSeconds": 5}
    container: dict[str, Any] = {
        "name": "kserve-container",
        "image": image,
        "command": ["mlcore"],
        "args": args,
        "ports": [{"containerPort": PORT, "protocol": "TCP"}],
        "readinessProbe": {**probe, "initialDelaySeconds": 2},
        "livenessProbe": {
            "httpGet": {"path": "/v2/health/live", "port": PORT},
            "periodSeconds": 10,
        },
        "resources": {
            "requests": {"cpu": cpu, "memory": memory},
            "limits": {"cpu": cpu, "memory": memory},
        },
    }
    if env:
        container["env"] = env
    predictor: dict[str, Any] = {"minReplicas": min_replicas, "containers": [container]}
    if max_replicas is not None:
        predictor["maxReplicas"] = max_replicas
    metadata: dict[str, Any] = {
        "name": name,
        "annotations": {
            "serving.kserve.io/deploymentMode": "Serverless",
            "mlcore.dev/model-uri": model_uri,
        },
        "labels": {"app.kubernetes.io/managed-by": "mlcore"},
    }
    if namespace:
        metadata["namespace"] = namespace
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": metadata,
        "spec": {"predictor": predictor},
    }
