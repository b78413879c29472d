"""A live view of a running pipeline's steps (rich): one row a step, its status, attempts,
duration and, for a failure, the cause. Used by ``Pipeline.run(progress=True)`` and
``mlcore pipeline run``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mlcore.errors import InvalidInputError

if TYPE_CHECKING:
    from mlcore.pipeline.runner import StepInfo
    from mlcore.pipeline.spec import PipelineSpec

__all__ = ["ProgressView", "status_style"]

_STYLES = {
    "PENDING": "dim",
    "RUNNING": "bold blue",
    "RETRYING": "yellow",
    "SUCCEEDED": "green",
    "CACHED": "cyan",
    "FAILED": "bold red",
    "SKIPPED": "dim",
    "KILLED": "magenta",
}


def status_style(status: str) -> str:
    return _STYLES.get(status, "")


def display_status(step: StepInfo) -> str:
    """What a person wants to read: CACHED for a reused step, RETRYING between attempts."""
    if step.cached and step.status == "SUCCEEDED":
        return "CACHED"
    if step.status == "PENDING" and step.attempts:
        return "RETRYING"
    return step.status


class ProgressView:
    """A context manager showing a live table; feed it with :meth:`update`."""

    def __init__(self, spec: PipelineSpec, console: Any = None) -> None:
        try:
            from rich.console import Console
            from rich.live import Live
        except ImportError as exc:  # pragma: no cover - rich is in the cli extra
            raise InvalidInputError(
                "the progress view needs rich: pip install 'mlcore[cli]'"
            ) from exc
        self.spec = spec
        self.steps: dict[str, StepInfo] = {}
        self.order = [task.name for task in spec.tasks]
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self.console = console or Console(stderr=True)
        self.live = Live(
            self.render(),
            console=self.console,
            refresh_per_second=8,
            transient=False,
            get_renderable=self.render,
        )

    def chain(self, other: Callable[[StepInfo], None] | None) -> Callable[[StepInfo], None]:
        def both(step: StepInfo) -> None:
            self.update(step)
            if other is not None:
                other(step)

        return both

    def update(self, step: StepInfo) -> None:
        with self._lock:
            self.steps[step.name] = step

    def _rows(self) -> list[StepInfo]:
        def key(step: StepInfo) -> tuple[int, int]:
            position = self.order.index(step.task) if step.task in self.order else len(self.order)
            return position, step.index or 0

        with self._lock:
            return sorted(self.steps.values(), key=key)

    def render(self) -> Any:
        from rich.table import Table

        table = Table(title=f"pipeline {self.spec.name}", title_justify="left", expand=False)
        table.add_column("step")
        table.add_column("status")
        table.add_column("attempts", justify="right")
        table.add_column("time", justify="right")
        table.add_column("detail", overflow="fold", max_width=60)
        rows = self._rows()
        counts: dict[str, int] = {}
        for step in rows:
            status = display_status(step)
            counts[status] = counts.get(status, 0) + 1
        shown = rows if len(rows) <= 40 else [s for s in rows if s.status != "SUCCEEDED"][-40:]
        now = time.time()
        for step in shown:
            status = display_status(step)
            elapsed = (step.ended or now) - step.started if step.started else None
            detail = step.error if status in ("FAILED", "SKIPPED", "KILLED", "RETRYING") else ""
            table.add_row(
                step.name,
                f"[{status_style(status)}]{status}[/]",
                str(step.attempts or ""),
                f"{elapsed:.1f}s" if elapsed else "",
                detail or "",
            )
        pending = len(self.spec.tasks) - len({s.task for s in rows})
        summary = ", ".join(f"{n} {s.lower()}" for s, n in sorted(counts.items()))
        if pending > 0:
            summary += f"{', ' if summary else ''}{pending} not started"
        table.caption = f"{summary} — {time.monotonic() - self.started:.1f}s"
        return table

    def __enter__(self) -> ProgressView:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.update(self.render())
        self.live.__exit__(None, None, None)
