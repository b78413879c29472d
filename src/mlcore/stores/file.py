"""The ``file`` store: a directory that holds ``mlcore.db`` (SQLite) and ``artifacts/``.

``./.mlcore`` (the default tracking URI), ``/abs/dir`` and ``file:///abs/dir`` all mean
"this directory"; it is created on first use.
"""

from __future__ import annotations

import os
from typing import ClassVar

from mlcore.errors import InvalidInputError
from mlcore.stores.foreign import is_mlflow_directory, refuse_mlflow
from mlcore.stores.sql.store import SqlStore
from mlcore.uris import file_uri_to_path, path_to_file_uri, uri_scheme

__all__ = ["DB_NAME", "FileStore"]

DB_NAME = "mlcore.db"


class FileStore(SqlStore):
    """SQLite metadata in ``<dir>/mlcore.db``, artifacts in ``<dir>/artifacts``."""

    schemes: ClassVar[tuple[str, ...]] = ("file", "")

    def __init__(self, directory: str, *, artifact_uri: str | None = None) -> None:
        self.directory = os.path.abspath(directory)
        if os.path.exists(self.directory) and not os.path.isdir(self.directory):
            raise InvalidInputError(
                f"tracking URI {directory!r} is a file, not a directory; for a SQLite file use "
                f"sqlite:///{directory}",
                field="tracking_uri",
            )
        if os.path.isdir(self.directory) and is_mlflow_directory(self.directory):
            refuse_mlflow(directory)
        os.makedirs(self.directory, exist_ok=True)
        database = os.path.join(self.directory, DB_NAME)
        super().__init__(
            f"sqlite:///{database}",
            artifact_uri=artifact_uri
            or _env_artifacts()
            or path_to_file_uri(os.path.join(self.directory, "artifacts")),
        )
        self.display_name = f"store {self.directory}"

    @classmethod
    def from_uri(cls, uri: str, *, artifact_uri: str | None = None) -> FileStore:
        path = file_uri_to_path(uri) if uri_scheme(uri) == "file" else uri
        return cls(os.path.expanduser(path), artifact_uri=artifact_uri)


def _env_artifacts() -> str | None:
    from mlcore._config import artifact_uri_from_env

    return artifact_uri_from_env()
