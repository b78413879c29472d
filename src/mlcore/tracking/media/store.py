"""Storing media as step-indexed run files, and reading them back.

Layout under the run's artifacts: ``media/<key>/<step>.<ext>`` (the file) and
``media/<key>/<step>.media.json`` (``kind``, ``step``, ``file`` and the value's metadata). The
sidecars are the index a reader lists (so a run that crashed is readable); ``media/index.json``
(``{key: {"kind": ..., "steps": [...]}}``) is written when the run ends, for viewers.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlcore.errors import InvalidInputError, NotFoundError
from mlcore.tracking.media.base import Media

if TYPE_CHECKING:
    from mlcore.tracking.tracker import Tracker

__all__ = ["INDEX", "LoggedMedia", "MediaWriter", "PreparedMedia", "media_steps", "read_media"]

ROOT = "media"
INDEX = f"{ROOT}/index.json"


@dataclass(frozen=True)
class PreparedMedia:
    """A value turned into its file before anything of a ``log`` call is stored."""

    key: str
    kind: str
    extension: str
    data: bytes
    metadata: dict[str, Any]


@dataclass
class LoggedMedia:
    """One stored media value: ``value`` (PIL image, ``pyarrow.Table``, histogram dict, HTML
    string), its ``key``, ``step``, ``kind``, ``caption`` and ``metadata``."""

    key: str
    step: int
    kind: str
    value: Any
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def caption(self) -> str | None:
        caption = self.metadata.get("caption")
        return caption if isinstance(caption, str) else None


def prepare(key: str, value: Media) -> PreparedMedia:
    """Encode ``value`` (InvalidInputError for a key that cannot be a file path)."""
    parts = key.split("/")
    if any(part in ("", ".", "..") for part in parts) or "\\" in key:
        raise InvalidInputError(f"media key {key!r} cannot name a file path", field="key")
    return PreparedMedia(key, value.kind, value.extension, value.to_bytes(), value.metadata())


class MediaWriter:
    """Writes the media of one run and remembers its keys and steps for the index."""

    def __init__(self, tracker: Tracker, run_id: str) -> None:
        self._tracker = tracker
        self._run_id = run_id
        self._index: dict[str, dict[str, Any]] = {}

    def write(self, item: PreparedMedia, step: int) -> None:
        base = f"{ROOT}/{item.key}/{step}"
        file = f"{base}.{item.extension}"
        self._tracker.log_bytes(self._run_id, item.data, file)
        sidecar = {"kind": item.kind, "step": step, "file": file, **item.metadata}
        self._tracker.log_bytes(self._run_id, json.dumps(sidecar).encode(), f"{base}.media.json")
        entry = self._index.setdefault(item.key, {"kind": item.kind, "steps": []})
        if step not in entry["steps"]:
            entry["steps"].append(step)

    def write_index(self) -> None:
        """Merge this process's keys and steps into ``media/index.json``."""
        if not self._index:
            return
        index = _stored_index(self._tracker, self._run_id)
        for key, entry in self._index.items():
            known = index.setdefault(key, {"kind": entry["kind"], "steps": []})
            known["steps"] = sorted(set(known.get("steps", [])) | set(entry["steps"]))
        self._tracker.log_bytes(self._run_id, json.dumps(index).encode(), INDEX)


def _stored_index(tracker: Tracker, run_id: str) -> dict[str, dict[str, Any]]:
    names = {f.path for f in tracker.list_artifacts(run_id, ROOT)}
    if INDEX not in names:
        return {}
    loaded: dict[str, dict[str, Any]] = json.loads(_read(tracker, run_id, INDEX))
    return loaded


def _read(tracker: Tracker, run_id: str, path: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="mlcore-media-") as tmp:
        local = tracker.download_artifacts(run_id, path, tmp)
        with open(local, "rb") as handle:
            return handle.read()


def media_steps(tracker: Tracker, run_id: str, key: str) -> list[int]:
    """The steps at which ``key`` holds media, ascending."""
    tracker.flush()
    steps = []
    for info in tracker.list_artifacts(run_id, f"{ROOT}/{key}"):
        name = os.path.basename(info.path)
        if name.endswith(".media.json") and not info.is_dir:
            try:
                steps.append(int(name[: -len(".media.json")]))
            except ValueError:
                continue
    return sorted(steps)


def read_media(tracker: Tracker, run_id: str, key: str, step: int | None = None) -> LoggedMedia:
    """The media under ``key`` at ``step`` (default: the latest), decoded."""
    steps = media_steps(tracker, run_id, key)
    if not steps:
        raise NotFoundError(f"run {run_id} has no media under {key!r}")
    chosen = steps[-1] if step is None else step
    if chosen not in steps:
        raise NotFoundError(f"run {run_id} has no media {key!r} at step {step} (steps: {steps})")
    sidecar = json.loads(_read(tracker, run_id, f"{ROOT}/{key}/{chosen}.media.json"))
    kind = sidecar.pop("kind")
    file = sidecar.pop("file")
    sidecar.pop("step", None)
    reader = _readers().get(kind, Media)
    value = reader.read(_read(tracker, run_id, file), sidecar)
    return LoggedMedia(key=key, step=chosen, kind=kind, value=value, metadata=sidecar)


def _readers() -> dict[str, type[Media]]:
    from mlcore.tracking.media.histogram import Histogram
    from mlcore.tracking.media.html import Html
    from mlcore.tracking.media.image import Image
    from mlcore.tracking.media.table import Table

    return {cls.kind: cls for cls in (Image, Table, Histogram, Html)}
