"""The model registry of the SQL store (mixed into ``SqlStore``).

Version numbers: inside the transaction that inserts a version, the model's row is locked
(``SELECT ... FOR UPDATE`` on PostgreSQL/MySQL; SQLite's ``BEGIN IMMEDIATE`` already
serialises writers) and the next number is ``max(version) + 1``. A failed registration rolls
back entirely, so numbers stay unique and gap-free under concurrent writers.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal,
    select,
    union_all,
    update,
)
from sqlalchemy.exc import IntegrityError as SqlIntegrityError

from mlcore.errors import AlreadyExistsError, NotFoundError
from mlcore.filters import Expr, OrderBy
from mlcore.stores.sql.filter_sql import apply_order, compile_filter, model_target, version_target
from mlcore.stores.sql.rows import chunked
from mlcore.stores.sql.schema import (
    model_aliases,
    model_version_tags,
    model_versions,
    registered_model_tags,
    registered_models,
)
from mlcore.stores.sql.upsert import insert_ignore, upsert
from mlcore.types import ModelStage, ModelVersion, ModelVersionStatus, RegisteredModel, build

if TYPE_CHECKING:
    from mlcore.stores.sql.engine import Transactions

__all__ = ["SqlRegistryOps", "load_version", "load_versions"]

_STAGE_ORDER = [s.value for s in ModelStage]
_STAGES = {s.value: s for s in ModelStage}
_STATUSES = {s.value: s for s in ModelVersionStatus}


def _now() -> int:
    return time.time_ns() // 1_000_000


def _version_columns() -> tuple[Any, ...]:
    return (*model_versions.c, registered_models.c.name)


def _versions_query() -> Any:
    return select(*_version_columns()).select_from(
        model_versions.join(
            registered_models, registered_models.c.model_pk == model_versions.c.model_pk
        )
    )


# The hot statements are built once: building SQLAlchemy expressions costs more than running
# them on SQLite, and a reused statement object also hits the compiled cache directly.
_MODEL_PK = select(registered_models.c.model_pk).where(
    registered_models.c.name == bindparam("name")
)
_MODEL_PK_LOCKED = _MODEL_PK.with_for_update()
_MAX_VERSION = select(func.max(model_versions.c.version)).where(
    model_versions.c.model_pk == bindparam("model_pk")
)
_INSERT_VERSION = insert(model_versions)
_INSERT_VERSION_TAGS = insert(model_version_tags)
_TOUCH_MODEL = (
    update(registered_models)
    .where(registered_models.c.model_pk == bindparam("pk"))
    .values(last_update_time=bindparam("now"))
)
_VERSION_ROW = _versions_query().where(
    registered_models.c.name == bindparam("name"),
    model_versions.c.version == bindparam("version"),
)
_VERSION_BY_ALIAS = (
    select(*_version_columns())
    .select_from(
        model_aliases.join(
            model_versions,
            and_(
                model_versions.c.model_pk == model_aliases.c.model_pk,
                model_versions.c.version == model_aliases.c.version,
            ),
        ).join(registered_models, registered_models.c.model_pk == model_versions.c.model_pk)
    )
    .where(
        registered_models.c.name == bindparam("name"), model_aliases.c.alias == bindparam("alias")
    )
)
# a version's tags and aliases in one round trip: ("tag", key, value) and ("alias", name, "")
_VERSION_EXTRAS = union_all(
    select(
        literal("tag").label("kind"),
        model_version_tags.c.key.label("name"),
        model_version_tags.c.value.label("value"),
    ).where(
        model_version_tags.c.model_pk == bindparam("model_pk"),
        model_version_tags.c.version == bindparam("version"),
    ),
    select(
        literal("alias").label("kind"),
        model_aliases.c.alias.label("name"),
        literal("").label("value"),
    ).where(
        model_aliases.c.model_pk == bindparam("model_pk"),
        model_aliases.c.version == bindparam("version"),
    ),
)


def _version_entity(row: Any, tags: dict[str, str], aliases: list[str]) -> ModelVersion:
    return build(
        ModelVersion,
        {
            "name": row.name,
            "version": row.version,
            "stage": _STAGES[row.stage],
            "aliases": aliases,
            "tags": tags,
            "description": row.description,
            "source": row.source,
            "run_id": row.run_id,
            "status": _STATUSES[row.status],
            "manifest_sha256": row.manifest_sha256,
            "creation_time": row.creation_time,
            "last_update_time": row.last_update_time,
            "user": row.user,
        },
    )


def load_version(conn: Connection, row: Any) -> ModelVersion:
    """One version row with its tags and aliases (two keyed lookups)."""
    tags: dict[str, str] = {}
    aliases: list[str] = []
    for kind, name, value in conn.execute(
        _VERSION_EXTRAS, {"model_pk": row.model_pk, "version": row.version}
    ):
        if kind == "tag":
            tags[name] = value
        else:
            aliases.append(name)
    return _version_entity(row, tags, sorted(aliases))


def load_versions(conn: Connection, rows: Sequence[Any]) -> list[ModelVersion]:
    """Entities for version rows (selected with ``_versions_query``), with tags and aliases."""
    if not rows:
        return []
    model_pks = sorted({r.model_pk for r in rows})
    tags: dict[tuple[int, int], dict[str, str]] = {}
    aliases: dict[tuple[int, int], list[str]] = {}
    for part in chunked(model_pks):
        for t in conn.execute(
            select(model_version_tags).where(model_version_tags.c.model_pk.in_(part))
        ):
            tags.setdefault((t.model_pk, t.version), {})[t.key] = t.value
        for a in conn.execute(
            select(model_aliases)
            .where(model_aliases.c.model_pk.in_(part))
            .order_by(model_aliases.c.alias)
        ):
            aliases.setdefault((a.model_pk, a.version), []).append(a.alias)
    return [
        _version_entity(
            r, tags.get((r.model_pk, r.version), {}), aliases.get((r.model_pk, r.version), [])
        )
        for r in rows
    ]


class SqlRegistryOps:
    """Registry methods of ``SqlStore``; relies on ``self._tx`` (Transactions)."""

    _tx: Transactions

    # -- helpers ---------------------------------------------------------------------------------
    @staticmethod
    def _model_pk_of(conn: Connection, name: str, *, lock: bool = False) -> int:
        pk = conn.execute(_MODEL_PK_LOCKED if lock else _MODEL_PK, {"name": name}).scalar()
        if pk is None:
            raise NotFoundError(f"registered model {name!r} not found")
        return int(pk)

    @classmethod
    def _version_row(cls, conn: Connection, name: str, version: int) -> Any:
        row = conn.execute(_VERSION_ROW, {"name": name, "version": version}).first()
        if row is None:
            cls._model_pk_of(conn, name)  # NotFoundError naming the model
            raise NotFoundError(f"model {name!r} has no version {version}")
        return row

    def _load_version(self, conn: Connection, name: str, version: int) -> ModelVersion:
        return load_version(conn, self._version_row(conn, name, version))

    def _load_models(self, conn: Connection, rows: Sequence[Any]) -> list[RegisteredModel]:
        if not rows:
            return []
        pks = [r.model_pk for r in rows]
        tags: dict[int, dict[str, str]] = {}
        aliases: dict[int, dict[str, int]] = {}
        latest_rows: list[Any] = []
        for part in chunked(pks):
            for t in conn.execute(
                select(registered_model_tags).where(registered_model_tags.c.model_pk.in_(part))
            ):
                tags.setdefault(t.model_pk, {})[t.key] = t.value
            for a in conn.execute(select(model_aliases).where(model_aliases.c.model_pk.in_(part))):
                aliases.setdefault(a.model_pk, {})[a.alias] = a.version
            newest = (
                select(
                    model_versions.c.model_pk,
                    model_versions.c.stage,
                    func.max(model_versions.c.version).label("version"),
                )
                .where(model_versions.c.model_pk.in_(part))
                .group_by(model_versions.c.model_pk, model_versions.c.stage)
                .subquery()
            )
            latest_rows.extend(
                conn.execute(
                    _versions_query().join(
                        newest,
                        and_(
                            newest.c.model_pk == model_versions.c.model_pk,
                            newest.c.version == model_versions.c.version,
                        ),
                    )
                ).all()
            )
        latest: dict[str, list[ModelVersion]] = {}
        for version in load_versions(conn, latest_rows):
            latest.setdefault(version.name, []).append(version)
        return [
            build(
                RegisteredModel,
                {
                    "name": r.name,
                    "description": r.description,
                    "tags": tags.get(r.model_pk, {}),
                    "aliases": dict(sorted(aliases.get(r.model_pk, {}).items())),
                    "latest_versions": sorted(
                        latest.get(r.name, []), key=lambda v: _STAGE_ORDER.index(v.stage.value)
                    ),
                    "creation_time": r.creation_time,
                    "last_update_time": r.last_update_time,
                },
            )
            for r in rows
        ]

    def _load_model(self, conn: Connection, name: str) -> RegisteredModel:
        rows = conn.execute(select(registered_models).where(registered_models.c.name == name)).all()
        if not rows:
            raise NotFoundError(f"registered model {name!r} not found")
        return self._load_models(conn, rows)[0]

    @staticmethod
    def _touch_model(conn: Connection, model_pk: int) -> None:
        conn.execute(_TOUCH_MODEL, {"pk": model_pk, "now": _now()})

    # -- registered models -----------------------------------------------------------------------
    def _create_registered_model(
        self, name: str, description: str | None, tags: dict[str, str]
    ) -> RegisteredModel:
        def create(conn: Connection) -> RegisteredModel:
            now = _now()
            try:
                with conn.begin_nested():
                    result = conn.execute(
                        insert(registered_models).values(
                            name=name,
                            description=description,
                            creation_time=now,
                            last_update_time=now,
                        )
                    )
            except SqlIntegrityError:
                raise AlreadyExistsError(f"registered model {name!r} already exists") from None
            assert result.inserted_primary_key is not None
            pk = result.inserted_primary_key[0]
            if tags:
                conn.execute(
                    insert(registered_model_tags),
                    [{"model_pk": pk, "key": k, "value": v} for k, v in tags.items()],
                )
            return self._load_model(conn, name)

        return self._tx.run(create)

    def _get_registered_model(self, name: str) -> RegisteredModel:
        return self._tx.read(lambda conn: self._load_model(conn, name))

    def _rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        def rename(conn: Connection) -> RegisteredModel:
            pk = self._model_pk_of(conn, name)
            taken = conn.execute(
                select(registered_models.c.model_pk).where(registered_models.c.name == new_name)
            ).first()
            if taken is not None:
                raise AlreadyExistsError(f"registered model {new_name!r} already exists")
            conn.execute(
                update(registered_models)
                .where(registered_models.c.model_pk == pk)
                .values(name=new_name, last_update_time=_now())
            )
            return self._load_model(conn, new_name)

        return self._tx.run(rename)

    def _update_registered_model(self, name: str, description: str | None) -> RegisteredModel:
        def apply(conn: Connection) -> RegisteredModel:
            pk = self._model_pk_of(conn, name)
            conn.execute(
                update(registered_models)
                .where(registered_models.c.model_pk == pk)
                .values(description=description, last_update_time=_now())
            )
            return self._load_model(conn, name)

        return self._tx.run(apply)

    def _delete_registered_model(self, name: str) -> None:
        def apply(conn: Connection) -> None:
            pk = self._model_pk_of(conn, name)
            # children first: not every backend honours ON DELETE CASCADE the same way
            for table in (model_aliases, model_version_tags, model_versions, registered_model_tags):
                conn.execute(delete(table).where(table.c.model_pk == pk))
            conn.execute(delete(registered_models).where(registered_models.c.model_pk == pk))

        self._tx.run(apply)

    def _set_registered_model_tags(self, name: str, tags: dict[str, str]) -> None:
        def apply(conn: Connection) -> None:
            pk = self._model_pk_of(conn, name)
            rows = [{"model_pk": pk, "key": k, "value": v} for k, v in tags.items()]
            upsert(conn, registered_model_tags, rows, ["model_pk", "key"], ["value"])
            self._touch_model(conn, pk)

        self._tx.run(apply)

    def _delete_registered_model_tag(self, name: str, key: str) -> None:
        def apply(conn: Connection) -> None:
            pk = self._model_pk_of(conn, name)
            result = conn.execute(
                delete(registered_model_tags).where(
                    registered_model_tags.c.model_pk == pk, registered_model_tags.c.key == key
                )
            )
            if result.rowcount == 0:
                raise NotFoundError(f"registered model {name!r} has no tag {key!r}")

        self._tx.run(apply)

    def _search_registered_models(
        self, expr: Expr | None, order_by: list[OrderBy], max_results: int, offset: int
    ) -> tuple[list[RegisteredModel], bool]:
        target = model_target()
        query = select(registered_models)
        if expr is not None:
            query = query.where(compile_filter(expr, target))
        query = apply_order(query, order_by, target).limit(max_results + 1).offset(offset)

        def read(conn: Connection) -> tuple[list[RegisteredModel], bool]:
            rows = conn.execute(query).all()
            return self._load_models(conn, rows[:max_results]), len(rows) > max_results

        return self._tx.read(read)

    # -- versions --------------------------------------------------------------------------------
    def _create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None,
        tags: dict[str, str],
        description: str | None,
        manifest_sha256: str | None,
        user: str | None,
    ) -> ModelVersion:
        def create(conn: Connection) -> ModelVersion:
            now = _now()
            insert_ignore(
                conn,
                registered_models,
                [
                    {
                        "name": name,
                        "description": None,
                        "creation_time": now,
                        "last_update_time": now,
                    }
                ],
                ["name"],
            )
            pk = self._model_pk_of(conn, name, lock=True)
            number = (conn.execute(_MAX_VERSION, {"model_pk": pk}).scalar() or 0) + 1
            values = {
                "model_pk": pk,
                "version": number,
                "source": source,
                "run_id": run_id,
                "status": ModelVersionStatus.READY.value,
                "stage": ModelStage.NONE.value,
                "description": description,
                "manifest_sha256": manifest_sha256,
                "user": user,
                "creation_time": now,
                "last_update_time": now,
            }
            conn.execute(_INSERT_VERSION, values)
            if tags:
                conn.execute(
                    _INSERT_VERSION_TAGS,
                    [
                        {"model_pk": pk, "version": number, "key": k, "value": v}
                        for k, v in tags.items()
                    ],
                )
            self._touch_model(conn, pk)
            # a new version holds exactly what was inserted: no need to read it back
            return _version_entity(SimpleNamespace(name=name, **values), dict(tags), [])

        return self._tx.run(create)

    def _get_model_version(self, name: str, version: int) -> ModelVersion:
        return self._tx.read(lambda conn: self._load_version(conn, name, version))

    def _update_model_version(
        self, name: str, version: int, description: str | None
    ) -> ModelVersion:
        def apply(conn: Connection) -> ModelVersion:
            row = self._version_row(conn, name, version)
            conn.execute(
                update(model_versions)
                .where(
                    model_versions.c.model_pk == row.model_pk, model_versions.c.version == version
                )
                .values(description=description, last_update_time=_now())
            )
            return self._load_version(conn, name, version)

        return self._tx.run(apply)

    def _delete_model_version(self, name: str, version: int) -> None:
        def apply(conn: Connection) -> None:
            row = self._version_row(conn, name, version)
            for table in (model_aliases, model_version_tags, model_versions):
                conn.execute(
                    delete(table).where(
                        table.c.model_pk == row.model_pk, table.c.version == version
                    )
                )
            self._touch_model(conn, row.model_pk)

        self._tx.run(apply)

    def _transition_stage(
        self, name: str, version: int, stage: str, archive_existing: bool
    ) -> ModelVersion:
        def apply(conn: Connection) -> ModelVersion:
            row = self._version_row(conn, name, version)
            now = _now()
            if archive_existing and stage in (
                ModelStage.STAGING.value,
                ModelStage.PRODUCTION.value,
            ):
                conn.execute(
                    update(model_versions)
                    .where(
                        model_versions.c.model_pk == row.model_pk,
                        model_versions.c.stage == stage,
                        model_versions.c.version != version,
                    )
                    .values(stage=ModelStage.ARCHIVED.value, last_update_time=now)
                )
            conn.execute(
                update(model_versions)
                .where(
                    model_versions.c.model_pk == row.model_pk, model_versions.c.version == version
                )
                .values(stage=stage, last_update_time=now)
            )
            self._touch_model(conn, row.model_pk)
            return self._load_version(conn, name, version)

        return self._tx.run(apply)

    def _set_model_version_tags(self, name: str, version: int, tags: dict[str, str]) -> None:
        def apply(conn: Connection) -> None:
            row = self._version_row(conn, name, version)
            rows = [
                {"model_pk": row.model_pk, "version": version, "key": k, "value": v}
                for k, v in tags.items()
            ]
            upsert(conn, model_version_tags, rows, ["model_pk", "version", "key"], ["value"])

        self._tx.run(apply)

    def _delete_model_version_tag(self, name: str, version: int, key: str) -> None:
        def apply(conn: Connection) -> None:
            row = self._version_row(conn, name, version)
            result = conn.execute(
                delete(model_version_tags).where(
                    model_version_tags.c.model_pk == row.model_pk,
                    model_version_tags.c.version == version,
                    model_version_tags.c.key == key,
                )
            )
            if result.rowcount == 0:
                raise NotFoundError(f"model {name!r} version {version} has no tag {key!r}")

        self._tx.run(apply)

    def _set_model_alias(self, name: str, alias: str, version: int) -> None:
        def apply(conn: Connection) -> None:
            row = self._version_row(conn, name, version)
            upsert(
                conn,
                model_aliases,
                [{"model_pk": row.model_pk, "alias": alias, "version": version}],
                ["model_pk", "alias"],
                ["version"],
            )
            self._touch_model(conn, row.model_pk)

        self._tx.run(apply)

    def _delete_model_alias(self, name: str, alias: str) -> None:
        def apply(conn: Connection) -> None:
            pk = self._model_pk_of(conn, name)
            result = conn.execute(
                delete(model_aliases).where(
                    model_aliases.c.model_pk == pk, model_aliases.c.alias == alias
                )
            )
            if result.rowcount == 0:
                raise NotFoundError(f"model {name!r} has no alias {alias!r}")

        self._tx.run(apply)

    def _get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        def read(conn: Connection) -> ModelVersion:
            row = conn.execute(_VERSION_BY_ALIAS, {"name": name, "alias": alias}).first()
            if row is None:
                self._model_pk_of(conn, name)  # NotFoundError naming the model
                raise NotFoundError(f"model {name!r} has no alias {alias!r}")
            return load_version(conn, row)

        return self._tx.read(read)

    def _get_latest_versions(self, name: str, stages: list[str] | None) -> list[ModelVersion]:
        def read(conn: Connection) -> list[ModelVersion]:
            model = self._load_model(conn, name)
            wanted = stages or _STAGE_ORDER
            return [v for v in model.latest_versions if v.stage.value in wanted]

        return self._tx.read(read)

    def _search_model_versions(
        self, expr: Expr | None, order_by: list[OrderBy], max_results: int, offset: int
    ) -> tuple[list[ModelVersion], bool]:
        target = version_target()
        query = _versions_query()
        if expr is not None:
            query = query.where(compile_filter(expr, target))
        query = apply_order(query, order_by, target).limit(max_results + 1).offset(offset)

        def read(conn: Connection) -> tuple[list[ModelVersion], bool]:
            rows = conn.execute(query).all()
            return load_versions(conn, rows[:max_results]), len(rows) > max_results

        return self._tx.read(read)

    def _model_versions_of_run(self, run_id: str) -> list[ModelVersion]:
        def read(conn: Connection) -> list[ModelVersion]:
            rows = conn.execute(
                _versions_query()
                .where(model_versions.c.run_id == run_id)
                .order_by(registered_models.c.name, model_versions.c.version)
            ).all()
            return load_versions(conn, rows)

        return self._tx.read(read)
