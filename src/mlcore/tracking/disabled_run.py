"""``DisabledRun``: what ``mlcore.init(mode="disabled")`` returns: every call a cheap no-op.

Nothing is opened or stored: no store, no thread, no file. ``config`` and ``summary`` still
work in memory, so code that reads them back runs unchanged (W&B's disabled mode).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from mlcore.tracking.active_run import ActiveRun
from mlcore.tracking.config import Config
from mlcore.tracking.summary import Summary

__all__ = ["DisabledRun"]


def _nothing(*args: Any, **kwargs: Any) -> None:
    return None


class DisabledRun(ActiveRun):
    """A run that records nothing (``mode="disabled"``)."""

    def __init__(self, name: str | None = None, config: Mapping[str, Any] | None = None) -> None:
        # no ActiveRun.__init__: it needs a tracker and a stored run
        self.id = uuid.uuid4().hex
        self._tracker = None  # type: ignore[assignment]
        self._name = name or "disabled"
        self._config = Config(config)
        self._summary = Summary()
        self._step = 0
        self._on_end: list[Callable[[ActiveRun], None]] = []
        self._listeners = []
        self._before_end = []
        self.project = None
        self.resumed = False
        self.ended = False

    def __repr__(self) -> str:
        return f"<DisabledRun {self.id}>"

    @property
    def name(self) -> str:
        return self._name

    entity = group = job_type = notes = property(lambda self: None)

    @property
    def tags(self) -> tuple[str, ...]:
        return ()

    @property
    def summary(self) -> Summary:
        return self._summary  # type: ignore[return-value]

    def log(
        self, data: Mapping[str, Any], step: int | None = None, commit: bool | None = None
    ) -> None:
        if step is not None and step > self._step:
            self._step = step
        if commit if commit is not None else step is None:
            self._step += 1

    # every other call does nothing and returns None
    log_metric = log_metrics = log_param = log_params = set_tag = set_tags = _nothing
    log_artifact = use_artifact = log_model = log_artifacts = log_text = _nothing  # type: ignore[assignment]
    log_dict = log_figure = list_artifacts = metric_history = define_metric = _nothing  # type: ignore[assignment]
    watch = media = media_steps = _nothing  # type: ignore[assignment]

    def save(self, *args: Any, **kwargs: Any) -> list[str]:
        return []

    def end(self, status: str = "FINISHED") -> None:
        if self.ended:
            return
        self.ended = True
        for callback in self._on_end:
            callback(self)
