"""mlcore-template: an example artifact store plugin for ``example://`` URIs.

``example:///abs/dir`` stores artifacts under ``/abs/dir`` through fsspec's local filesystem.
It shows the shape of a plugin: subclass an mlcore SPI base class, register it under an
entry point, run mlcore's conformance suite.
"""

from __future__ import annotations

from typing import ClassVar

from mlcore.artifacts.fsspec_store import FsspecArtifactStore
from mlcore.errors import InvalidInputError

__all__ = ["ExampleArtifactStore"]


class ExampleArtifactStore(FsspecArtifactStore):
    """Artifacts in a local directory named by an ``example:///path`` URI."""

    schemes: ClassVar[tuple[str, ...]] = ("example",)

    def __init__(self, root_uri: str) -> None:
        if not root_uri.startswith("example:///"):
            raise InvalidInputError(
                f"example URIs look like example:///absolute/dir, got {root_uri!r}",
                field="artifact_uri",
            )
        local = root_uri[len("example://") :]
        super().__init__(f"file://{local}")
        # report the URI the user gave, not fsspec's
        self.root_uri = root_uri.rstrip("/")
        self.display_name = f"example artifact store {local}"
