"""StorageManager: opens each configured backend once, lazily, and hands out stores over it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from llama_workbench.core.errors import ConfigError, StorageError
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
from llama_workbench.storage.redis_kv import RedisKVStore  # redis itself loads on first use
from llama_workbench.storage.sql import SqlStore

KVBackend = SqliteKVStore | PostgresKVStore | RedisKVStore

_KV_TYPES = (SqliteKVConfig, PostgresKVConfig, RedisKVConfig)
_SQL_TYPES = (SqliteSqlConfig, PostgresSqlConfig)


def _names(names: list[str]) -> str:
    return ", ".join(sorted(names)) if names else "(none)"


class StorageManager:
    """The backends of a `StorageConfig`: one shared instance per backend name.

    Safe for concurrent use: coroutines asking for the same backend at once get one instance.
    """

    def __init__(self, config: StorageConfig, data_dir: Path) -> None:
        self._config = config
        self._data_dir = Path(data_dir).expanduser()
        self._kv_backends: dict[str, KVBackend] = {}
        self._sql_backends: dict[str, SqlStore] = {}
        self._lock = asyncio.Lock()

    @property
    def config(self) -> StorageConfig:
        return self._config

    @property
    def data_dir(self) -> Path:
        return self._data_dir

    def resolve_path(self, p: str | Path) -> Path:
        """`~` expanded, relative paths under data_dir; the parent directory is created."""
        if str(p) == ":memory:":
            return Path(":memory:")
        path = Path(p).expanduser()
        if not path.is_absolute():
            path = self._data_dir / path
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def _backend_path(self, name: str, db_path: str) -> Path:
        try:
            return self.resolve_path(db_path)
        except OSError as exc:
            raise StorageError(
                f"Backend '{name}': can't create the folder for {db_path}: {exc}"
            ) from exc

    def _kv_names(self) -> list[str]:
        return [n for n, c in self._config.backends.items() if isinstance(c, _KV_TYPES)]

    def _sql_names(self) -> list[str]:
        return [n for n, c in self._config.backends.items() if isinstance(c, _SQL_TYPES)]

    def _store_ref(self, name: str) -> KVStoreRef | SqlStoreRef:
        ref = self._config.stores.get(name)
        if ref is None:
            raise ConfigError(
                f"Unknown store '{name}'. Configured stores: {_names(list(self._config.stores))}."
            )
        return ref

    async def kv(self, ref_or_store_name: KVStoreRef | str) -> KVStore:
        """A namespaced view of the kv backend a ref (or a store named in config.stores) names."""
        ref = ref_or_store_name
        if isinstance(ref, str):
            found = self._store_ref(ref)
            if not isinstance(found, KVStoreRef):
                raise ConfigError(
                    f"Store '{ref}' is a sql store (table '{found.table_name}'), not a kv store."
                )
            ref = found
        backend = await self._kv_backend(ref.backend)
        return NamespacedKVStore(backend, ref.namespace)

    async def sql(self, backend_name_or_ref: SqlStoreRef | str) -> SqlStore:
        """The SqlStore of a sql backend (by name, or the backend of a SqlStoreRef)."""
        name = (
            backend_name_or_ref.backend
            if isinstance(backend_name_or_ref, SqlStoreRef)
            else backend_name_or_ref
        )
        self._check_kind(name, "sql")
        async with self._lock:
            if name not in self._sql_backends:
                self._sql_backends[name] = self._new_sql(name)
            return self._sql_backends[name]

    def _check_kind(self, name: str, kind: str) -> None:
        expected, names = (
            (_KV_TYPES, self._kv_names) if kind == "kv" else (_SQL_TYPES, self._sql_names)
        )
        config = self._config.backends.get(name)
        if config is None:
            raise ConfigError(
                f"Unknown {kind} backend '{name}'. Configured {kind} backends: {_names(names())}."
            )
        if not isinstance(config, expected):
            raise ConfigError(
                f"Backend '{name}' is a {config.type} backend, not a {kind} backend. "
                f"Configured {kind} backends: {_names(names())}."
            )

    async def _kv_backend(self, name: str) -> KVBackend:
        self._check_kind(name, "kv")
        async with self._lock:
            if name not in self._kv_backends:
                store = self._new_kv(name)
                # Open now, under the lock, so a bad config fails here and is not cached.
                await store.open()
                self._kv_backends[name] = store
            return self._kv_backends[name]

    def _new_kv(self, name: str) -> KVBackend:
        config = self._config.backends[name]
        if isinstance(config, SqliteKVConfig):
            return SqliteKVStore(self._backend_path(name, config.db_path), name=name)
        if isinstance(config, PostgresKVConfig):
            return PostgresKVStore(config, name=name)
        if isinstance(config, RedisKVConfig):
            return RedisKVStore(config, name=name)
        raise ConfigError(f"Backend '{name}' is not a kv backend.")

    def _new_sql(self, name: str) -> SqlStore:
        config = self._config.backends[name]
        if isinstance(config, SqliteSqlConfig):
            path = str(self._backend_path(name, config.db_path))
            return SqlStore(config.model_copy(update={"db_path": path}), name=name)
        if isinstance(config, PostgresSqlConfig):
            return SqlStore(config, name=name)
        raise ConfigError(f"Backend '{name}' is not a sql backend.")

    async def close(self) -> None:
        """Close every backend opened so far; failures are raised after all were tried."""
        async with self._lock:
            stores: list[KVBackend | SqlStore] = [
                *self._kv_backends.values(),
                *self._sql_backends.values(),
            ]
            self._kv_backends.clear()
            self._sql_backends.clear()
        results = await asyncio.gather(*(s.close() for s in stores), return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            raise StorageError(
                f"{len(failures)} storage backend(s) failed to close: {failures[0]}"
            ) from failures[0]
