"""``mlcore import mlflow SOURCE``: MLflow's history brought into an mlcore store.

SOURCE is MLflow's file store (an ``mlruns`` folder) or its database URL (``sqlite:///``,
``postgresql://``, ``mysql://``), with ``artifacts`` the folder behind ``mlflow-artifacts:/``
URIs when a tracking server proxied them. The source is only read. See
:mod:`mlcore.importers.mlflow.writer` for how runs are written whole and incrementally.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from mlcore.errors import InvalidInputError
from mlcore.importers.mlflow.records import Problem
from mlcore.importers.mlflow.writer import (
    ArtifactFiles,
    ImportReport,
    MlflowSourceReader,
    Progress,
    write_import,
)
from mlcore.stores import MetadataStore
from mlcore.uris import file_uri_to_path, redact_uri, uri_scheme

__all__ = ["ImportReport", "Problem", "import_mlflow", "open_mlflow_source"]


def open_mlflow_source(source: str, *, artifacts: str | None = None) -> MlflowSourceReader:
    """A read-only reader of the MLflow store at ``source`` (folder or database URL).

    Raises:
        InvalidInputError: ``source`` does not exist or is not an MLflow store.
    """
    scheme = uri_scheme(source)
    if scheme in ("", "file"):
        path = os.path.abspath(os.path.expanduser(file_uri_to_path(source)))
        if os.path.isfile(path):
            source, scheme = f"sqlite:///{path}", "sqlite"
        else:
            from mlcore.importers.mlflow.file_source import FileSource
            from mlcore.stores.foreign import is_mlflow_directory

            if not os.path.isdir(path):
                raise InvalidInputError(f"MLflow store {source!r} does not exist", field="source")
            if not is_mlflow_directory(path):
                raise InvalidInputError(
                    f"{source!r} is not an MLflow file store (no <experiment id>/meta.yaml "
                    "folders); give the mlruns folder or the database URL",
                    field="source",
                )
            return FileSource(path, artifacts)
    if scheme in ("sqlite", "postgresql", "mysql", "mariadb") or scheme.startswith(
        ("postgresql+", "mysql+", "sqlite+")
    ):
        from mlcore.importers.mlflow.sql_source import SqlSource

        return SqlSource(source, artifacts)
    raise InvalidInputError(
        f"{redact_uri(source)!r}: an MLflow source is an mlruns folder or a database URL "
        "(sqlite:///, postgresql://, mysql://)",
        field="source",
    )


def import_mlflow(
    source: str,
    store: MetadataStore,
    *,
    artifacts: str | None = None,
    dry_run: bool = False,
    artifact_stores: Callable[[str], ArtifactFiles] | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import the MLflow store at ``source`` into ``store``; returns what was done.

    Runs keep their ids; a second import brings only what is new. What could not be read
    whole (a corrupt metric file, an unreadable artifact) is skipped and listed in
    ``report.problems``; nothing of it is stored.
    """
    if artifact_stores is None:
        from mlcore.artifacts import resolve_artifact_store

        artifact_stores = resolve_artifact_store
    reader = open_mlflow_source(source, artifacts=artifacts)
    try:
        return write_import(reader, store, artifact_stores, dry_run=dry_run, progress=progress)
    finally:
        reader.close()
