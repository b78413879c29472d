"""``ActiveRun``: a handle on a run being logged to, usable as a context manager.

``Tracker.start_run`` returns one; ``mlcore.start_run`` returns one and makes it the active
run of the fluent API. Leaving the ``with`` block ends the run FINISHED, FAILED on an
exception, KILLED on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from mlcore.tracking.config import Config
from mlcore.tracking.lifecycle import status_for_exception

if TYPE_CHECKING:
    import pyarrow as pa

    from mlcore.tracking.artifact_versions import Artifact
    from mlcore.tracking.models import ModelInfo
    from mlcore.tracking.tracker import Tracker
    from mlcore.types import FileInfo, Run, RunData, RunInfo

__all__ = ["ActiveRun"]

_time_ns = time.time_ns


class ActiveRun:
    """A run being logged to. Attributes: ``id``, ``info``, ``config``, ``data``."""

    def __init__(
        self,
        tracker: Tracker,
        run: Run,
        *,
        on_end: Callable[[ActiveRun], None] | None = None,
    ) -> None:
        self._tracker = tracker
        self._run = run
        self.id: str = run.info.run_id
        self._info = run.info
        self._config = Config(run.config, persist=self._persist_config)
        self._step = 0
        self._on_end: list[Callable[[ActiveRun], None]] = [on_end] if on_end else []
        self._listeners: list[Callable[[str, float, int | None], None]] = []
        self.ended = False
        # the hot path's references: keys already checked, and the writer's flat buffer
        self._checked_keys = tracker._valid_keys
        self._writer = tracker._writer
        self._buffer = tracker._writer.buffer

    def __repr__(self) -> str:
        return f"<ActiveRun {self.id} name={self._info.name!r} status={self._info.status.value}>"

    @property
    def tracker(self) -> Tracker:
        return self._tracker

    @property
    def info(self) -> RunInfo:
        """The run's info as of its start or end (``get_run`` for a fresh read)."""
        return self._info

    @property
    def name(self) -> str:
        return self._info.name

    @property
    def config(self) -> Config:
        """The W&B-style config: ``run.config.lr``, ``run.config["lr"]``, ``.update({...})``."""
        return self._config

    @property
    def data(self) -> RunData:
        """Params, latest metrics and tags as stored now (pending metrics are flushed first)."""
        return self._tracker.get_run(self.id).data

    def add_end_callback(self, callback: Callable[[ActiveRun], None]) -> None:
        """Call ``callback(run)`` once the run has ended (the fluent API pops its stack so)."""
        self._on_end.append(callback)

    def add_log_listener(self, listener: Callable[[str, float, int | None], None]) -> None:
        """Call ``listener(key, value, step)`` after every metric point logged through this
        handle (how a sweep's early termination watches a trial); an exception it raises
        propagates to the caller of ``log``."""
        self._listeners.append(listener)

    def _notify(self, points: list[tuple[str, float, int | None]]) -> None:
        for listener in self._listeners:
            for key, value, step in points:
                listener(key, value, step)

    def _persist_config(self, values: dict[str, Any]) -> dict[str, Any]:
        return self._tracker.update_config(self.id, values)

    # -- logging -------------------------------------------------------------------------------
    def log_metric(
        self, key: str, value: float, step: int | None = None, timestamp: int | None = None
    ) -> None:
        # The hot path: a float value, an int step (or none) and a key checked before take a
        # few type and range tests and one extend of the writer's buffer; anything else is
        # checked in full by Tracker._metric_point (InvalidInputError, nothing buffered).
        if (
            type(value) is float
            and timestamp is None
            and key in self._checked_keys
            and (
                (type(step) is int and -0x8000000000000000 <= step <= 0x7FFFFFFFFFFFFFFF)
                or step is None
            )
        ):
            buffer = self._buffer
            buffer.extend((self.id, key, value, _time_ns() // 1_000_000, step or 0))
            if len(buffer) > self._writer.limit:
                self._writer.overflow()
        else:
            tracker = self._tracker
            self._writer.add(tracker._metric_point(self.id, key, value, step, timestamp))
        if self._listeners:
            self._notify([(key, value, step)])

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Log several metrics at one step: all of them, or (on InvalidInputError) none."""
        point, run_id = self._tracker._metric_point, self.id
        self._tracker._log_points([point(run_id, k, v, step, None) for k, v in metrics.items()])
        if self._listeners:
            self._notify([(k, v, step) for k, v in metrics.items()])

    def log(self, data: Mapping[str, Any], step: int | None = None, commit: bool = True) -> None:
        """W&B-style logging: every call is one step unless ``commit=False``.

        Nested mappings are flattened with ``/`` (``{"val": {"loss": 1}}`` -> ``val/loss``).
        A bad key or value raises InvalidInputError and logs nothing of the call.
        """
        current = self._step if step is None else step
        point, run_id = self._tracker._metric_point, self.id
        points = _flatten_numbers(data)
        self._tracker._log_points([point(run_id, k, v, current, None) for k, v in points])
        if self._listeners:
            self._notify([(k, v, current) for k, v in points])
        if commit:
            self._step = current + 1
        elif step is not None:
            self._step = step

    @property
    def step(self) -> int:
        """The step the next ``log`` call writes to."""
        return self._step

    def log_param(self, key: str, value: Any) -> None:
        self._tracker.log_params(self.id, {key: value})

    def log_params(self, params: Mapping[str, Any]) -> None:
        self._tracker.log_params(self.id, params)

    def set_tag(self, key: str, value: Any) -> None:
        self._tracker.set_tags(self.id, {key: value})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        self._tracker.set_tags(self.id, tags)

    def log_artifact(
        self,
        local_path: str | os.PathLike[str] | Artifact,
        artifact_path: str | None = None,
        *,
        aliases: Sequence[str] = (),
    ) -> FileInfo | Artifact:
        """A file into the run's artifacts, or a versioned :class:`~mlcore.Artifact`."""
        from mlcore.tracking.artifact_versions import Artifact

        if isinstance(local_path, Artifact):
            return self._tracker.log_artifact(self.id, local_path, aliases=aliases)
        return self._tracker.log_artifact(self.id, local_path, artifact_path)

    def use_artifact(self, ref: str) -> Artifact:
        """Use ``name:v3`` / ``name:latest`` / ``name:alias`` (recorded for lineage)."""
        return self._tracker.use_artifact(self.id, ref)

    def log_model(self, model: Any, artifact_path: str = "model", **options: Any) -> ModelInfo:
        """See :meth:`Tracker.log_model`."""
        return self._tracker.log_model(self.id, model, artifact_path, **options)

    def log_artifacts(
        self, local_dir: str | os.PathLike[str], artifact_path: str | None = None
    ) -> list[FileInfo]:
        return self._tracker.log_artifacts(self.id, local_dir, artifact_path)

    def log_text(self, text: str, artifact_file: str) -> FileInfo:
        return self._tracker.log_text(self.id, text, artifact_file)

    def log_dict(self, dictionary: Any, artifact_file: str) -> FileInfo:
        return self._tracker.log_dict(self.id, dictionary, artifact_file)

    def log_figure(self, figure: Any, artifact_file: str) -> FileInfo:
        return self._tracker.log_figure(self.id, figure, artifact_file)

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        return self._tracker.list_artifacts(self.id, path)

    def metric_history(
        self,
        key: str,
        *,
        max_points: int | None = None,
        min_step: int | None = None,
        max_step: int | None = None,
    ) -> pa.Table:
        """See :meth:`Tracker.metric_history`."""
        return self._tracker.metric_history(
            self.id, key, max_points=max_points, min_step=min_step, max_step=max_step
        )

    # -- ending --------------------------------------------------------------------------------
    def end(self, status: str = "FINISHED") -> None:
        """End the run (idempotent): flush its metrics, set status and end time."""
        if self.ended:
            return
        self.ended = True
        try:
            self._info = self._tracker.end_run(self.id, status)
        finally:
            for callback in self._on_end:
                callback(self)

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        status = status_for_exception(exc_type, exc)
        if status == "FAILED" and exc is not None and not self.ended:
            try:
                self._tracker.set_tags(
                    self.id, {"mlcore.error": f"{type(exc).__name__}: {exc}"[:5000]}
                )
            except Exception:  # the run's own failure matters more than this tag
                pass
        self.end(status)


def _flatten_numbers(data: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    items: list[tuple[str, Any]] = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            items.extend(_flatten_numbers(value, name + "/"))
        else:
            items.append((name, value))
    return items
