"""Configuration models for storage backends (kv and sql) and the stores that use them."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SqliteKVConfig(_Strict):
    """A key-value store in a SQLite file (WAL mode, safe across processes)."""

    type: Literal["kv_sqlite"] = "kv_sqlite"
    db_path: str = Field(
        "kvstore.db", description="File path; relative paths live in the stack's data dir."
    )


class PostgresConnection(_Strict):
    host: str = "localhost"
    port: int = 5432
    db: str = "llama_workbench"
    user: str = "postgres"
    password: SecretStr | None = None


class PostgresKVConfig(PostgresConnection):
    """A key-value store in one PostgreSQL table."""

    type: Literal["kv_postgres"] = "kv_postgres"
    table_name: str = "llama_workbench_kvstore"


class RedisKVConfig(_Strict):
    """A key-value store in a Redis server (Llama Stack 0.7.3's kv_redis, plus db and password)."""

    type: Literal["kv_redis"] = "kv_redis"
    host: str = "localhost"
    port: int = Field(6379, ge=1, le=65535)
    namespace: str | None = Field(
        None, description="Every key is prefixed with this and ':' (default: llama_workbench)."
    )
    db: int = Field(0, ge=0, description="The Redis database number.")
    password: SecretStr | None = Field(None, description="Sent with AUTH when set.")


class SqliteSqlConfig(_Strict):
    """A relational store in a SQLite file (WAL mode, safe across processes)."""

    type: Literal["sql_sqlite"] = "sql_sqlite"
    db_path: str = Field(
        "sql_store.db", description="File path; relative paths live in the stack's data dir."
    )


class PostgresSqlConfig(PostgresConnection):
    """A relational store in a PostgreSQL database."""

    type: Literal["sql_postgres"] = "sql_postgres"


KVBackendConfig = SqliteKVConfig | PostgresKVConfig | RedisKVConfig
SqlBackendConfig = SqliteSqlConfig | PostgresSqlConfig
BackendConfig = Annotated[
    SqliteKVConfig | PostgresKVConfig | RedisKVConfig | SqliteSqlConfig | PostgresSqlConfig,
    Field(discriminator="type"),
]


class KVStoreRef(_Strict):
    """A namespace inside a kv backend."""

    backend: str
    namespace: str


class SqlStoreRef(_Strict):
    """A table inside a sql backend."""

    backend: str
    table_name: str


class InferenceStoreRef(SqlStoreRef):
    """The stored chat completions table, with Llama Stack's write-queue bound."""

    max_write_queue_size: int = Field(
        10_000, ge=1, description="Completions waiting to be written; beyond it callers wait."
    )


StoreRef = KVStoreRef | SqlStoreRef | InferenceStoreRef


def _default_backends() -> dict[str, BackendConfig]:
    return {"kv_default": SqliteKVConfig(), "sql_default": SqliteSqlConfig()}


def _default_stores() -> dict[str, StoreRef]:
    return {"metadata": KVStoreRef(backend="kv_default", namespace="registry")}


class StorageConfig(_Strict):
    """Named backends, and the stores of the stack that live in them."""

    backends: dict[str, BackendConfig] = Field(default_factory=_default_backends)
    stores: dict[str, StoreRef] = Field(default_factory=_default_stores)
