"""``run.save(glob, base_path=, policy=)``: files stored with a run (W&B's ``wandb.save``).

``now`` stores the matching files at once, ``end`` when the run ends, ``live`` both (a file
changed since it was stored is stored again at the end; W&B also re-uploads while the run
goes on). The glob is expanded when ``save`` is called. Paths are kept relative to
``base_path``: the current directory for a relative glob, the glob's grandparent for an
absolute one (one directory level kept), as W&B does.
"""

from __future__ import annotations

import glob
import hashlib
import os
from typing import TYPE_CHECKING

from mlcore.errors import InvalidInputError

if TYPE_CHECKING:
    from mlcore.tracking.active_run import ActiveRun

__all__ = ["POLICIES", "save_files"]

POLICIES = ("live", "now", "end")


def _digest(path: str) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def save_files(
    run: ActiveRun,
    glob_str: str | os.PathLike[str],
    base_path: str | os.PathLike[str] | None,
    policy: str,
) -> list[str]:
    """Store (now and/or at the end) the files matching ``glob_str``; their stored paths."""
    if policy not in POLICIES:
        raise InvalidInputError(f"policy must be one of {', '.join(POLICIES)}", field="policy")
    pattern = os.path.abspath(os.fspath(glob_str))
    if base_path is not None:
        base = os.path.abspath(os.fspath(base_path))
    elif os.path.isabs(os.fspath(glob_str)):
        base = os.path.dirname(os.path.dirname(pattern))
    else:
        base = os.getcwd()
    matches = sorted(p for p in glob.glob(pattern, recursive=True) if os.path.isfile(p))
    pairs: list[tuple[str, str]] = []
    for path in matches:
        relative = os.path.relpath(path, base)
        if relative.startswith(".."):
            raise InvalidInputError(
                f"{path} is not under base_path {base}; pass a base_path above it",
                field="base_path",
            )
        pairs.append((path, relative.replace(os.sep, "/")))
    stored: dict[str, str] = {}

    def store(path: str, name: str) -> None:
        digest = _digest(path)
        if stored.get(name) != digest:
            run.tracker.log_artifact(run.id, path, os.path.dirname(name) or None)
            stored[name] = digest

    if policy in ("now", "live"):
        for path, name in pairs:
            store(path, name)
    if policy in ("end", "live"):

        def at_end() -> None:
            for path, name in pairs:
                if os.path.isfile(path):
                    store(path, name)

        run._before_end.append(at_end)
    return [name for _, name in pairs]
