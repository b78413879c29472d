"""The built-in metadata stores run the StoreConformance suite (tracking, registry and
artifact versions): SQLite (file and memory), the directory store, and real PostgreSQL and
MariaDB servers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mlcore.stores import MetadataStore, resolve_store
from mlcore.stores.file import FileStore
from mlcore.stores.sql import SqlStore
from mlcore.testing import StoreConformance


class TestSqliteFile(StoreConformance):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[MetadataStore]:
        store = SqlStore(f"sqlite:///{tmp_path}/meta.db")
        yield store
        store.close()


class TestSqliteMemory(StoreConformance):
    @pytest.fixture
    def store(self) -> Iterator[MetadataStore]:
        store = SqlStore("sqlite:///:memory:")
        yield store
        store.close()


class TestDirectoryStore(StoreConformance):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[MetadataStore]:
        store = resolve_store(str(tmp_path / "home"))
        assert isinstance(store, FileStore)
        yield store
        store.close()


@pytest.mark.postgres
class TestPostgres(StoreConformance):
    @pytest.fixture
    def store(self, pg_url: str) -> Iterator[MetadataStore]:
        store = resolve_store(pg_url)
        yield store
        store.close()


@pytest.mark.mysql
class TestMariaDb(StoreConformance):
    @pytest.fixture
    def store(self, mysql_url: str) -> Iterator[MetadataStore]:
        store = resolve_store(mysql_url)
        yield store
        store.close()
