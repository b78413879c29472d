"""Alembic migrations of the SQL store; run by ``mlcore.stores.sql.migrate``."""
