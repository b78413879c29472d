"""Bring a database to the schema this code expects, safely under concurrent first use.

The common case (already at head) costs one ``SELECT`` and never imports Alembic. Otherwise
the upgrade runs inside one write transaction — SQLite's ``BEGIN IMMEDIATE`` or a PostgreSQL
advisory lock — so four processes opening a fresh store at once migrate it exactly once.
"""

from __future__ import annotations

import os

from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import DBAPIError

from mlcore.errors import StoreError
from mlcore.stores.foreign import is_mlflow_tables, refuse_mlflow
from mlcore.stores.sql.schema import SCHEMA_REVISION
from mlcore.uris import redact_uri

__all__ = ["current_revision", "known_revisions", "upgrade"]

_MIGRATIONS = os.path.join(os.path.dirname(__file__), "migrations")
_PG_LOCK_KEY = 0x6D6C636F7265  # "mlcore"


def current_revision(conn: Connection) -> str | None:
    """The Alembic revision stamped in the database, None for an empty one."""
    try:
        with conn.begin_nested():
            row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
    except DBAPIError:
        return None
    return row[0] if row else None


def _alembic_config(conn: Connection) -> object:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", _MIGRATIONS)
    config.attributes["connection"] = conn
    return config


def known_revisions() -> list[str]:
    """Every revision of the migration history, oldest first."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", _MIGRATIONS)
    script = ScriptDirectory.from_config(config)
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def upgrade(engine: Engine, target: str = "head") -> None:
    """Migrate the database behind ``engine`` to ``target`` (default: head) if needed.

    Raises:
        StoreError: the database was written by a newer mlcore (unknown revision).
    """
    if target == "head":
        with engine.connect() as conn:
            conn.execution_options(mlcore_write=False)
            with conn.begin():
                if current_revision(conn) == SCHEMA_REVISION:
                    return
    from alembic import command

    with engine.connect() as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
        current = current_revision(conn)
        if current == SCHEMA_REVISION and target == "head":
            return
        if current is not None and current not in known_revisions():
            tables = inspect(conn).get_table_names()
            columns = (
                [c["name"] for c in inspect(conn).get_columns("runs")] if "runs" in tables else []
            )
            if is_mlflow_tables(tables, columns):
                refuse_mlflow(redact_uri(engine.url.render_as_string(hide_password=True)))
            raise StoreError(
                f"the database schema is at revision {current!r}, which this mlcore does "
                f"not know (it expects {SCHEMA_REVISION!r}); upgrade mlcore"
            )
        command.upgrade(_alembic_config(conn), target)  # type: ignore[arg-type]
