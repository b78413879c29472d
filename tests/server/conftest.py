"""A real tracking server (uvicorn on a loopback port) for the server tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

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


@pytest.fixture
def server_home(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(tmp_path_factory.getbasetemp())
