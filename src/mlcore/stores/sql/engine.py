"""SQLAlchemy engines tuned for mlcore's access pattern, and transactions with retry.

SQLite (the embedded default) is set up for several processes writing one file:

- WAL journal, so readers never block the writer and vice versa;
- a new file gets ``auto_vacuum=INCREMENTAL``, so the pages a metric compaction frees go back
  to the file system (a store created before keeps its setting: changing it takes a full
  ``VACUUM``);
- ``synchronous=NORMAL`` (safe with WAL against application crashes; ``FULL``, which also
  survives power loss, with ``MLCORE_SQLITE_SYNCHRONOUS=FULL``);
- write transactions start with ``BEGIN IMMEDIATE``: the write lock is taken up front, so two
  writers queue on the busy timeout instead of deadlocking on a lock upgrade (the classic
  source of "database is locked");
- a 30 s busy timeout, plus a retry loop around every transaction for what still slips
  through.

PostgreSQL and MySQL use a pre-pinged pool; a transaction whose connection died (server
restart) is retried on a fresh connection.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import NullPool, StaticPool

from mlcore._config import sqlite_synchronous
from mlcore.errors import InvalidInputError

__all__ = [
    "RETRY_BUDGET_S",
    "SQLITE_BUSY_TIMEOUT_S",
    "Transactions",
    "create_readonly_sqlite_engine",
    "create_sql_engine",
    "is_sqlite_memory",
    "normalize_url",
]

T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_S = 30.0
RETRY_BUDGET_S = 60.0


def normalize_url(url: str) -> str:
    """Pick an installed driver for bare ``postgresql://`` / ``mysql://`` URLs."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql" and not _has_module("psycopg2") and _has_module("psycopg"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif parsed.drivername in ("mysql", "mariadb") and not _has_module("MySQLdb"):
        parsed = parsed.set(drivername=f"{parsed.drivername}+pymysql")
    return parsed.render_as_string(hide_password=False)


def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def is_sqlite_memory(url: str) -> bool:
    database = make_url(url).database
    return database in (None, "", ":memory:") or (database or "").startswith("file::memory:")


def create_sql_engine(url: str) -> Engine:
    """An engine for ``url`` with mlcore's connection settings."""
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise InvalidInputError(f"not a valid database URL: {exc}", field="tracking_uri") from None
    if parsed.get_backend_name() != "sqlite":
        return create_engine(
            normalize_url(url), pool_pre_ping=True, pool_size=5, max_overflow=10, future=True
        )
    if is_sqlite_memory(url):
        engine = create_engine(
            "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    else:
        database = parsed.database or ""
        directory = os.path.dirname(os.path.abspath(database))
        os.makedirs(directory, exist_ok=True)
        engine = create_engine(
            parsed,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False},
            pool_size=8,
            max_overflow=8,
        )
    _configure_sqlite(engine, memory=is_sqlite_memory(url))
    return engine


def _configure_sqlite(engine: Engine, *, memory: bool) -> None:
    synchronous = sqlite_synchronous()  # read once: a bad value fails before any connection

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        if not memory:
            if cursor.execute("PRAGMA page_count").fetchone()[0] == 0:  # a new, empty file
                # must come before the first table (and the WAL switch); lets a compaction
                # give the pages it frees back to the file system (metric_ops.compact)
                cursor.execute("PRAGMA auto_vacuum=INCREMENTAL")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA case_sensitive_like=ON")  # LIKE vs ILIKE as in PostgreSQL
        # 16 MiB of page cache (default 2 MiB): a search's walk of an index and its reads of
        # params, metrics and tags of the page no longer evict each other's pages
        cursor.execute("PRAGMA cache_size=-16384")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("mlcore_write", True)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if not isinstance(exc, OperationalError):
        return False
    return _transient(str(exc.orig) if exc.orig is not None else str(exc))


def _transient(message: str) -> bool:
    text = message.lower()
    return any(
        marker in text
        for marker in (
            "database is locked",
            "database table is locked",
            "database is busy",
            "deadlock detected",
            "could not serialize",
            "server closed the connection",
            "connection refused",
            "terminating connection",
            "connection is closed",
            "the database system is starting up",
            "the database system is shutting down",
            "lost connection",
            "gone away",
        )
    )


class Transactions:
    """Runs functions in transactions, retrying transient failures with jittered backoff.

    For an in-memory SQLite database (one shared connection) a lock serialises use.
    """

    def __init__(self, engine: Engine, *, serialize: bool = False) -> None:
        self.engine = engine
        self._lock: threading.RLock | None = threading.RLock() if serialize else None

    @contextmanager
    def _serialized(self) -> Iterator[None]:
        if self._lock is None:
            yield
            return
        with self._lock:
            yield

    def run(self, fn: Callable[[Connection], T], *, write: bool = True) -> T:
        deadline = time.monotonic() + RETRY_BUDGET_S
        delay = 0.01
        while True:
            try:
                with self._serialized(), self.engine.connect() as conn:
                    conn.execution_options(mlcore_write=write)
                    with conn.begin():
                        return fn(conn)
            except DBAPIError as exc:
                if not _retryable(exc) or time.monotonic() + delay > deadline:
                    raise
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 1.0)

    def read(self, fn: Callable[[Connection], T]) -> T:
        return self.run(fn, write=False)

    def run_sqlite(self, fn: Callable[[Any], T]) -> T:
        """Like :meth:`run` (a write transaction, retried), but ``fn`` gets a cursor of the
        ``sqlite3`` connection itself: for the few hot statements where SQLAlchemy's
        execution layer would cost more than SQLite. SQLite engines only."""
        import sqlite3

        deadline = time.monotonic() + RETRY_BUDGET_S
        delay = 0.01
        while True:
            try:
                with self._serialized():
                    raw = self.engine.raw_connection()
                    try:
                        cursor = raw.cursor()
                        cursor.execute("BEGIN IMMEDIATE")
                        try:
                            result = fn(cursor)
                            raw.commit()
                        except BaseException:
                            raw.rollback()
                            raise
                        finally:
                            cursor.close()
                    finally:
                        raw.close()
                return result
            except sqlite3.OperationalError as exc:
                if not _transient(str(exc)) or time.monotonic() + delay > deadline:
                    raise
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 1.0)


def create_readonly_sqlite_engine(path: str) -> Engine:
    """An engine that only reads the SQLite file at ``path``: it never writes, migrates or
    creates anything, nor changes the journal mode.

    A database with a ``-wal`` file (a store in use) is opened ``mode=ro``, which reads the
    log its writers keep; otherwise it is opened ``immutable``, so that not even the
    ``-wal``/``-shm`` files a WAL reader would otherwise leave behind are created.
    """
    import sqlite3
    from pathlib import Path

    location = Path(os.path.abspath(path)).as_uri()
    mode = "mode=ro" if os.path.exists(path + "-wal") else "mode=ro&immutable=1"

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(
            f"{location}?{mode}", uri=True, timeout=SQLITE_BUSY_TIMEOUT_S, check_same_thread=False
        )

    engine = create_engine("sqlite://", creator=connect, poolclass=NullPool)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN")  # a read transaction: one consistent snapshot

    return engine
