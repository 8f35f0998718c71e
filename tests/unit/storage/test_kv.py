"""KV store behaviours, shared by every backend (KVContract), run here against SQLite."""

from __future__ import annotations

import asyncio
import json
import sys
import textwrap
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from llama_workbench.core.errors import ConfigError, MissingDependencyError, StorageError
from llama_workbench.storage import (
    KVStore,
    NamespacedKVStore,
    PostgresKVConfig,
    PostgresKVStore,
    RedisKVConfig,
    RedisKVStore,
    SqliteKVConfig,
    SqliteKVStore,
)
from llama_workbench.storage.config import BackendConfig
from llama_workbench.storage.kv import prefix_upper_bound

REPO_ROOT = Path(__file__).resolve().parents[3]

# A child process: waits for the go-file, then writes through a StorageManager (so backend
# creation, WAL setup and table creation all race too), and exits non-zero on any error.
WRITER_SCRIPT = textwrap.dedent(
    """
    import asyncio, json, os, sys, time
    from pathlib import Path
    from llama_workbench.storage import StorageConfig, StorageManager

    mode, backend, workdir, tag, count = sys.argv[1:6]
    workdir, count = Path(workdir), int(count)
    config = StorageConfig.model_validate({
        "backends": {"b": json.loads(backend)},
        "stores": {"s": {"backend": "b", "namespace": "shared"}},
    })

    async def write_kv(manager):
        kv = await manager.kv("s")
        for i in range(count):
            await kv.set(f"{tag}-{i:04d}", str(os.getpid()))
            assert await kv.get(f"{tag}-{i:04d}") == str(os.getpid())
            await kv.set("last-writer", tag)

    async def write_sql(manager):
        sql = await manager.sql("b")
        await sql.create_table("events", {"id": "STRING", "n": "INTEGER", "meta": "JSON"})
        for i in range(count):
            await sql.insert("events", {"id": f"{tag}-{i:04d}", "n": i, "meta": {"tag": tag}})
            await sql.fetch_all("events", where={"id": f"{tag}-{i:04d}"})

    async def main():
        (workdir / f"ready-{tag}").touch()
        while not (workdir / "go").exists():
            time.sleep(0.005)
        manager = StorageManager(config, workdir)
        try:
            await (write_kv if mode == "kv" else write_sql)(manager)
        finally:
            await manager.close()

    asyncio.run(main())
    """
)


def backend_json(config: BackendConfig) -> str:
    """The backend config as JSON with its password in clear (pydantic masks SecretStr)."""
    data = config.model_dump(mode="json")
    password = getattr(config, "password", None)
    if password is not None:
        data["password"] = password.get_secret_value()
    return json.dumps(data)


async def run_concurrent_writers(
    mode: str, config: BackendConfig, workdir: Path, tags: list[str], count: int
) -> list[tuple[int, str]]:
    """Start one writer process per tag, release them together; (exit code, stderr) each."""
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            WRITER_SCRIPT,
            mode,
            backend_json(config),
            str(workdir),
            tag,
            str(count),
            cwd=REPO_ROOT,
            stderr=asyncio.subprocess.PIPE,
        )
        for tag in tags
    ]
    try:
        async with asyncio.timeout(60):
            while not all((workdir / f"ready-{tag}").exists() for tag in tags):
                await asyncio.sleep(0.01)
        (workdir / "go").touch()
        async with asyncio.timeout(120):
            results = [await proc.communicate() for proc in procs]
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    return [
        (int(p.returncode or 0), err.decode()) for p, (_, err) in zip(procs, results, strict=True)
    ]


def make_kv(config: Any) -> Any:
    """The store of a backend config, as StorageManager makes it (not yet opened)."""
    if isinstance(config, SqliteKVConfig):
        return SqliteKVStore(config.db_path, name="test")
    if isinstance(config, RedisKVConfig):
        return RedisKVStore(config, name="test")
    return PostgresKVStore(config, name="test")


