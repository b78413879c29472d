"""Process defaults the interface layer provides to the layers below (stdlib only).

The fluent API (``mlcore._fluent``) registers itself here when imported: its default tracker
is what ``Registry()`` uses without arguments, and it is the run provider of autologging.
Lower layers ask here instead of importing the layer above them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_tracker_factory: Callable[[], Any] | None = None
_run_provider: Any = None


def set_fluent(tracker_factory: Callable[[], Any], run_provider: Any) -> None:
    global _tracker_factory, _run_provider
    _tracker_factory = tracker_factory
    _run_provider = run_provider


def default_tracker() -> Any:
    """The default tracker (the fluent API's), or None before the fluent API is loaded."""
    return _tracker_factory() if _tracker_factory is not None else None


def run_provider() -> Any:
    """The fluent API module (``active_run``, ``start_run``), or None."""
    return _run_provider
