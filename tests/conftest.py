"""Shared fixtures: isolated mlcore homes and real PostgreSQL and MariaDB servers.

PostgreSQL: ``MLCORE_TEST_POSTGRES_URL`` (set by ``.ci/run``/``scripts/test.sh``, which start a
server) is used when present; otherwise a throw-away cluster is started with ``initdb``
(test-infra §1). Without PostgreSQL binaries the tests skip — unless
``MLCORE_REQUIRE_SERVICES=1`` (CI), where a missing service is a failure.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

# Keep test runs fast and deterministic; set before mlcore reads them.
os.environ.setdefault("MLCORE_FLUSH_INTERVAL", "0.05")
os.environ.pop("MLCORE_TRACKING_URI", None)
os.environ.pop("MLCORE_ARTIFACT_URI", None)

REQUIRE_SERVICES = os.environ.get("MLCORE_REQUIRE_SERVICES") == "1"
ROOT = Path(__file__).resolve().parent.parent


def missing_service(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"required test service unavailable: {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(port)


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test runs in its own directory, so the default ./.mlcore never leaks."""
    monkeypatch.chdir(tmp_path)
    yield
    from mlcore import _fluent

    while _fluent.active_run() is not None:
        _fluent.end_run()
    tracker = _fluent._state.tracker
    if tracker is not None:
        tracker.close()
    _fluent._state.__init__()  # type: ignore[misc]


class PgCluster:
    """A throw-away PostgreSQL cluster on a free loopback port (test-infra §1), restartable."""

    def __init__(self, *, durable: bool = False) -> None:
        # not durable (the default, for speed): commits acknowledged just before a crash may be
        # lost, as synchronous_commit=off allows; fault tests that crash the server need durable
        self.durable = durable
        dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
        if not dirs:
            missing_service("PostgreSQL binaries not found (apt-get install postgresql)")
        self.bindir, as_root = dirs[-1], os.geteuid() == 0
        self.user = "postgres" if as_root else None
        self.base = tempfile.mkdtemp(prefix="mlcore-pg-")
        if as_root:
            shutil.chown(self.base, "postgres", "postgres")
        self.data, self.port = os.path.join(self.base, "data"), free_port()
        self._run(
            "initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "-E", "UTF8",
            "--locale=C.UTF-8", "--no-sync",
        )  # fmt: skip
        self.start()

    @property
    def url(self) -> str:
        """The server's URL without a database name."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}"

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [f"{self.bindir}/{tool}", *args],
            check=True, user=self.user, capture_output=True, text=True,
        )  # fmt: skip

    def start(self) -> None:
        self._run(
            "pg_ctl", "-D", self.data, "-l", f"{self.base}/server.log", "-w", "-t", "60", "-o",
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.base} -c max_connections=200"
            + ("" if self.durable else
               " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"),
            "start",
        )  # fmt: skip

    def stop(self, mode: str = "immediate") -> None:
        self._run("pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A PostgreSQL server URL without a database name."""
    url = os.environ.get("MLCORE_TEST_POSTGRES_URL")
    if url:
        yield url.rsplit("/", 1)[0]
        return
    cluster = PgCluster()
    try:
        yield cluster.url
    finally:
        cluster.destroy()


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    import sqlalchemy as sa

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(f"{pg_server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield f"{pg_server}/{name}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


class MariaDbServer:
    """A throw-away MariaDB/MySQL server on a free loopback port (Debian's ``mariadb-server``)."""

    def __init__(self) -> None:
        server = shutil.which("mariadbd") or shutil.which("mysqld")
        install = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
        if not server or not install:
            missing_service("MariaDB binaries not found (apt-get install mariadb-server)")
        self.base = tempfile.mkdtemp(prefix="mlcore-mariadb-")
        self.port = free_port()
        user = ["--user=root"] if os.geteuid() == 0 else []
        data = os.path.join(self.base, "data")
        subprocess.run(
            [str(install), f"--datadir={data}", "--auth-root-authentication-method=normal", *user],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        self.proc = subprocess.Popen(
            [
                str(server), f"--datadir={data}", f"--port={self.port}",
                "--bind-address=127.0.0.1", f"--socket={self.base}/mysqld.sock",
                "--skip-grant-tables", "--innodb-flush-log-at-trx-commit=0", *user,
            ],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            wait_port(self.port, 60)
        except TimeoutError:
            self.destroy()
            missing_service("MariaDB did not start")

    @property
    def url(self) -> str:
        return f"mysql+pymysql://root@127.0.0.1:{self.port}"

    def destroy(self) -> None:
        self.proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(30)
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture(scope="session")
def mysql_server() -> Iterator[str]:
    """A MariaDB/MySQL server URL without a database name."""
    url = os.environ.get("MLCORE_TEST_MYSQL_URL")
    if url:
        yield url.rstrip("/")
        return
    server = MariaDbServer()
    try:
        yield server.url
    finally:
        server.destroy()


@pytest.fixture
def mysql_url(mysql_server: str) -> Iterator[str]:
    """A fresh, empty MariaDB/MySQL database for one test."""
    import sqlalchemy as sa

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(f"{mysql_server}/", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    try:
        yield f"{mysql_server}/{name}?charset=utf8mb4"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
        admin.dispose()


def run_python(
    code: str,
    *,
    env: dict[str, str] | None = None,
    timeout: float = 120,
    cwd: str | os.PathLike[str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter (for exit, signal and multi-process tests)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-c", code],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
    )
