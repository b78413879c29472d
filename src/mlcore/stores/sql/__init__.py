"""The SQL metadata store: SQLite (embedded default), PostgreSQL and MySQL via SQLAlchemy.

Modules: ``store`` (SqlStore), ``schema`` (tables), ``engine`` (connections, transactions
with retry), ``migrate`` + ``migrations/`` (Alembic), ``filter_sql`` (search to SQL),
``metric_codec`` (packed metric chunks), ``rows`` (rows to entities), ``upsert``,
``registry_ops`` / ``artifact_version_ops`` (the registry and artifact-version hooks), and
``admin`` + ``copy`` (``mlcore store migrate`` / ``mlcore store copy``).
"""

from mlcore.stores.sql.store import SqlStore

__all__ = ["SqlStore"]
