"""SQL store administration: ``mlcore store migrate`` and ``mlcore store copy``.

``copy_store`` moves a whole store — metadata and artifacts — for instance from the embedded
default (``./.mlcore``) to PostgreSQL + S3. Artifacts go first, each file streamed from the
source root to the destination root and hashed on the way; then every file is read back from
the destination and checked against that hash and against the sha256 recorded when it was
logged; only then are the rows copied, in one destination transaction, with artifact URIs
rewritten to the new root. A failure at any point leaves the destination database empty (files
already copied stay in the new root and are overwritten by a retry).

The source is only read: a SQLite source is opened read-only (no journal-mode change, no
migration, no file created), and a source that is not an mlcore store at this schema — an
empty or unrelated folder, a foreign SQLite file, MLflow's ``mlruns`` or database — is refused
before anything is opened for writing.

The rows are copied by :mod:`mlcore.stores.sql.copy`. The artifact stores come from the
caller (``artifact_stores``, usually ``mlcore.artifacts.resolve_artifact_store``): metadata
stores and artifact stores are sibling SPIs that do not import each other.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Protocol

from sqlalchemy import Engine, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from mlcore import _config
from mlcore.errors import IntegrityError, InvalidInputError, NotFoundError
from mlcore.stores import resolve_store
from mlcore.stores.file import DB_NAME
from mlcore.stores.foreign import is_mlflow_directory, refuse_mlflow
from mlcore.stores.sql import copy as sql_copy
from mlcore.stores.sql import migrate
from mlcore.stores.sql.engine import (
    create_readonly_sqlite_engine,
    create_sql_engine,
    is_sqlite_memory,
)
from mlcore.stores.sql.schema import SCHEMA_REVISION, artifact_files, experiments, runs
from mlcore.stores.sql.store import SqlStore, _normalise_root
from mlcore.uris import file_uri_to_path, join_uri, path_to_file_uri, redact_uri, uri_scheme

if TYPE_CHECKING:
    from mlcore.types import FileInfo

__all__ = [
    "ArtifactFiles",
    "CopyPlan",
    "CopyReport",
    "copy_store",
    "migrate_store",
    "open_source",
    "plan_copy",
]

#: progress(kind, amount): kind "bytes" (artifact bytes copied), "verify" (bytes checked) or
#: a table name (rows copied)
Progress = Callable[[str, int], None]

_CHUNK = 1024 * 1024


class ArtifactFiles(Protocol):
    """What a copy needs of an artifact store (``mlcore.artifacts.ArtifactStore`` has it)."""

    def exists(self, path: str) -> bool: ...

    def walk(self, path: str = "") -> list[FileInfo]: ...

    def open(self, path: str) -> IO[bytes]: ...

    def put_stream(self, stream: Any, path: str) -> FileInfo: ...


#: The artifact store of a root URI, e.g. ``mlcore.artifacts.resolve_artifact_store``.
ArtifactStores = Callable[[str], ArtifactFiles]


def _sql_store(uri: str, *, artifact_uri: str | None = None) -> SqlStore:
    store = resolve_store(uri, artifact_uri=artifact_uri)
    if not isinstance(store, SqlStore):
        store.close()
        raise InvalidInputError(
            f"{redact_uri(uri)!r} is not a SQL store; copy and migrate work on SQLite, "
            "PostgreSQL and MySQL stores (and ./.mlcore directories)",
            field="uri",
        )
    return store


class SourceStore(Protocol):
    """What a copy reads of its source: the database and the default artifact root."""

    @property
    def engine(self) -> Engine: ...

    @property
    def default_artifact_root(self) -> str: ...


@dataclass
class ReadOnlySource:
    """A store opened only to be read (the source of a copy)."""

    engine: Engine
    default_artifact_root: str
    display_name: str

    def close(self) -> None:
        self.engine.dispose()


def _looks_like_mlflow(directory: str) -> bool:
    """MLflow's file store (``mlruns/``, ``<experiment id>/meta.yaml``) or a folder holding it."""
    if os.path.basename(os.path.normpath(directory)) == "mlruns" or is_mlflow_directory(directory):
        return True
    if os.path.isdir(os.path.join(directory, "mlruns")) or os.path.isfile(
        os.path.join(directory, "mlflow.db")
    ):
        return True
    return any(
        os.path.isfile(os.path.join(directory, name, "meta.yaml")) for name in os.listdir(directory)
    )


