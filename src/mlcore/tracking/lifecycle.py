"""Process lifecycle: end open runs at interpreter exit, on SIGTERM and after uncaught errors.

- normal exit: open runs end FINISHED, buffered metrics are stored;
- an uncaught exception: FAILED; KeyboardInterrupt (Ctrl-C): KILLED;
- SIGTERM: turned into ``SystemExit(143)`` in the main thread, so ``with start_run()`` blocks
  unwind and end their runs KILLED; a SIGTERM handler the program installed itself is kept and
  still called.

Hooks are installed once, when the first run is started, never at import.
"""

from __future__ import annotations

import atexit
import signal
import sys
import threading
import weakref
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlcore.tracking.tracker import Tracker

__all__ = ["exit_status", "install_hooks", "register_tracker", "status_for_exception"]

_trackers: weakref.WeakSet[Tracker] = weakref.WeakSet()
_installed = False
_lock = threading.Lock()
_exit_state: dict[str, Any] = {"exception": None, "signal": None}


def register_tracker(tracker: Tracker) -> None:
    _trackers.add(tracker)


def exit_status() -> str:
    """The status open runs get if the interpreter ends now."""
    if _exit_state["signal"] is not None:
        return "KILLED"
    exc = _exit_state["exception"]
    if exc is None:
        return "FINISHED"
    if issubclass(exc, KeyboardInterrupt):
        return "KILLED"
    return "FAILED"


def status_for_exception(exc_type: type[BaseException] | None, exc: BaseException | None) -> str:
    """The status a run ends with when its ``with`` block exits with ``exc``."""
    if exc_type is None:
        return "FINISHED"
    if issubclass(exc_type, KeyboardInterrupt):
        return "KILLED"
    if issubclass(exc_type, SystemExit):
        if _exit_state["signal"] is not None:
            return "KILLED"
        code = getattr(exc, "code", None)
        return "FINISHED" if code in (0, None) else "FAILED"
    if issubclass(exc_type, GeneratorExit):
        return "KILLED"
    return "FAILED"


def install_hooks() -> None:
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    atexit.register(_at_exit)
    previous_hook = sys.excepthook

    def excepthook(
        exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
    ) -> None:
        _exit_state["exception"] = exc_type
        previous_hook(exc_type, exc, tb)

    sys.excepthook = excepthook
    _install_sigterm()


def _install_sigterm() -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    try:
        previous = signal.getsignal(signal.SIGTERM)
    except (ValueError, OSError):  # pragma: no cover - platforms without SIGTERM
        return
    if previous is signal.SIG_IGN or previous is None:
        return

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        _exit_state["signal"] = signum
        if callable(previous):
            previous(signum, frame)
            return
        raise SystemExit(128 + signum)

    try:
        signal.signal(signal.SIGTERM, on_sigterm)
    except ValueError:  # pragma: no cover - not the main interpreter
        pass


def _at_exit() -> None:
    status = exit_status()
    for tracker in list(_trackers):
        try:
            tracker._end_open_runs(status)
            tracker.close()
        except Exception as exc:  # never turn exit into a traceback storm
            sys.stderr.write(f"mlcore: could not finish runs at exit: {exc}\n")
