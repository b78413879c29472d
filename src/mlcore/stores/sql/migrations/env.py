"""Alembic environment: always called by mlcore with a connection in ``config.attributes``."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - mlcore always passes one
    raise RuntimeError("mlcore migrations run through mlcore.stores.sql.migrate.upgrade()")

context.configure(
    connection=connection,
    target_metadata=None,
    render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
