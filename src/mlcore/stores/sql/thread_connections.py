"""One ``sqlite3`` connection held by each thread, for the run starts and ends of a SQLite
file store: checking a connection out of SQLAlchemy's pool and resetting it on return cost
about as much as the transaction itself.

Each connection is made by the engine (so it has the engine's settings: WAL, busy timeout,
foreign keys) and then detached from its pool. It is closed when its thread ends, when the
store closes (a thread using the store again opens another, as the pool would), after a
driver error, and never used, nor closed, by a process it was not opened in (a forked child).
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Engine

from mlcore.stores.sql.engine import RETRY_BUDGET_S, _transient

__all__ = ["ThreadConnections"]

T = TypeVar("T")


class _Held:
    """A thread's connection and the cursor its transactions use."""

    __slots__ = ("__weakref__", "connection", "cursor", "open", "pid")

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection
        self.cursor = connection.cursor()
        self.pid = os.getpid()
        self.open = True

    def close(self) -> None:
        self.open = False
        try:
            self.connection.close()
        except sqlite3.Error:  # pragma: no cover - closing a broken connection
            pass


class ThreadConnections:
    """Write transactions on the calling thread's own ``sqlite3`` connection, retried as
    :meth:`~mlcore.stores.sql.engine.Transactions.run` retries (SQLite file engines only)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._local = threading.local()
        self._all: weakref.WeakSet[_Held] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._inherited: list[_Held] = []  # a forked child's: never used, never closed

    def _held(self) -> _Held:
        held: _Held | None = getattr(self._local, "held", None)
        if held is not None and held.open and held.pid == self._pid:
            return held
        if os.getpid() != self._pid:
            with self._lock:
                self._inherited += self._all
                self._all = weakref.WeakSet()
                self._pid = os.getpid()
        fairy = self._engine.raw_connection()
        fairy.detach()  # ours now: the pool neither resets nor counts it
        held = _Held(fairy.dbapi_connection)  # type: ignore[arg-type]
        self._local.held = held
        with self._lock:
            self._all.add(held)
        return held

    def _drop(self, held: _Held) -> None:
        self._local.held = None
        with self._lock:
            self._all.discard(held)
        held.close()

    def run(self, fn: Callable[[Any], T]) -> T:
        """``fn(cursor)`` in a ``BEGIN IMMEDIATE`` transaction, committed if it returns."""
        deadline = time.monotonic() + RETRY_BUDGET_S
        delay = 0.01
        while True:
            held = self._held()
            cursor = held.cursor
            try:
                cursor.execute("BEGIN IMMEDIATE")
                try:
                    result = fn(cursor)
                    held.connection.commit()
                except BaseException:
                    held.connection.rollback()
                    raise
                return result
            except sqlite3.Error as exc:
                if not isinstance(exc, (sqlite3.IntegrityError, sqlite3.ProgrammingError)):
                    self._drop(held)  # a fresh connection for the next try or call
                if (
                    not isinstance(exc, sqlite3.OperationalError)
                    or not _transient(str(exc))
                    or time.monotonic() + delay > deadline
                ):
                    raise
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 1.0)

    def close(self) -> None:
        """Close every thread's connection (this process's)."""
        with self._lock:
            held, self._all = list(self._all), weakref.WeakSet()
        for each in held:
            each.close()
