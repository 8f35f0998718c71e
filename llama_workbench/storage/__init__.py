"""Storage: key-value and relational stores (SQLite by default; PostgreSQL, Redis optional)."""

from __future__ import annotations

from llama_workbench.storage.config import (
    KVStoreRef,
    PostgresKVConfig,
    PostgresSqlConfig,
    RedisKVConfig,
    SqliteKVConfig,
    SqliteSqlConfig,
    SqlStoreRef,
    StorageConfig,
)
from llama_workbench.storage.kv import KVStore, NamespacedKVStore, PostgresKVStore, SqliteKVStore
from llama_workbench.storage.manager import StorageManager
from llama_workbench.storage.redis_kv import RedisKVStore
from llama_workbench.storage.sql import ColumnDefinition, ColumnType, PaginatedRows, SqlStore

__all__ = [
    "ColumnDefinition",
    "ColumnType",
    "KVStore",
    "KVStoreRef",
    "NamespacedKVStore",
    "PaginatedRows",
    "PostgresKVConfig",
    "PostgresKVStore",
    "PostgresSqlConfig",
    "RedisKVConfig",
    "RedisKVStore",
    "SqlStore",
    "SqlStoreRef",
    "SqliteKVConfig",
    "SqliteKVStore",
    "SqliteSqlConfig",
    "StorageConfig",
    "StorageManager",
]
