"""Versioned artifacts of the SQL store (mixed into ``SqlStore``).

Versions start at ``v0`` (as in W&B) and are numbered like model versions: under a lock on
the collection row, in the transaction that inserts them. ``latest`` is not stored: it is
always the highest version.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, func, insert, select

from mlcore.errors import IntegrityError, InvalidInputError, NotFoundError
from mlcore.stores.sql.rows import chunked
from mlcore.stores.sql.schema import (
    artifact_aliases,
    artifact_collections,
    artifact_links,
    artifact_version_files,
    artifact_versions,
)
from mlcore.stores.sql.upsert import insert_ignore, upsert
from mlcore.types import ArtifactFile, ArtifactVersion, build

if TYPE_CHECKING:
    from mlcore.stores.sql.engine import Transactions

__all__ = ["SqlArtifactVersionOps"]


def _now() -> int:
    return time.time_ns() // 1_000_000


def _versions_query() -> Any:
    return select(
        *artifact_versions.c, artifact_collections.c.name, artifact_collections.c.type
    ).select_from(
        artifact_versions.join(
            artifact_collections,
            artifact_collections.c.collection_pk == artifact_versions.c.collection_pk,
        )
    )


def _load(conn: Connection, rows: Sequence[Any]) -> list[ArtifactVersion]:
    if not rows:
        return []
    pks = sorted({r.collection_pk for r in rows})
    files: dict[tuple[int, int], list[ArtifactFile]] = {}
    aliases: dict[tuple[int, int], list[str]] = {}
    newest: dict[int, int] = {}
    for part in chunked(pks):
        for f in conn.execute(
            select(artifact_version_files)
            .where(artifact_version_files.c.collection_pk.in_(part))
            .order_by(artifact_version_files.c.path)
        ):
            files.setdefault((f.collection_pk, f.version), []).append(
                build(
                    ArtifactFile, {"path": f.path, "sha256": f.sha256, "size": f.size, "ref": f.ref}
                )
            )
        for a in conn.execute(
            select(artifact_aliases).where(artifact_aliases.c.collection_pk.in_(part))
        ):
            aliases.setdefault((a.collection_pk, a.version), []).append(a.alias)
        for pk, top in conn.execute(
            select(artifact_versions.c.collection_pk, func.max(artifact_versions.c.version))
            .where(artifact_versions.c.collection_pk.in_(part))
            .group_by(artifact_versions.c.collection_pk)
        ):
            newest[pk] = top
    result = []
    for r in rows:
        names = sorted(aliases.get((r.collection_pk, r.version), []))
        if newest.get(r.collection_pk) == r.version:
            names = ["latest", *names]
        result.append(
            build(
                ArtifactVersion,
                {
                    "name": r.name,
                    "type": r.type,
                    "version": r.version,
                    "digest": r.digest,
                    "description": r.description,
                    "metadata": json.loads(r.metadata),
                    "aliases": names,
                    "files": files.get((r.collection_pk, r.version), []),
                    "size": r.size,
                    "producer_run_id": r.producer_run_id,
                    "creation_time": r.creation_time,
                },
            )
        )
    return result


def _link(conn: Connection, collection_pk: int, version: int, run_id: str, relation: str) -> None:
    insert_ignore(
        conn,
        artifact_links,
        [
            {
                "collection_pk": collection_pk,
                "version": version,
                "run_id": run_id,
                "relation": relation,
                "link_time": _now(),
            }
        ],
        ["collection_pk", "version", "run_id", "relation"],
    )


def _check_same_files(
    conn: Connection, pk: int, name: str, version: int, files: list[ArtifactFile]
) -> None:
    """Refuse to answer a version with this digest when its recorded files differ from
    ``files``: recorded hashes never change; new bytes make a new version (a new digest)."""
    recorded = {
        r.path: (r.sha256, r.size, r.ref)
        for r in conn.execute(
            select(artifact_version_files).where(
                artifact_version_files.c.collection_pk == pk,
                artifact_version_files.c.version == version,
            )
        )
    }
    sent = {f.path: (f.sha256, f.size, f.ref) for f in files}
    if sent != recorded:
        changed = sorted(p for p in set(sent) | set(recorded) if sent.get(p) != recorded.get(p))
        raise IntegrityError(
            f"artifact {name}:v{version} has this digest with other files recorded "
            f"({', '.join(map(repr, changed[:5]))} differ); recorded hashes never change: log "
            "changed bytes as a new version (a new digest). Nothing was recorded"
        )


class SqlArtifactVersionOps:
    """Versioned-artifact methods of ``SqlStore``; relies on ``self._tx``."""

    _tx: Transactions

    @staticmethod
    def _collection(conn: Connection, name: str, *, lock: bool = False) -> Any:
        query = select(artifact_collections).where(artifact_collections.c.name == name)
        if lock:
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None:
            raise NotFoundError(f"artifact {name!r} not found")
        return row

    def _resolve_version(self, conn: Connection, name: str, ref: str) -> Any:
        collection = self._collection(conn, name)
        pk = collection.collection_pk
        if ref == "latest":
            number = conn.execute(
                select(func.max(artifact_versions.c.version)).where(
                    artifact_versions.c.collection_pk == pk
                )
            ).scalar()
        elif ref.startswith("v") and ref[1:].isdigit():
            number = int(ref[1:])
        else:
            number = conn.execute(
                select(artifact_aliases.c.version).where(
                    artifact_aliases.c.collection_pk == pk, artifact_aliases.c.alias == ref
                )
            ).scalar()
            if number is None:
                raise NotFoundError(f"artifact {name!r} has no alias {ref!r}")
        row = None
        if number is not None:
            row = conn.execute(
                _versions_query().where(
                    artifact_versions.c.collection_pk == pk,
                    artifact_versions.c.version == number,
                )
            ).first()
        if row is None:
            raise NotFoundError(f"artifact version {name}:{ref} not found")
        return row

    def _create_artifact_version(
        self,
        name: str,
        type: str,
        digest: str,
        files: list[ArtifactFile],
        description: str | None,
        metadata: dict[str, Any],
        producer_run_id: str | None,
        aliases: list[str],
    ) -> tuple[ArtifactVersion, bool]:
        def create(conn: Connection) -> tuple[ArtifactVersion, bool]:
            now = _now()
            insert_ignore(
                conn,
                artifact_collections,
                [{"name": name, "type": type, "creation_time": now, "last_update_time": now}],
                ["name"],
            )
            collection = self._collection(conn, name, lock=True)
            if collection.type != type:
                raise InvalidInputError(
                    f"artifact {name!r} has type {collection.type!r}; a version cannot be {type!r}",
                    field="type",
                )
            pk = collection.collection_pk
            existing = conn.execute(
                select(artifact_versions.c.version).where(
                    artifact_versions.c.collection_pk == pk, artifact_versions.c.digest == digest
                )
            ).scalar()
            created = existing is None
            if created:
                top = conn.execute(
                    select(func.max(artifact_versions.c.version)).where(
                        artifact_versions.c.collection_pk == pk
                    )
                ).scalar()
                number = 0 if top is None else int(top) + 1
                conn.execute(
                    insert(artifact_versions).values(
                        collection_pk=pk,
                        version=number,
                        digest=digest,
                        description=description,
                        metadata=json.dumps(metadata, sort_keys=True, default=str),
                        producer_run_id=producer_run_id,
                        size=sum(f.size or 0 for f in files),
                        file_count=len(files),
                        creation_time=now,
                    )
                )
                if files:
                    conn.execute(
                        insert(artifact_version_files),
                        [
                            {
                                "collection_pk": pk,
                                "version": number,
                                "path": f.path,
                                "sha256": f.sha256,
                                "size": f.size,
                                "ref": f.ref,
                            }
                            for f in files
                        ],
                    )
            else:
                number = int(existing or 0)
                _check_same_files(conn, pk, name, number, files)
            if producer_run_id is not None:
                _link(conn, pk, number, producer_run_id, "produced")
            if aliases:
                upsert(
                    conn,
                    artifact_aliases,
                    [{"collection_pk": pk, "alias": a, "version": number} for a in aliases],
                    ["collection_pk", "alias"],
                    ["version"],
                )
            row = conn.execute(
                _versions_query().where(
                    artifact_versions.c.collection_pk == pk,
                    artifact_versions.c.version == number,
                )
            ).first()
            return _load(conn, [row])[0], created

        return self._tx.run(create)

    def _get_artifact_version(self, name: str, version: str) -> ArtifactVersion:
        return self._tx.read(
            lambda conn: _load(conn, [self._resolve_version(conn, name, version)])[0]
        )

    def _list_artifact_versions(self, name: str) -> list[ArtifactVersion]:
        def read(conn: Connection) -> list[ArtifactVersion]:
            pk = self._collection(conn, name).collection_pk
            rows = conn.execute(
                _versions_query()
                .where(artifact_versions.c.collection_pk == pk)
                .order_by(artifact_versions.c.version)
            ).all()
            return _load(conn, rows)

        return self._tx.read(read)

    def _list_artifact_collections(self, type: str | None) -> list[ArtifactVersion]:
        def read(conn: Connection) -> list[ArtifactVersion]:
            newest = (
                select(
                    artifact_versions.c.collection_pk,
                    func.max(artifact_versions.c.version).label("version"),
                )
                .group_by(artifact_versions.c.collection_pk)
                .subquery()
            )
            query = _versions_query().join(
                newest,
                (newest.c.collection_pk == artifact_versions.c.collection_pk)
                & (newest.c.version == artifact_versions.c.version),
            )
            if type is not None:
                query = query.where(artifact_collections.c.type == type)
            return _load(conn, conn.execute(query.order_by(artifact_collections.c.name)).all())

        return self._tx.read(read)

    def _set_artifact_alias(self, name: str, alias: str, version: int) -> None:
        def apply(conn: Connection) -> None:
            row = self._resolve_version(conn, name, f"v{version}")
            upsert(
                conn,
                artifact_aliases,
                [{"collection_pk": row.collection_pk, "alias": alias, "version": version}],
                ["collection_pk", "alias"],
                ["version"],
            )

        self._tx.run(apply)

    def _record_artifact_use(self, name: str, version: str, run_id: str) -> ArtifactVersion:
        def apply(conn: Connection) -> ArtifactVersion:
            row = self._resolve_version(conn, name, version)
            _link(conn, row.collection_pk, row.version, run_id, "used")
            return _load(conn, [row])[0]

        return self._tx.run(apply)

    def _artifact_runs(self, name: str, version: int) -> tuple[list[str], list[str]]:
        def read(conn: Connection) -> tuple[list[str], list[str]]:
            row = self._resolve_version(conn, name, f"v{version}")
            links = conn.execute(
                select(artifact_links.c.run_id, artifact_links.c.relation)
                .where(
                    artifact_links.c.collection_pk == row.collection_pk,
                    artifact_links.c.version == row.version,
                )
                .order_by(artifact_links.c.link_time, artifact_links.c.run_id)
            ).all()
            return (
                [r.run_id for r in links if r.relation == "produced"],
                [r.run_id for r in links if r.relation == "used"],
            )

        return self._tx.read(read)

    def _artifacts_used_by_runs(self, run_ids: list[str]) -> dict[str, list[ArtifactVersion]]:
        def read(conn: Connection) -> dict[str, list[ArtifactVersion]]:
            found: dict[str, list[ArtifactVersion]] = {}
            for part in chunked(sorted(set(run_ids))):
                rows = conn.execute(
                    _versions_query()
                    .add_columns(artifact_links.c.run_id.label("user_run_id"))
                    .join(
                        artifact_links,
                        (artifact_links.c.collection_pk == artifact_versions.c.collection_pk)
                        & (artifact_links.c.version == artifact_versions.c.version),
                    )
                    .where(artifact_links.c.run_id.in_(part), artifact_links.c.relation == "used")
                    .order_by(artifact_links.c.link_time, artifact_collections.c.name)
                ).all()
                for row, version in zip(rows, _load(conn, rows), strict=True):
                    found.setdefault(row.user_run_id, []).append(version)
            return found

        return self._tx.read(read)

    def _artifacts_of_run(self, run_id: str) -> tuple[list[ArtifactVersion], list[ArtifactVersion]]:
        def read(conn: Connection) -> tuple[list[ArtifactVersion], list[ArtifactVersion]]:
            def linked(relation: str) -> list[Any]:
                return list(
                    conn.execute(
                        _versions_query()
                        .join(
                            artifact_links,
                            (artifact_links.c.collection_pk == artifact_versions.c.collection_pk)
                            & (artifact_links.c.version == artifact_versions.c.version),
                        )
                        .where(
                            artifact_links.c.run_id == run_id, artifact_links.c.relation == relation
                        )
                    ).all()
                )

            return _load(conn, linked("produced")), _load(conn, linked("used"))

        return self._tx.read(read)
