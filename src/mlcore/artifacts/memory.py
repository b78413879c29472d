"""``MemoryArtifactStore``: artifacts in fsspec's in-process memory filesystem (tests, demos).

All ``memory://`` roots of a process share one fsspec memory filesystem; roots keep them apart.
"""

from __future__ import annotations

from mlcore.artifacts.fsspec_store import FsspecArtifactStore

__all__ = ["MemoryArtifactStore"]


class MemoryArtifactStore(FsspecArtifactStore):
    """Artifacts kept in memory for the life of the process."""

    schemes = ("memory",)

    def __init__(self, root_uri: str) -> None:
        super().__init__(root_uri)
