"""``ActiveRun``: a handle on a run being logged to, usable as a context manager.

``Tracker.start_run`` returns one; ``mlcore.start_run`` and ``mlcore.init`` return one and make
it the active run of the fluent API. Leaving the ``with`` block ends the run FINISHED, FAILED
on an exception, KILLED on Ctrl-C or SIGTERM.

W&B's run surface lives here too: ``log`` with W&B's ``step``/``commit`` rules, ``summary``,
``define_metric``, ``finish(exit_code=)``, ``watch``, ``save``, media inside ``log`` and
``media(key, step=)`` to read them back, and ``project``/``entity``/``group``/``job_type``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from mlcore import _validation as check
from mlcore.errors import InvalidInputError
from mlcore.tracking.config import Config
from mlcore.tracking.lifecycle import status_for_exception
from mlcore.tracking.media.base import Media
from mlcore.tracking.summary import DEFINE_METRIC_TAG, SUMMARY_TAG, Summary, parse_aggregates

if TYPE_CHECKING:
    import pyarrow as pa

    from mlcore.stores.base import MetricPoint
    from mlcore.tracking.artifact_versions import Artifact
    from mlcore.tracking.media.store import LoggedMedia, PreparedMedia
    from mlcore.tracking.models import ModelInfo
    from mlcore.tracking.tracker import Tracker
    from mlcore.types import FileInfo, Run, RunData, RunInfo

__all__ = ["ENTITY_TAG", "FORK_TAG", "GROUP_TAG", "JOB_TYPE_TAG", "ActiveRun"]

_time_ns = time.time_ns
_EXACT = 1 << 53  # ints up to this size are exact as floats

#: the tags W&B's run fields are stored as (searchable: ``tags.mlcore.group = 'x'``)
ENTITY_TAG = "mlcore.entity"
GROUP_TAG = "mlcore.group"
JOB_TYPE_TAG = "mlcore.job_type"
FORK_TAG = "mlcore.fork_from"
_NOTE_TAG = "mlcore.note"


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
        #: W&B's uncommitted step: key -> point, stored when the step is committed
        self._row: dict[str, MetricPoint] | None = None
        self._summary: Summary | None = None
        self._aggregating = False  # a metric has a summary other than "last"
        self._before_end: list[Callable[[], None]] = []
        self._media_writer: Any = None
        self.project: str | None = None  # the experiment's name when started by mlcore.init
        self.resumed = False
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
    def entity(self) -> str | None:
        """W&B's entity (team), stored as the ``mlcore.entity`` tag."""
        return self._run.data.tags.get(ENTITY_TAG)

    @property
    def group(self) -> str | None:
        """W&B's run group, stored as the ``mlcore.group`` tag."""
        return self._run.data.tags.get(GROUP_TAG)

    @property
    def job_type(self) -> str | None:
        """W&B's job type, stored as the ``mlcore.job_type`` tag."""
        return self._run.data.tags.get(JOB_TYPE_TAG)

    @property
    def notes(self) -> str | None:
        return self._run.data.tags.get(_NOTE_TAG)

    @property
    def tags(self) -> tuple[str, ...]:
        """W&B's tags: the run's tags with an empty value, as given to ``init(tags=[...])``."""
        return tuple(k for k, v in self._run.data.tags.items() if v == "")

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

    def log(
        self, data: Mapping[str, Any], step: int | None = None, commit: bool | None = None
    ) -> None:
        """W&B-style logging into the history, one row (step) at a time.

        Without ``step`` each call is one step, unless ``commit=False``: then the values wait
        in the current step (a key logged again there keeps its last value) until a call
        commits it. ``step`` greater than the current step commits the pending one and moves
        there; with ``step`` the call commits only with ``commit=True`` (W&B's rules). A
        ``step`` below the current one is stored at that step (W&B drops it with a warning).
        Nested mappings are flattened with ``/`` (``{"val": {"loss": 1}}`` -> ``val/loss``);
        media (:class:`mlcore.Image`, ``Table``, ``Histogram``, ``Html``) are stored as
        step-indexed files (read back with :meth:`media`). A bad key or value raises
        InvalidInputError and logs nothing of the call.
        """
        if step is None and commit is None and self._row is None and type(data) is dict:
            # The hot path: a flat dict of floats (or small ints) under keys checked before,
            # one step: one extend of the writer's buffer. Anything else takes the full path.
            checked, run_id, current = self._checked_keys, self.id, self._step
            stamp = _time_ns() // 1_000_000
            flat: list[Any] = []
            for key, value in data.items():
                kind = type(value)
                if kind is int and -_EXACT <= value <= _EXACT:
                    value = float(value)
                elif kind is not float:
                    break
                if key not in checked:
                    break
                flat += (run_id, key, value, stamp, current)
            else:
                buffer = self._buffer
                buffer.extend(flat)
                if len(buffer) > self._writer.limit:
                    self._writer.overflow()
                self._step = current + 1
                if self._aggregating or self._listeners:
                    points = [tuple(flat[i : i + 5]) for i in range(0, len(flat), 5)]
                    if self._aggregating and self._summary is not None:
                        self._summary.observe([(p[1], p[2]) for p in points])
                    if self._listeners:
                        self._notify([(p[1], p[2], p[4]) for p in points])
                return
        if not isinstance(data, Mapping):
            raise InvalidInputError("log takes a dict of key -> value", field="data")
        items, media = _flatten(data)
        point, run_id = self._tracker._metric_point, self.id
        if step is not None:
            step = check.step_value(step)
            if step < self._step:  # W&B drops these; they are stored where they belong
                points = [point(run_id, k, v, step, None) for k, v in items]
                prepared = self._prepare_media(media) if media else []
                self._store_points(points, items)
                self._store_media(prepared, step)
                return
        current = self._step if step is None else step
        points = [point(run_id, k, v, current, None) for k, v in items]  # checked: all or none
        prepared = self._prepare_media(media) if media else []
        if step is not None and step > self._step:
            self._commit()
            self._step = step
        committing = commit if commit is not None else step is None
        row = self._row
        if row is None and committing:  # the common case: one call, one step
            self._store_points(points, items)
        else:
            if row is None:
                row = self._row = {}
            for p in points:
                row[p[1]] = p
        self._store_media(prepared, current)
        if committing:
            self._commit()
            self._step = current + 1

    def _store_points(self, points: list[MetricPoint], items: list[tuple[str, Any]]) -> None:
        self._tracker._log_points(points)
        if self._aggregating and self._summary is not None:
            self._summary.observe([(p[1], p[2]) for p in points])
        if self._listeners:
            self._notify([(p[1], p[2], p[4]) for p in points])

    def _commit(self) -> None:
        """Store the pending step (W&B's commit)."""
        row = self._row
        if row:
            self._row = None
            points = list(row.values())
            self._store_points(points, [])
        else:
            self._row = None

    def _prepare_media(self, media: list[tuple[str, Media]]) -> list[PreparedMedia]:
        from mlcore.tracking.media.store import prepare

        for key, _ in media:
            check.check_key(key, "media key")
        return [prepare(key, value) for key, value in media]

    def _store_media(self, prepared: list[PreparedMedia], step: int) -> None:
        if not prepared:
            return
        if self._media_writer is None:
            from mlcore.tracking.media.store import MediaWriter

            self._media_writer = MediaWriter(self._tracker, self.id)
            self._before_end.append(self._media_writer.write_index)
        for item in prepared:
            self._media_writer.write(item, step)

    def media(self, key: str, step: int | None = None) -> LoggedMedia:
        """The media logged under ``key`` at ``step`` (default: the latest step), read back:
        ``.value`` is a PIL image, a ``pyarrow.Table``, a histogram dict or an HTML string."""
        from mlcore.tracking.media.store import read_media

        return read_media(self._tracker, self.id, key, step)

    def media_steps(self, key: str) -> list[int]:
        """The steps at which media were logged under ``key``."""
        from mlcore.tracking.media.store import media_steps

        return media_steps(self._tracker, self.id, key)

    # -- W&B: summary, define_metric, watch, save ------------------------------------------------
    @property
    def summary(self) -> Summary:
        """W&B's summary: the last value of each metric, the aggregates ``define_metric``
        asks for, and values set by hand (``run.summary["best"] = 0.9``), stored with the run."""
        if self._summary is None:
            tags = self._run.data.tags
            summary = Summary(
                persist=self._persist_summary,
                stored=tags.get(SUMMARY_TAG),
                latest=lambda: self._tracker.get_run(self.id).data.metrics,
            )
            summary.load_definitions(tags.get(DEFINE_METRIC_TAG))
            self._summary = summary
            self._aggregating = bool(summary._aggregates)
        return self._summary

    def _persist_summary(self, payload: str) -> None:
        self._tracker.set_tags(self.id, {SUMMARY_TAG: payload})

    def define_metric(
        self,
        name: str,
        step_metric: str | None = None,
        *,
        summary: str | None = None,
        goal: str | None = None,
        hidden: bool | None = None,
        step_sync: bool | None = None,
        overwrite: bool | None = None,
    ) -> dict[str, Any]:
        """Say how a metric is summarised (``summary="min"``, ``"max"``, ``"mean"``,
        ``"last"``, ``"first"``, ``"none"`` or several joined by commas) and which metric is
        its x axis (``step_metric``); ``name`` may end with ``*``. Stored as the
        ``mlcore.define_metric`` tag (JSON); returns the definition."""
        check.check_key(name.rstrip("*") or "*", "metric name")
        if step_metric is not None:
            check.check_key(step_metric, "step_metric")
        if goal not in (None, "minimize", "maximize"):
            raise InvalidInputError("goal must be 'minimize' or 'maximize'", field="goal")
        aggregates = parse_aggregates(summary)
        definition: dict[str, Any] = {
            k: v
            for k, v in {
                "step_metric": step_metric,
                "summary": summary,
                "goal": goal,
                "hidden": hidden,
                "step_sync": step_sync,
            }.items()
            if v is not None
        }
        target = self.summary
        if not overwrite and name in target._definitions:
            definition = {**target._definitions[name], **definition}
            aggregates = parse_aggregates(definition.get("summary"))
        target.define(name, definition, aggregates)
        self._aggregating = bool(target._aggregates)
        self._tracker.set_tags(
            self.id, {DEFINE_METRIC_TAG: json.dumps(target.definitions(), sort_keys=True)}
        )
        return definition

    def save(
        self,
        glob_str: str | os.PathLike[str],
        base_path: str | os.PathLike[str] | None = None,
        policy: str = "live",
    ) -> list[str]:
        """Store files matching ``glob_str`` with the run (W&B's ``run.save``): ``now``,
        ``end`` (when the run ends) or ``live`` (now, and again at the end if changed).
        Paths are kept relative to ``base_path`` (default: the current directory for a
        relative glob, the glob's grandparent for an absolute one). Returns the stored paths."""
        from mlcore.tracking.saved_files import save_files

        return save_files(self, glob_str, base_path, policy)

    def finish(self, exit_code: int | None = None, quiet: bool | None = None) -> None:
        """End the run (W&B's ``finish``): FINISHED, or FAILED for a non-zero ``exit_code``."""
        self.end("FAILED" if exit_code else "FINISHED")

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

    def log_model(
        self,
        model: Any,
        artifact_path: str | None = None,
        *,
        name: str | None = None,
        **options: Any,
    ) -> ModelInfo:
        """See :meth:`Tracker.log_model` (``name``: MLflow 3's name for ``artifact_path``)."""
        return self._tracker.log_model(self.id, model, artifact_path, name=name, **options)

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
            self._commit()
            for hook in self._before_end:
                hook()
            if self._summary is not None and (self._summary._set or self._aggregating):
                self._summary.save()
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


def _flatten(
    data: Mapping[str, Any], prefix: str = ""
) -> tuple[list[tuple[str, Any]], list[tuple[str, Media]]]:
    """``(numbers, media)`` of a ``log`` call, keys flattened with ``/``."""
    items: list[tuple[str, Any]] = []
    media: list[tuple[str, Media]] = []
    for key, value in data.items():
        if not isinstance(key, str):
            raise InvalidInputError(f"log keys must be strings, got {key!r:.60}", field="key")
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            more, more_media = _flatten(value, name + "/")
            items.extend(more)
            media.extend(more_media)
        elif isinstance(value, Media):
            media.append((name, value))
        else:
            items.append((name, value))
    return items, media