def open_source(uri: str) -> ReadOnlySource:
    """Open the store at ``uri`` to be read only; refuse anything that is not an mlcore store.

    Raises:
        InvalidInputError: ``uri`` does not exist, is not an mlcore store (an empty or
            unrelated folder, a foreign SQLite file, MLflow's), or is at an older schema
            (run ``mlcore store migrate`` on it first: a copy never writes its source).
    """
    shown = redact_uri(uri)
    scheme = uri_scheme(uri)
    if scheme in ("", "file"):
        directory = os.path.abspath(os.path.expanduser(file_uri_to_path(uri)))
        if not os.path.exists(directory):
            raise InvalidInputError(f"copy source {shown!r} does not exist", field="source")
        if not os.path.isdir(directory):
            raise InvalidInputError(
                f"copy source {shown!r} is a file, not a store directory; for a SQLite file "
                f"use sqlite:///{directory}",
                field="source",
            )
        database = os.path.join(directory, DB_NAME)
        if not os.path.isfile(database):
            if _looks_like_mlflow(directory):
                refuse_mlflow(shown, field="source", what="copy source")
            raise InvalidInputError(
                f"copy source {shown!r} is not an mlcore store (it holds no {DB_NAME}); "
                "nothing was copied and the folder was left as it was",
                field="source",
            )
        engine = create_readonly_sqlite_engine(database)
        root = os.path.join(directory, "artifacts")
    elif scheme == "sqlite":
        if is_sqlite_memory(uri):
            raise InvalidInputError(
                f"copy source {shown!r} is an in-memory database: there is nothing to copy",
                field="source",
            )
        database = os.path.abspath(make_url(uri).database or "")
        if not os.path.isfile(database):
            raise InvalidInputError(f"copy source {shown!r} does not exist", field="source")
        engine = create_readonly_sqlite_engine(database)
        root = os.path.join(os.path.dirname(database), "artifacts")
    else:
        engine = create_sql_engine(uri)
        root = os.path.join(_config.DEFAULT_HOME, "artifacts")
    try:
        _require_mlcore_schema(engine, shown)
    except BaseException:
        engine.dispose()
        raise
    default_root = _normalise_root(_config.artifact_uri_from_env()) or path_to_file_uri(root)
    return ReadOnlySource(engine, default_root, f"{scheme or 'file'} store {shown}")


def _require_mlcore_schema(engine: Engine, shown: str) -> None:
    """Refuse a database that is not an mlcore store at this schema (nothing is written)."""
    try:
        with engine.connect() as conn:
            conn.execution_options(mlcore_write=False)
            with conn.begin():
                tables = set(inspect(conn).get_table_names())
                run_columns = (
                    {c["name"] for c in inspect(conn).get_columns("runs")}
                    if "runs" in tables
                    else set()
                )
                revision = migrate.current_revision(conn) if "alembic_version" in tables else None
    except DBAPIError as exc:
        raise InvalidInputError(
            f"copy source {shown!r} cannot be read as a database ({exc.orig}); it is not an "
            "mlcore store",
            field="source",
        ) from None
    if "run_uuid" in run_columns or (
        "runs" in tables and "latest_metrics" in tables and "run_pk" not in run_columns
    ):
        refuse_mlflow(shown, field="source", what="copy source")
    if revision == SCHEMA_REVISION:
        return
    if revision in migrate.known_revisions():
        raise InvalidInputError(
            f"copy source {shown!r} is an mlcore store at the older schema {revision!r}; a "
            f"copy never writes its source: run `mlcore store migrate {shown}` first",
            field="source",
        )
    if revision is not None and "run_pk" in run_columns:
        raise InvalidInputError(
            f"copy source {shown!r} is at schema {revision!r}, which this mlcore does not "
            f"know (it expects {SCHEMA_REVISION!r}); upgrade mlcore",
            field="source",
        )
    raise InvalidInputError(
        f"copy source {shown!r} is not an mlcore store (a database without mlcore's tables); "
        "nothing was copied and it was left as it was",
        field="source",
    )


