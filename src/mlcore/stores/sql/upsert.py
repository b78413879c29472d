"""Dialect-specific INSERT variants: insert-or-ignore and upsert (SQLite, PostgreSQL, MySQL)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, func

__all__ = ["insert_ignore", "upsert"]


def _dialect_insert(conn: Connection, table: Table) -> Any:
    name = conn.dialect.name
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert

        return insert(table)
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    if name in ("mysql", "mariadb"):
        from sqlalchemy.dialects.mysql import insert as my_insert

        return my_insert(table)
    raise NotImplementedError(f"upserts are not implemented for the {name} dialect")


# Built statements per (dialect, table, index): building them costs more than running them.
_IGNORE: dict[tuple[str, str, tuple[str, ...]], Any] = {}
_UPSERT: dict[tuple[str, str, tuple[str, ...], tuple[str, ...]], Any] = {}


def insert_ignore(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]], index_elements: list[str]
) -> None:
    """Insert ``rows``; rows that collide with the unique index ``index_elements`` are skipped."""
    if not rows:
        return
    key = (conn.dialect.name, table.name, tuple(index_elements))
    stmt = _IGNORE.get(key)
    if stmt is None:
        stmt = _dialect_insert(conn, table)
        if conn.dialect.name in ("mysql", "mariadb"):
            stmt = stmt.prefix_with("IGNORE")
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=index_elements)
        _IGNORE[key] = stmt
    conn.execute(stmt, list(rows))


def upsert(
    conn: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    index_elements: list[str],
    update_columns: list[str],
    where: Callable[[Any, Table], ColumnElement[bool]] | None = None,
) -> None:
    """Insert ``rows``, or update ``update_columns`` of the existing row.

    Args:
        where: ``where(new, table)`` -> condition under which an existing row is updated;
            ``new`` exposes the proposed values as columns.

    On MySQL assignments run left to right and see earlier ones, so ``update_columns`` should
    list the columns the condition reads last.
    """
    if not rows:
        return
    key = (conn.dialect.name, table.name, tuple(index_elements), tuple(update_columns))
    if where is None and key in _UPSERT:
        conn.execute(_UPSERT[key], list(rows))
        return
    stmt = _dialect_insert(conn, table)
    if conn.dialect.name in ("mysql", "mariadb"):
        new = stmt.inserted
        cond = where(new, table) if where is not None else None
        values = {
            col: (func.IF(cond, new[col], table.c[col]) if cond is not None else new[col])
            for col in update_columns
        }
        stmt = stmt.on_duplicate_key_update(values)
    else:
        new = stmt.excluded
        stmt = stmt.on_conflict_do_update(
            index_elements=index_elements,
            set_={col: new[col] for col in update_columns},
            where=where(new, table) if where is not None else None,
        )
    if where is None:
        _UPSERT[key] = stmt
    conn.execute(stmt, list(rows))
