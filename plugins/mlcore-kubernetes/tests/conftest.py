"""Fixtures: a real kube-apiserver (session), a namespace and a stand-in kubelet per test."""

from __future__ import annotations

import os
import uuid
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from kube_cluster import HarnessKubelet, kube_apiserver_binary, real_kube_apiserver

warnings.filterwarnings("ignore", message="Unverified HTTPS request")


@pytest.fixture(scope="session")
def kube_api() -> Iterator[Any]:
    binary = kube_apiserver_binary()
    if binary is None:
        reason = (
            "a real kube-apiserver is needed: build it with scripts/build-kube-apiserver.sh, "
            "set KUBE_APISERVER_BIN and apt-get install etcd-server"
        )
        if os.environ.get("MLCORE_REQUIRE_SERVICES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    import urllib3

    urllib3.disable_warnings()
    with real_kube_apiserver(binary) as api:
        yield api


@pytest.fixture
def namespace(kube_api: Any) -> Iterator[str]:
    from kubernetes import client

    name = f"t-{uuid.uuid4().hex[:10]}"
    core = client.CoreV1Api(kube_api)
    core.create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    yield name
    core.delete_namespace(name)


@pytest.fixture
def kubelet(kube_api: Any, namespace: str) -> Iterator[HarnessKubelet]:
    harness = HarnessKubelet(kube_api, namespace).start()
    yield harness
    harness.stop()
