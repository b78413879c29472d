"""The SQL metadata store: SQLite (embedded default), PostgreSQL and MySQL via SQLAlchemy.

Modules: ``store`` (SqlStore), ``schema`` (tables), ``engine`` (connections, transactions
with retry), ``migrate`` + ``migrations/`` (Alembic), ``filter_sql`` (search to SQL),
``metric_codec`` (packed metric chunks), ``rows`` (rows to entities), ``upsert``.
"""

from mlcore.stores.sql.store import SqlStore

__all__ = ["SqlStore"]
