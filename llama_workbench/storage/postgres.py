"""asyncpg pools for what keeps data in PostgreSQL: the driver import, the password, a lazy pool."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from llama_workbench.core.errors import MissingDependencyError
from llama_workbench.storage.config import PostgresConnection


def import_asyncpg(needed_by: str = "postgres storage") -> Any:
    """The asyncpg module, or MissingDependencyError with the pip command."""
    try:
        import asyncpg
    except ImportError as exc:
        raise MissingDependencyError("asyncpg", "postgres", needed_by=needed_by) from exc
    return asyncpg


def password(config: PostgresConnection) -> str | None:
    """The password in clear: to connect with, and to redact from messages."""
    secret = config.password
    return secret.get_secret_value() if secret is not None else None


class PostgresPool:
    """An asyncpg pool made on first use, `setup` run on its first connection; closed once.

    Driver errors pass through (each user words them); `closed()` is raised after `close()`.
    """

    def __init__(
        self,
        config: PostgresConnection,
        setup: Callable[[Any], Awaitable[None]],
        *,
        closed: Callable[[], Exception],
        needed_by: str = "postgres storage",
    ) -> None:
        self.asyncpg = import_asyncpg(needed_by)
        self._config = config
        self._setup = setup
        self._closed_error = closed
        self._pool: Any = None
        self._closed = False
        self._lock = asyncio.Lock()

    async def get(self) -> Any:
        if self._pool is not None:
            return self._pool
        async with self._lock:
            if self._closed:
                raise self._closed_error()
            if self._pool is None:
                self._pool = await self._create()
        return self._pool

    async def _create(self) -> Any:
        cfg = self._config
        pool = await self.asyncpg.create_pool(
            host=cfg.host, port=cfg.port, user=cfg.user, password=password(cfg),
            database=cfg.db, min_size=1, max_size=5, timeout=10,
        )  # fmt: skip
        try:
            async with pool.acquire() as conn:
                await self._setup(conn)
        except BaseException:
            await pool.close()
            raise
        return pool

    async def close(self) -> None:
        """Close the pool (if made) and refuse any later `get()`; closing again is a no-op."""
        async with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()
