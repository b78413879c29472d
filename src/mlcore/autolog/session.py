"""How autologging reaches runs: the process's run context, and failure-proof calls.

Autologging must never break training: every logging step goes through :func:`safely`, which
turns an exception into a warning. A fit that starts its own run (because none was active)
ends it afterwards, FAILED if the fit raised.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from mlcore.tracking.context import run_context

if TYPE_CHECKING:
    from mlcore.tracking.active_run import ActiveRun

__all__ = ["AutologWarning", "depth", "nested", "run_for", "safely"]

T = TypeVar("T")


class AutologWarning(UserWarning):
    """Autologging could not log something; training went on."""


_local = threading.local()


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
    """The active run of the run context, or a new one named ``name`` ended when the block
    ends.

    Yields ``(run, owned)``; ``run`` is None if no run could be started (logging then
    skips, training goes on).
    """
    context = run_context()
    run: ActiveRun | None = context.active_run()
    started: ActiveRun | None = None
    if run is None:
        run = started = safely("start a run", lambda: context.start_run(name=name))
    try:
        yield run, started is not None
    except BaseException as exc:
        if started is not None:
            status = "KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED"
            safely("end the run", lambda: started.end(status))
        raise
    if started is not None:
        safely("end the run", lambda: started.end("FINISHED"))
