"""A real tracking server (uvicorn on a loopback port) for the server tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("fastapi")

from mlcore.server import Server


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One server per test module over a SQLite store and a local artifact root."""
    home = tmp_path_factory.mktemp("server")
    srv = Server.tracking(store=f"sqlite:///{home}/mlcore.db", artifacts=str(home / "artifacts"))
    url = srv.start()
    yield url
    srv.stop()