class KVContract:
    """What every kv backend does; a subclass provides the `kv_config` fixture."""

    @pytest.fixture
    async def kv(self, kv_config: Any) -> AsyncIterator[SqliteKVStore | PostgresKVStore]:
        store = make_kv(kv_config)
        await store.open()
        yield store
        await store.close()

    async def test_satisfies_the_protocol(self, kv: KVStore) -> None:
        assert isinstance(kv, KVStore)
        assert isinstance(NamespacedKVStore(kv, "ns"), KVStore)

    async def test_set_get_overwrite_delete(self, kv: KVStore) -> None:
        assert await kv.get("missing") is None
        await kv.set("k", "v1")
        assert await kv.get("k") == "v1"
        await kv.set("k", "v2")
        assert await kv.get("k") == "v2"
        await kv.delete("k")
        assert await kv.get("k") is None
        await kv.delete("k")  # deleting a missing key is not an error

    async def test_values_keep_unicode_and_large_text(self, kv: KVStore) -> None:
        value = json.dumps({"text": "héllo ✓ 🦙", "blob": "x" * 200_000})
        await kv.set("ключ-🦙", value)
        assert await kv.get("ключ-🦙") == value

    async def test_expired_keys_are_invisible(self, kv: KVStore) -> None:
        now = datetime.now(UTC)
        await kv.set("p:past", "old", expiration=now - timedelta(seconds=1))
        await kv.set("p:future", "new", expiration=now + timedelta(hours=1))
        await kv.set("p:soon", "brief", expiration=now + timedelta(seconds=1))
        await kv.set("p:naive", "local", expiration=datetime.now() + timedelta(hours=1))
        assert await kv.get("p:past") is None
        assert await kv.get("p:future") == "new"
        assert await kv.get("p:naive") == "local"
        assert await kv.get("p:soon") == "brief"
        await asyncio.sleep(1.1)
        assert await kv.get("p:soon") is None
        assert await kv.keys_with_prefix("p:") == ["p:future", "p:naive"]
        assert await kv.values_in_range("p:", "p:~") == ["new", "local"]

    async def test_setting_again_without_expiration_makes_it_permanent(self, kv: KVStore) -> None:
        await kv.set("k", "v", expiration=datetime.now(UTC) - timedelta(seconds=1))
        await kv.set("k", "v2")
        assert await kv.get("k") == "v2"

    async def test_prefix_queries_are_sorted_and_exact(self, kv: KVStore) -> None:
        for key in ["b:2", "a:1", "b:10", "b:1", "b", "bb:1", "B:1", "b:\U0010ffff", "c"]:
            await kv.set(key, f"value-of-{key}")
        expected = ["b:1", "b:10", "b:2", "b:\U0010ffff"]
        assert await kv.keys_with_prefix("b:") == expected
        assert await kv.items_with_prefix("b:") == [(k, f"value-of-{k}") for k in expected]
        assert await kv.keys_with_prefix("zzz") == []
        assert len(await kv.keys_with_prefix("")) == 9

    async def test_prefix_with_like_wildcards_is_literal(self, kv: KVStore) -> None:
        await kv.set("a%b", "1")
        await kv.set("a_b", "2")
        await kv.set("axb", "3")
        assert await kv.keys_with_prefix("a%") == ["a%b"]
        assert await kv.keys_with_prefix("a_") == ["a_b"]

    async def test_values_in_range_is_inclusive_and_sorted(self, kv: KVStore) -> None:
        for i in [5, 1, 3, 2, 4]:
            await kv.set(f"item:{i:03d}", f"v{i}")
        assert await kv.values_in_range("item:002", "item:004") == ["v2", "v3", "v4"]
        assert await kv.values_in_range("item:", "item:\uffff") == [f"v{i}" for i in range(1, 6)]
        assert await kv.values_in_range("item:004", "item:002") == []

    async def test_namespaces_are_isolated(self, kv: KVStore) -> None:
        a, ab, b = (
            NamespacedKVStore(kv, "a"),
            NamespacedKVStore(kv, "ab"),
            NamespacedKVStore(kv, "b"),
        )
        await a.set("k", "from-a")
        await ab.set("k", "from-ab")
        await b.set("x:1", "b1")
        await kv.set("k", "raw")
        assert (await a.get("k"), await ab.get("k"), await kv.get("k")) == (
            "from-a",
            "from-ab",
            "raw",
        )
        assert await a.keys_with_prefix("") == ["k"]
        assert await ab.items_with_prefix("") == [("k", "from-ab")]
        assert await b.keys_with_prefix("x:") == ["x:1"]
        assert await b.values_in_range("x:0", "x:9") == ["b1"]
        assert await a.values_in_range("", "\uffff") == ["from-a"]
        assert await kv.get("a:k") == "from-a"  # the prefix is namespace + ":"
        await a.delete("k")
        assert await ab.get("k") == "from-ab"

    async def test_namespaced_expiration(self, kv: KVStore) -> None:
        ns = NamespacedKVStore(kv, "ns")
        await ns.set("gone", "x", expiration=datetime.now(UTC) - timedelta(seconds=1))
        assert await ns.get("gone") is None
        assert await ns.keys_with_prefix("") == []

    async def test_namespaced_close_leaves_the_backend_open(self, kv: KVStore) -> None:
        ns = NamespacedKVStore(kv, "ns")
        await ns.close()
        await kv.set("still", "open")
        assert await kv.get("still") == "open"

    async def test_concurrent_writes_from_one_process(self, kv: KVStore) -> None:
        await asyncio.gather(*(kv.set(f"c:{i:03d}", str(i)) for i in range(100)))
        assert len(await kv.keys_with_prefix("c:")) == 100

    async def test_use_after_close_is_a_storage_error(self, kv_config: Any) -> None:
        store = make_kv(kv_config)
        await store.set("k", "v")  # opens lazily
        await store.close()
        with pytest.raises(StorageError, match="closed"):
            await store.get("k")

    async def test_data_survives_reopening(self, kv_config: Any) -> None:
        first = make_kv(kv_config)
        await first.set("persist", "yes")
        await first.close()
        second = make_kv(kv_config)
        try:
            assert await second.get("persist") == "yes"
        finally:
            await second.close()

    async def test_processes_write_the_same_store_at_once(
        self, kv_config: Any, tmp_path: Path
    ) -> None:
        # A notebook kernel and a server sharing one store: no "database is locked", no loss.
        results = await run_concurrent_writers("kv", kv_config, tmp_path, ["p1", "p2", "p3"], 150)
        assert [code for code, _ in results] == [0, 0, 0], "\n".join(e for _, e in results)
        store = NamespacedKVStore(make_kv(kv_config), "shared", owns_inner=True)
        try:
            keys = await store.keys_with_prefix("p")
            assert len(keys) == 450
            assert await store.get("last-writer") in {"p1", "p2", "p3"}
        finally:
            await store.close()


