"""The kv, sql and manager behaviours of the SQLite tests, against a real PostgreSQL server."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from llama_workbench.core.errors import StorageError
from llama_workbench.storage import (
    PostgresKVConfig,
    PostgresKVStore,
    PostgresSqlConfig,
    SqlStore,
    StorageConfig,
)
from tests.integration.postgres_server import PostgresServer, fresh_database
from tests.unit.storage.test_kv import KVContract
from tests.unit.storage.test_manager import ManagerContract, storage_config
from tests.unit.storage.test_sql import SqlContract

pytestmark = pytest.mark.postgres


@pytest.fixture
async def pg_database(postgres_server: PostgresServer) -> AsyncIterator[str]:
    """A fresh database per test, dropped afterwards (connections and all)."""
    async with fresh_database(postgres_server) as name:
        yield name


class TestPostgresKV(KVContract):
    @pytest.fixture
    def kv_config(self, postgres_server: PostgresServer, pg_database: str) -> PostgresKVConfig:
        return PostgresKVConfig.model_validate(
            {**postgres_server.connection(pg_database), "table_name": "kv_test"}
        )

    async def test_table_name_is_configurable(self, kv_config: PostgresKVConfig) -> None:
        other = PostgresKVStore(kv_config.model_copy(update={"table_name": "kv_other"}))
        main = PostgresKVStore(kv_config)
        try:
            await main.set("k", "main")
            await other.set("k", "other")
            assert (await main.get("k"), await other.get("k")) == ("main", "other")
        finally:
            await main.close()
            await other.close()

    async def test_wrong_password_is_a_storage_error_without_it(
        self, kv_config: PostgresKVConfig
    ) -> None:
        wrong = "not-the-pw-" + secrets.token_hex(4)
        store = PostgresKVStore(
            kv_config.model_copy(update={"password": SecretStr(wrong)}), name="pg_kv"
        )
        with pytest.raises(StorageError) as info:
            await store.get("k")
        assert "pg_kv" in str(info.value) and "password" in str(info.value)
        assert wrong not in str(info.value)
        await store.close()


class TestPostgresSql(SqlContract):
    @pytest.fixture
    def sql_config(self, postgres_server: PostgresServer, pg_database: str) -> PostgresSqlConfig:
        return PostgresSqlConfig.model_validate(postgres_server.connection(pg_database))

    async def test_wrong_password_is_a_storage_error_without_it(
        self, sql_config: PostgresSqlConfig
    ) -> None:
        wrong = "not-the-pw-" + secrets.token_hex(4)
        store = SqlStore(
            sql_config.model_copy(update={"password": SecretStr(wrong)}), name="pg_sql"
        )
        try:
            with pytest.raises(StorageError) as info:
                await store.fetch_all("items")
            assert "pg_sql" in str(info.value) and wrong not in str(info.value)
        finally:
            await store.close()


class TestPostgresManager(ManagerContract):
    @pytest.fixture
    def config(self, postgres_server: PostgresServer, pg_database: str) -> StorageConfig:
        connection = postgres_server.connection(pg_database)
        return storage_config(
            PostgresKVConfig.model_validate(connection),
            PostgresSqlConfig.model_validate(connection),
        )
