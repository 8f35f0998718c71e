"""A key-value store in Redis (kv_redis): values as strings, keys ordered by a sorted-set index."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from llama_workbench.core.errors import MissingDependencyError, StorageError
from llama_workbench.storage.config import RedisKVConfig
from llama_workbench.storage.kv import prefix_upper_bound, redact

_DEFAULT_ROOT = "llama_workbench"
_BATCH = 1000
# Drops index entries whose value key is gone (expired), atomically: a key set again between
# the read and this script keeps its entry. KEYS[1] is the index, ARGV pairs are (member, key).
_PRUNE = """
for i = 1, #ARGV, 2 do
  if redis.call('EXISTS', ARGV[i + 1]) == 0 then redis.call('ZREM', KEYS[1], ARGV[i]) end
end
return 0
"""


def _import_redis() -> Any:
    try:
        import redis.asyncio
        import redis.asyncio.retry
        import redis.backoff
    except ImportError as exc:
        raise MissingDependencyError("redis", "redis", needed_by="kv_redis storage") from exc
    return redis


class RedisKVStore:
    """A KV store in a Redis database, safe across processes and machines.

    Each value is a Redis string (`<root>:v:<key>`, with Redis's own expiry); a sorted set
    (`<root>:i`, all scores 0) lists the keys, so prefix and range queries are ZRANGEBYLEX in
    byte order, which for UTF-8 is code-point order, as the other backends order keys.
    """

    def __init__(self, config: RedisKVConfig, *, name: str = "kv_redis") -> None:
        self._redis = _import_redis()
        self._config = config
        root = config.namespace or _DEFAULT_ROOT
        self._values = f"{root}:v:"
        self._index = f"{root}:i"
        self._label = f"kv backend '{name}' (redis {config.host}:{config.port}/{config.db})"
        self._client: Any = None
        self._closed = False
        self._lock = asyncio.Lock()

    def _password(self) -> str | None:
        secret = self._config.password
        return secret.get_secret_value() if secret is not None else None

    @contextmanager
    def _errors(self, operation: str) -> Iterator[None]:
        try:
            yield
        except (self._redis.RedisError, OSError, TimeoutError) as exc:
            message = redact(f"{self._label}: {operation} failed: {exc}", self._password())
            raise StorageError(message) from exc

    async def open(self) -> None:
        """Connect and check the server answers; idempotent."""
        await self._get_client()

    async def _get_client(self) -> Any:
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._closed:
                raise StorageError(f"{self._label} is closed.")
            if self._client is None:
                cfg = self._config
                # A few quick retries ride out a blip; redis-py's default backs off for
                # seconds, even after a refused password.
                backoff = self._redis.backoff.ExponentialWithJitterBackoff(base=0.05, cap=0.5)
                client = self._redis.asyncio.Redis(
                    host=cfg.host, port=cfg.port, db=cfg.db, password=self._password(),
                    decode_responses=True, socket_connect_timeout=10, socket_timeout=30,
                    retry=self._redis.asyncio.retry.Retry(backoff, 3),
                )  # fmt: skip
                try:
                    with self._errors("connect"):
                        await client.ping()
                except BaseException:
                    await client.aclose()
                    raise
                self._client = client
        return self._client

    async def get(self, key: str) -> str | None:
        client = await self._get_client()
        with self._errors("get"):
            value = await client.get(self._values + key)
        return None if value is None else str(value)

    async def set(self, key: str, value: str, expiration: datetime | None = None) -> None:
        client = await self._get_client()
        at_ms = None
        if expiration is not None:
            at_ms = int(expiration.timestamp() * 1000)
            if at_ms <= int(datetime.now(UTC).timestamp() * 1000):
                await self.delete(key)  # already expired: invisible, as the other backends
                return
        with self._errors("set"):
            async with client.pipeline(transaction=True) as pipe:
                pipe.set(self._values + key, value, pxat=at_ms)  # without: no expiry
                pipe.zadd(self._index, {key: 0})
                await pipe.execute()

    async def delete(self, key: str) -> None:
        client = await self._get_client()
        with self._errors("delete"):
            async with client.pipeline(transaction=True) as pipe:
                pipe.delete(self._values + key)
                pipe.zrem(self._index, key)
                await pipe.execute()

    async def _items(self, low: str, high: str, operation: str) -> list[tuple[str, str]]:
        """(key, value) of the live keys in the lexicographic range, in key order."""
        client = await self._get_client()
        items: list[tuple[str, str]] = []
        with self._errors(operation):
            keys = await client.zrangebylex(self._index, low, high)
            gone: list[str] = []
            for start in range(0, len(keys), _BATCH):
                batch = keys[start : start + _BATCH]
                values = await client.mget([self._values + k for k in batch])
                for key, value in zip(batch, values, strict=True):
                    if value is None:
                        gone.append(key)
                    else:
                        items.append((str(key), str(value)))
            if gone:
                args = [x for k in gone for x in (k, self._values + k)]
                await client.eval(_PRUNE, 1, self._index, *args)
        return items

    async def _prefix(self, prefix: str) -> list[tuple[str, str]]:
        bound = prefix_upper_bound(prefix)
        return await self._items(f"[{prefix}", "+" if bound is None else f"({bound}", "prefix")

    async def keys_with_prefix(self, prefix: str) -> list[str]:
        return [k for k, _ in await self._prefix(prefix)]

    async def items_with_prefix(self, prefix: str) -> list[tuple[str, str]]:
        return await self._prefix(prefix)

    async def values_in_range(self, start_key: str, end_key: str) -> list[str]:
        if start_key > end_key:
            return []
        return [v for _, v in await self._items(f"[{start_key}", f"[{end_key}", "range query")]

    async def close(self) -> None:
        async with self._lock:
            self._closed = True
            client, self._client = self._client, None
        if client is not None:
            with self._errors("close"):
                await client.aclose()
