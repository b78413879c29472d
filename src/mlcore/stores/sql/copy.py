"""Copy every row of one SQL store into another (``mlcore store copy``), ids and all.

Both databases are at the schema head, so the copy is table by table in foreign-key order,
streamed in batches, inside one destination transaction: a failure leaves the destination as
it was. Integer keys are kept (so ``runs:/``, ``models:/name/3`` and experiment ids mean the
same afterwards) and PostgreSQL's sequences are moved past them. URIs that point into artifact
roots (experiment locations, run artifact URIs, model-version sources, artifact-version
references) are rewritten by ``remap``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, text

from mlcore.errors import AlreadyExistsError
from mlcore.stores.sql.schema import metadata

__all__ = ["URI_COLUMNS", "copy_tables", "count_rows", "require_empty"]

BATCH = 1000

#: (table, column) holding URIs the copy rewrites.
URI_COLUMNS = {
    ("experiments", "artifact_location"),
    ("runs", "artifact_uri"),
    ("model_versions", "source"),
    ("artifact_version_files", "ref"),
}


def count_rows(conn: Connection) -> dict[str, int]:
    """Rows per table (every table of the schema)."""
    return {
        table.name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
        for table in metadata.sorted_tables
    }


def require_empty(conn: Connection, what: str) -> None:
    """Raise AlreadyExistsError unless every table of ``conn``'s database is empty."""
    filled = {name: n for name, n in count_rows(conn).items() if n}
    if filled:
        listing = ", ".join(f"{n} {name}" for name, n in sorted(filled.items()))
        raise AlreadyExistsError(
            f"{what} is not empty ({listing}); copy into a new, empty database so nothing "
            "stored there is mixed up or lost"
        )


def copy_tables(
    source: Engine,
    target: Engine,
    *,
    remap: Callable[[str], str],
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, int]:
    """Copy all rows from ``source`` to ``target`` (which must be empty); returns rows per table.

    ``progress(table, rows)`` is called after each batch.
    """
    copied: dict[str, int] = {}
    with source.connect() as src, target.connect() as dst:
        src.execution_options(mlcore_write=False)
        with src.begin(), dst.begin():
            require_empty(dst, "the destination store")
            for table in metadata.sorted_tables:
                uri_columns = [c for (t, c) in URI_COLUMNS if t == table.name]
                result = src.execution_options(stream_results=True, yield_per=BATCH).execute(
                    select(table)
                )
                total = 0
                for partition in result.mappings().partitions(BATCH):
                    rows: list[dict[str, Any]] = [dict(row) for row in partition]
                    for row in rows:
                        for column in uri_columns:
                            if row[column]:
                                row[column] = remap(row[column])
                    dst.execute(insert(table), rows)
                    total += len(rows)
                    if progress is not None:
                        progress(table.name, len(rows))
                copied[table.name] = total
            if dst.dialect.name == "postgresql":
                _advance_sequences(dst)
    return copied


def _advance_sequences(conn: Connection) -> None:
    """Move each serial column's sequence past the ids copied in."""
    for table in metadata.sorted_tables:
        for column in table.primary_key.columns:
            if column.autoincrement is not True:
                continue
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'), "
                    f"COALESCE((SELECT MAX({column.name}) FROM {table.name}), 0) + 1, false)"
                )
            )
