"""Millions of points through a real ``mlcore server`` (issue 15, item 2).

The client's backlog is sent as requests bounded in points and bytes, whatever its size, so a
loop of ``log_metric`` calls never builds one request over the server's body limit; every
point is stored exactly once.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")

import mlcore
from mlcore import Tracker
from mlcore.errors import InvalidInputError
from mlcore.server import Server
from mlcore.stores import http as http_store


@pytest.fixture(scope="module")
def server_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``mlcore server`` in its own process, default settings, on a loopback port."""
    import httpx

    home = tmp_path_factory.mktemp("volume")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    command = [sys.executable, "-m", "mlcore", "server", "--store", f"sqlite:///{home}/m.db"]
    command += ["--artifacts", str(home / "artifacts"), "--port", str(port)]
    with (home / "server.log").open("w") as log:
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail("mlcore server did not start: " + (home / "server.log").read_text())
            time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(30)


@pytest.mark.parametrize("n", [2_000_000, pytest.param(10_000_000, marks=pytest.mark.slow)])
def test_millions_of_points_through_the_server_are_stored_exactly(
    server_process: str, n: int
) -> None:
    mlcore.set_tracking_uri(server_process)
    with mlcore.start_run(experiment="volume") as run:
        for i in range(n):
            mlcore.log_metric("loss", i * 0.5, step=i)
    assert mlcore.get_run(run.id).info.status.value == "FINISHED"
    history = Tracker(server_process).metric_history(run.id, "loss")
    assert history.num_rows == n
    steps = history.column("step")
    assert (steps[0].as_py(), steps[n - 1].as_py()) == (0, n - 1)
    import pyarrow.compute as pc

    assert pc.sum(history.column("value")).as_py() == 0.5 * n * (n - 1) / 2
    assert len(pc.unique(steps)) == n  # each point once


def test_a_large_batch_goes_as_bounded_requests(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A server with a 1 MiB body limit still takes a 200,000-point batch, each request under
    the limit, each piece under its own id: sending the batch again stores nothing twice."""
    srv = Server.tracking(
        store=f"sqlite:///{tmp_path}/s.db", artifacts=str(tmp_path / "a"), max_body_mb=1
    )
    url = srv.start()
    try:
        monkeypatch.setattr(http_store, "MAX_REQUEST_BYTES", 1024 * 1024 - 1024)
        sizes: list[int] = []
        client = http_store._http.HttpClient.for_url(url)
        send = client.request

        def request(method: str, path: str, **kwargs: Any) -> Any:
            if path.endswith("/log-metrics"):
                sizes.append(len(kwargs["content"]))
                ids = json.loads(kwargs["content"])["batch_id"]
                assert len(ids) == 32
            return send(method, path, **kwargs)

        monkeypatch.setattr(client, "request", request)
        tracker = Tracker(url)
        run = tracker.create_run("exp")
        points = [(run.id, "m", float(i), 1_000, i) for i in range(200_000)]
        tracker.store.log_metrics(points, batch_id="b" * 32)
        assert len(sizes) > 4 and max(sizes) < 1024 * 1024
        tracker.store.log_metrics(points, batch_id="b" * 32)  # a retry of the whole batch
        history = tracker.metric_history(run.id, "m")
        assert history.column("value").to_pylist() == [float(i) for i in range(200_000)]
        # one request body over the server's limit is refused as input, not retried
        monkeypatch.setattr(http_store, "MAX_REQUEST_BYTES", 64 * 1024 * 1024)
        with pytest.raises(InvalidInputError, match="larger than this server accepts"):
            tracker.store.log_metrics(points[:60_000], batch_id="c" * 32)
        tracker.close()
    finally:
        srv.stop()


def test_the_writer_recovers_a_batch_over_the_servers_limit(tmp_path: Path) -> None:
    """Even a request the server refuses for its size loses nothing: the writer halves it."""
    srv = Server.tracking(
        store=f"sqlite:///{tmp_path}/s.db", artifacts=str(tmp_path / "a"), max_body_mb=1
    )
    url = srv.start()
    try:
        tracker = Tracker(url)
        tracker._writer.interval = 3600.0
        run = tracker.start_run("exp")
        for i in range(60_000):  # ~ 5 MB as one request
            run.log_metric("m", float(i), step=i)
        run.end()
        assert tracker.metric_history(run.id, "m").num_rows == 60_000
        assert tracker._writer.rejected_count == 0
        tracker.close()
    finally:
        srv.stop()
