"""StorageManager behaviours, shared by every backend (ManagerContract), run here on SQLite."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from llama_workbench.core.errors import ConfigError, MissingDependencyError, StorageError
from llama_workbench.storage import (
    ColumnType,
    KVStoreRef,
    NamespacedKVStore,
    PostgresKVConfig,
    PostgresSqlConfig,
    SqliteKVConfig,
    SqliteSqlConfig,
    SqlStoreRef,
    StorageConfig,
    StorageManager,
)
from llama_workbench.storage.config import BackendConfig


def storage_config(kv: BackendConfig, sql: BackendConfig) -> StorageConfig:
    """Backends `kv` and `sql`, and stores: two kv namespaces and one sql table."""
    return StorageConfig(
        backends={"kv": kv, "sql": sql},
        stores={
            "registry": KVStoreRef(backend="kv", namespace="registry"),
            "agents": KVStoreRef(backend="kv", namespace="agents"),
            "responses": SqlStoreRef(backend="sql", table_name="responses"),
        },
    )


class ManagerContract:
    """What the manager does over any backend; a subclass provides the `config` fixture."""

    @pytest.fixture
    async def manager(self, config: StorageConfig, tmp_path: Path) -> AsyncIterator[StorageManager]:
        manager = StorageManager(config, tmp_path / "data")
        yield manager
        await manager.close()

    async def test_kv_by_store_name_and_by_ref(self, manager: StorageManager) -> None:
        registry = await manager.kv("registry")
        await registry.set("model:a", "1")
        same = await manager.kv(KVStoreRef(backend="kv", namespace="registry"))
        assert await same.get("model:a") == "1"
        assert await same.keys_with_prefix("model:") == ["model:a"]

    async def test_namespaces_share_one_backend_but_not_keys(self, manager: StorageManager) -> None:
        registry, agents = await manager.kv("registry"), await manager.kv("agents")
        assert isinstance(registry, NamespacedKVStore) and isinstance(agents, NamespacedKVStore)
        assert registry.inner is agents.inner
        await registry.set("k", "r")
        await agents.set("k", "a")
        assert (await registry.get("k"), await agents.get("k")) == ("r", "a")
        assert await agents.items_with_prefix("") == [("k", "a")]

    async def test_concurrent_first_use_creates_one_backend(self, manager: StorageManager) -> None:
        stores = await asyncio.gather(*(manager.kv(n) for n in ["registry", "agents"] * 5))
        inners = {id(s.inner) for s in stores if isinstance(s, NamespacedKVStore)}
        assert len(inners) == 1
        sqls = await asyncio.gather(*(manager.sql("sql") for _ in range(5)))
        assert len({id(s) for s in sqls}) == 1

    async def test_sql_by_backend_name_and_by_ref(self, manager: StorageManager) -> None:
        ref = manager.config.stores["responses"]
        assert isinstance(ref, SqlStoreRef)
        sql = await manager.sql(ref)
        assert sql is await manager.sql("sql")
        await sql.create_table(ref.table_name, {"id": ColumnType.STRING, "body": ColumnType.JSON})
        await sql.insert(ref.table_name, {"id": "r1", "body": {"output": ["hi"]}})
        assert (await sql.fetch_one(ref.table_name, {"id": "r1"}) or {})["body"] == {
            "output": ["hi"]
        }

    async def test_unknown_names_list_what_exists(self, manager: StorageManager) -> None:
        with pytest.raises(ConfigError, match=r"Unknown store 'nope'.*agents, registry, responses"):
            await manager.kv("nope")
        with pytest.raises(ConfigError, match=r"Unknown kv backend 'gone'.*: kv"):
            await manager.kv(KVStoreRef(backend="gone", namespace="x"))
        with pytest.raises(ConfigError, match=r"Unknown sql backend 'gone'.*: sql"):
            await manager.sql("gone")

    async def test_kind_mismatches_are_config_errors(self, manager: StorageManager) -> None:
        with pytest.raises(ConfigError, match=r"'sql' is a sql_.* not a kv backend.*: kv"):
            await manager.kv(KVStoreRef(backend="sql", namespace="x"))
        with pytest.raises(ConfigError, match=r"'kv' is a kv_.* not a sql backend.*: sql"):
            await manager.sql("kv")
        with pytest.raises(ConfigError, match="'responses' is a sql store"):
            await manager.kv("responses")

    async def test_close_closes_every_backend(self, manager: StorageManager) -> None:
        kv = await manager.kv("registry")
        sql = await manager.sql("sql")
        await sql.create_table("t", {"id": ColumnType.STRING})
        await manager.close()
        with pytest.raises(StorageError, match="closed"):
            await kv.get("k")
        # A later call opens the backend afresh.
        again = await manager.kv("registry")
        await again.set("k", "v")
        assert await again.get("k") == "v"


class TestSqliteManager(ManagerContract):
    @pytest.fixture
    def config(self) -> StorageConfig:
        return storage_config(SqliteKVConfig(db_path="kv/store.db"), SqliteSqlConfig())

    async def test_relative_paths_live_under_data_dir(
        self, manager: StorageManager, tmp_path: Path
    ) -> None:
        await (await manager.kv("registry")).set("k", "v")
        sql = await manager.sql("sql")
        await sql.create_table("t", {"id": ColumnType.STRING})
        assert (tmp_path / "data" / "kv" / "store.db").is_file()
        assert (tmp_path / "data" / "sql_store.db").is_file()


def test_default_config_works_out_of_the_box(tmp_path: Path) -> None:
    async def use() -> None:
        manager = StorageManager(StorageConfig(), tmp_path)
        try:
            await (await manager.kv("metadata")).set("k", "v")
            await (await manager.sql("sql_default")).create_table("t", {"id": ColumnType.STRING})
        finally:
            await manager.close()

    asyncio.run(use())
    assert (tmp_path / "kvstore.db").is_file() and (tmp_path / "sql_store.db").is_file()


def test_resolve_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    manager = StorageManager(StorageConfig(), tmp_path / "data")
    assert manager.resolve_path("a/b/c.db") == tmp_path / "data" / "a" / "b" / "c.db"
    assert (tmp_path / "data" / "a" / "b").is_dir()
    assert manager.resolve_path("~/x/y.db") == tmp_path / "home" / "x" / "y.db"
    assert (tmp_path / "home" / "x").is_dir()
    absolute = tmp_path / "abs" / "z.db"
    assert manager.resolve_path(absolute) == absolute
    assert manager.resolve_path(":memory:") == Path(":memory:")


async def test_missing_asyncpg_surfaces_on_first_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "asyncpg", None)
    manager = StorageManager(storage_config(PostgresKVConfig(), PostgresSqlConfig()), tmp_path)
    with pytest.raises(MissingDependencyError, match="pip install"):
        await manager.kv("registry")
    with pytest.raises(MissingDependencyError, match="pip install"):
        await manager.sql("sql")
    await manager.close()


async def test_a_failed_backend_is_not_cached(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a directory should be")
    config = storage_config(SqliteKVConfig(db_path=str(blocker / "kv.db")), SqliteSqlConfig())
    manager = StorageManager(config, tmp_path)
    with pytest.raises(StorageError, match="'kv'"):
        await manager.kv("registry")
    blocker.unlink()
    await (await manager.kv("registry")).set("k", "v")
    await manager.close()