def _database_url(uri: str) -> str:
    if uri_scheme(uri) in ("", "file"):
        return f"sqlite:///{os.path.join(os.path.abspath(file_uri_to_path(uri)), DB_NAME)}"
    return uri


def migrate_store(uri: str) -> tuple[str | None, str]:
    """Bring the database at ``uri`` to this mlcore's schema; returns ``(before, after)``."""
    engine = create_sql_engine(_database_url(uri))
    try:
        with engine.connect() as conn, conn.begin():
            before = migrate.current_revision(conn)
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    return before, SCHEMA_REVISION


@dataclass
class CopyPlan:
    """What a copy will do: root mapping, files and their sizes, rows per table."""

    mapping: list[tuple[str, str]]
    files: list[tuple[str, str, int]] = field(default_factory=list)  # (src root, path, size)
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def total_bytes(self) -> int:
        return sum(size for _, _, size in self.files)

    def remap(self, uri: str) -> str:
        """``uri`` under the destination root (longest matching source root), else unchanged."""
        for source, target in sorted(self.mapping, key=lambda m: -len(m[0])):
            if uri == source:
                return target
            if uri.startswith(source + "/"):
                return target + uri[len(source) :]
        return uri


@dataclass
class CopyReport:
    """What a copy did."""

    rows: dict[str, int]
    files: int
    bytes: int
    verified: int
    artifact_root: str | None


def _under(uri: str, root: str) -> bool:
    return uri == root or uri.startswith(root.rstrip("/") + "/")


def plan_copy(
    source: SourceStore, destination_root: str | None, artifact_stores: ArtifactStores
) -> CopyPlan:
    """The mapping from source artifact roots to places under ``destination_root``."""
    src_root = source.default_artifact_root.rstrip("/")
    with source.engine.connect() as conn:
        locations = conn.execute(
            select(experiments.c.experiment_id, experiments.c.artifact_location)
        ).all()
        plan = CopyPlan(mapping=[])
        plan.rows = sql_copy.count_rows(conn)
    if destination_root is None:
        return plan
    dst_root = destination_root.rstrip("/")
    plan.mapping.append((src_root, dst_root))
    for experiment_id, location in locations:
        location = location.rstrip("/")
        if not _under(location, src_root):
            plan.mapping.append((location, join_uri(dst_root, "experiments", str(experiment_id))))
    for root, _target in plan.mapping:
        store = artifact_stores(root)
        if not store.exists(""):
            continue
        for info in store.walk():
            plan.files.append((root, info.path, info.size or 0))
    return plan


def _recorded_hashes(source: SourceStore) -> dict[str, str]:
    """sha256 recorded at logging time, by absolute source URI."""
    query = select(runs.c.artifact_uri, artifact_files.c.path, artifact_files.c.sha256).join(
        runs, runs.c.run_pk == artifact_files.c.run_pk
    )
    with source.engine.connect() as conn:
        return {
            join_uri(uri.rstrip("/"), path): sha
            for uri, path, sha in conn.execute(query)
            if sha is not None
        }


def _hash_of(store: ArtifactFiles, path: str, progress: Progress | None) -> str:
    digest = hashlib.sha256()
    with store.open(path) as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            if progress is not None:
                progress("verify", len(chunk))
    return digest.hexdigest()


