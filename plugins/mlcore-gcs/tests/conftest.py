"""A real GCS API for the tests: gcp-storage-emulator on loopback (test-infra §3)."""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

# before gcsfs is imported: its experimental gRPC bucket probe stalls 60 s against an emulator
os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listens on port {port}")


def start_emulator(port: int) -> Any:
    from gcp_storage_emulator.server import create_server

    server = create_server("127.0.0.1", port, in_memory=True)
    server.start()
    wait_port(port)
    return server


@pytest.fixture(scope="session")
def gcs_server() -> Iterator[str]:
    port = free_port()
    server = start_emulator(port)
    yield f"http://127.0.0.1:{port}"
    server.stop()


def raw_fs(endpoint: str) -> Any:
    import gcsfs

    return gcsfs.GCSFileSystem(
        endpoint_url=endpoint, token="anon", project="test", skip_instance_cache=True
    )


@pytest.fixture
def bucket(gcs_server: str) -> str:
    name = f"mlcore-{uuid.uuid4().hex[:12]}"
    raw_fs(gcs_server).mkdir(name)
    return name