class TestSqliteKV(KVContract):
    @pytest.fixture
    def kv_config(self, tmp_path: Path) -> SqliteKVConfig:
        return SqliteKVConfig(db_path=str(tmp_path / "kv.db"))

    async def test_pragmas(self, kv: SqliteKVStore, tmp_path: Path) -> None:
        import sqlite3

        await kv.set("k", "v")
        conn = sqlite3.connect(tmp_path / "kv.db")
        try:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        finally:
            conn.close()

    async def test_unopenable_path_is_a_storage_error(self, tmp_path: Path) -> None:
        store = SqliteKVStore(tmp_path / "no" / "such" / "dir" / "kv.db", name="broken")
        with pytest.raises(StorageError, match="'broken'"):
            await store.get("k")
        await store.close()


def test_prefix_upper_bound() -> None:
    assert prefix_upper_bound("ab") == "ac"
    assert prefix_upper_bound("") is None
    assert prefix_upper_bound("a\U0010ffff") == "b"
    assert prefix_upper_bound("\U0010ffff") is None
    assert prefix_upper_bound("a\ud7ff") == "a\ue000"


def test_empty_namespace_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        NamespacedKVStore(SqliteKVStore(tmp_path / "kv.db"), "")


def test_missing_asyncpg_names_the_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "asyncpg", None)
    with pytest.raises(MissingDependencyError) as info:
        PostgresKVStore(PostgresKVConfig())
    assert "pip install 'llama-workbench[postgres]'" in str(info.value)


def test_postgres_table_name_must_be_an_identifier() -> None:
    with pytest.raises(ConfigError, match="table_name"):
        PostgresKVStore(PostgresKVConfig(table_name="kv; DROP TABLE x"))


async def test_unreachable_postgres_is_a_storage_error_without_the_password(
    unused_tcp_port: int,
) -> None:
    config = PostgresKVConfig(host="127.0.0.1", port=unused_tcp_port, password="s3cr3t-pw")
    store = PostgresKVStore(config, name="pg_kv")
    with pytest.raises(StorageError) as info:
        await store.get("k")
    assert "pg_kv" in str(info.value)
    assert "s3cr3t-pw" not in str(info.value)
    await store.close()
