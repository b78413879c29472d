"""How autologging reaches runs: a run provider (the fluent API) and failure-proof calls.

Autologging must never break training: every logging step goes through :func:`safely`, which
turns an exception into a warning. A fit that starts its own run (because none was active)
ends it afterwards, FAILED if the fit raised.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class RunProvider(Protocol):
    """What autologging needs from the fluent API (``mlcore._fluent`` is one)."""

    def active_run(self) -> Any: ...

    def start_run(self, name: str | None = None) -> Any: ...


class AutologWarning(UserWarning):
    """Autologging could not log something; training went on."""


_provider: RunProvider | None = None
_local = threading.local()


def set_provider(provider: RunProvider) -> None:
    global _provider
    _provider = provider


def provider() -> RunProvider:
    """The configured provider, else the fluent API (which registers itself in
    ``mlcore._defaults`` when imported)."""
    if _provider is not None:
        return _provider
    from mlcore._defaults import run_provider

    fluent = run_provider()
    if fluent is None:  # pragma: no cover - importing mlcore always loads the fluent API
        raise RuntimeError("autologging needs a run provider; import mlcore")
    return fluent  # type: ignore[no-any-return]


def safely(what: str, fn: Callable[[], T], default: T | None = None) -> T | None:
    """Run ``fn``; on failure warn (naming ``what``) and return ``default``."""
    try:
        return fn()
    except Exception as exc:
        warnings.warn(
            f"mlcore autolog could not {what}: {type(exc).__name__}: {exc}",
            AutologWarning,
            stacklevel=3,
        )
        return default


def depth() -> int:
    return int(getattr(_local, "depth", 0))


@contextmanager
def nested() -> Iterator[None]:
    """Mark a call as inside an autologged call (inner fits are not logged again)."""
    _local.depth = depth() + 1
    try:
        yield
    finally:
        _local.depth = depth() - 1


@contextmanager
def run_for(name: str) -> Iterator[tuple[Any, bool]]:
    """The active run, or a new one named ``name`` ended when the block ends.

    Yields ``(run, owned)``; ``run`` is None if no run could be started (logging then
    skips, training goes on).
    """
    source = provider()
    run = source.active_run()
    owned = False
    if run is None:
        run = safely("start a run", lambda: source.start_run(name=name))
        owned = run is not None
    try:
        yield run, owned
    except BaseException as exc:
        if owned:
            status = "KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED"
            safely("end the run", lambda: run.end(status))
        raise
    if owned:
        safely("end the run", lambda: run.end("FINISHED"))