def copy_store(
    source_uri: str,
    destination_uri: str,
    *,
    artifact_stores: ArtifactStores,
    artifact_uri: str | None = None,
    copy_artifacts: bool = True,
    progress: Progress | None = None,
    plan_ready: Callable[[CopyPlan], None] | None = None,
) -> CopyReport:
    """Copy a whole store (metadata and artifacts) into an empty destination.

    Args:
        source_uri: the store to copy (a ``./.mlcore`` directory or a SQL URL); only read,
            and it must be an mlcore store at this schema.
        destination_uri: an empty store (a SQL URL, or a directory).
        artifact_stores: the artifact store of a root URI
            (``mlcore.artifacts.resolve_artifact_store``).
        artifact_uri: the destination's artifact root (``s3://bucket/prefix``...); default:
            the destination store's default root (``MLCORE_ARTIFACT_URI``, or ``artifacts/``
            next to a SQLite file).
        copy_artifacts: False copies metadata only and keeps artifact URIs as they are (for
            artifacts already in shared storage).
        progress: called as work advances (see ``Progress``).
        plan_ready: called with the plan (totals) before anything is written.

    Raises:
        InvalidInputError: the source is not an mlcore store at this schema (see
            :func:`open_source`); nothing is written anywhere.
        AlreadyExistsError: the destination store is not empty (nothing is written).
        IntegrityError: a copied file does not match its recorded or streamed sha256 (the
            destination database stays empty).
    """
    source = open_source(source_uri)
    try:
        destination = _sql_store(destination_uri, artifact_uri=artifact_uri)
    except BaseException:
        source.close()
        raise
    try:
        with destination.engine.connect() as conn, conn.begin():
            sql_copy.require_empty(conn, f"destination {destination.display_name}")
        root = destination.default_artifact_root if copy_artifacts else None
        plan = plan_copy(source, root, artifact_stores)
        if plan_ready is not None:
            plan_ready(plan)
        copied = _copy_files(source, plan, artifact_stores, progress) if copy_artifacts else {}
        rows = sql_copy.copy_tables(
            source.engine, destination.engine, remap=plan.remap, progress=progress
        )
        return CopyReport(
            rows=rows,
            files=len(copied),
            bytes=plan.total_bytes,
            verified=len(copied),
            artifact_root=root,
        )
    finally:
        source.close()
        destination.close()


def _copy_files(
    source: SourceStore, plan: CopyPlan, artifact_stores: ArtifactStores, progress: Progress | None
) -> dict[str, str]:
    """Stream every file to its new place, then verify; returns sha256 by destination URI."""
    stores: dict[str, ArtifactFiles] = {}

    def store_for(root: str) -> ArtifactFiles:
        if root not in stores:
            stores[root] = artifact_stores(root)
        return stores[root]

    recorded = _recorded_hashes(source)
    copied: dict[str, tuple[str, str, str]] = {}  # dst uri -> (dst root, path, sha256)
    for src_root, path, _size in plan.files:
        dst_root = plan.remap(src_root)
        if dst_root == src_root:  # the destination shares the source's artifact root
            continue
        src_uri = join_uri(src_root, path)
        with store_for(src_root).open(path) as handle:
            counted = _Counting(handle, progress)
            info = store_for(dst_root).put_stream(counted, path)
        expected = recorded.get(src_uri)
        if expected is not None and expected != info.sha256:
            raise IntegrityError(
                f"artifact {src_uri} does not match the sha256 recorded when it was logged "
                f"(recorded {expected[:12]}..., read {str(info.sha256)[:12]}...); the source is "
                "damaged, nothing was copied to the destination database"
            )
        copied[join_uri(dst_root, path)] = (dst_root, path, str(info.sha256))
    bad = []
    for dst_uri, (dst_root, path, sha) in copied.items():
        try:
            found = _hash_of(store_for(dst_root), path, progress)
        except NotFoundError:
            found = "missing"
        if found != sha:
            bad.append(dst_uri)
    if bad:
        raise IntegrityError(
            f"{len(bad)} copied file(s) read back differently from the destination, e.g. "
            f"{bad[0]}; the destination database was left empty"
        )
    return {uri: sha for uri, (_, _, sha) in copied.items()}


class _Counting:
    """A read-through stream that reports bytes to ``progress``."""

    def __init__(self, stream: Any, progress: Progress | None) -> None:
        self._stream = stream
        self._progress = progress

    def read(self, size: int = -1) -> bytes:
        data: bytes = self._stream.read(size)
        if data and self._progress is not None:
            self._progress("bytes", len(data))
        return data
