"""Async key-value stores: the protocol, SQLite and PostgreSQL backends, and namespaced views."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from llama_workbench.core.errors import ConfigError, StorageError
from llama_workbench.storage.config import PostgresKVConfig
from llama_workbench.storage.postgres import PostgresPool, password

if TYPE_CHECKING:
    import aiosqlite

# Long enough that a notebook kernel and a server writing the same file wait for each other
# instead of failing with "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_TABLE = "kvstore"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


@runtime_checkable
class KVStore(Protocol):
    """An async string-to-string store; keys whose expiration has passed are invisible."""

    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str, expiration: datetime | None = None) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def keys_with_prefix(self, prefix: str) -> list[str]: ...

    async def items_with_prefix(self, prefix: str) -> list[tuple[str, str]]: ...

    async def values_in_range(self, start_key: str, end_key: str) -> list[str]: ...

    async def close(self) -> None: ...


def prefix_upper_bound(prefix: str) -> str | None:
    """The smallest string greater than every string starting with `prefix` (None: no bound).

    Both backends order keys by code point (SQLite BINARY, Postgres COLLATE "C" on UTF-8), so
    a prefix query becomes an index-friendly range `prefix <= key < bound`.
    """
    chars = list(prefix)
    while chars:
        last = ord(chars.pop())
        if last < 0x10FFFF:
            nxt = last + 1
            if 0xD800 <= nxt <= 0xDFFF:  # surrogates can't be encoded; skip past them
                nxt = 0xE000
            return "".join(chars) + chr(nxt)
    return None


def _timestamp(expiration: datetime | None) -> float | None:
    # A naive datetime means local time, as everywhere in Python's datetime.timestamp().
    return None if expiration is None else expiration.timestamp()


def redact(text: str, secret: str | None) -> str:
    """`text` with every occurrence of `secret` replaced, so messages never carry a password."""
    return text.replace(secret, "***") if secret else text


class SqliteKVStore:
    """A KV store in one SQLite file, over one aiosqlite connection, safe across processes.

    WAL mode lets readers and one writer work at once; every write is a single autocommit
    statement, so the busy timeout (not an error) handles a second process holding the lock.
    """

    def __init__(self, db_path: str | Path, *, name: str = "kv_sqlite") -> None:
        self._path = str(db_path)
        self._label = f"kv backend '{name}' (sqlite at {self._path})"
        self._conn: aiosqlite.Connection | None = None
        self._closed = False
        self._lock = asyncio.Lock()

    @property
    def db_path(self) -> str:
        return self._path

    async def open(self) -> None:
        """Connect, set the pragmas and create the table; idempotent."""
        await self._connection()

    async def _connection(self) -> aiosqlite.Connection:
        if self._conn is not None:
            return self._conn
        async with self._lock:
            if self._closed:
                raise StorageError(f"{self._label} is closed.")
            if self._conn is None:
                self._conn = await self._connect()
        return self._conn

    async def _connect(self) -> aiosqlite.Connection:
        import aiosqlite

        with self._errors("open"):
            # Prepare the file with plain sqlite3 first: if aiosqlite's own connect fails, its
            # worker thread later reports into a possibly closed event loop.
            await asyncio.to_thread(_prepare_sqlite_file, self._path)
            conn = await aiosqlite.connect(
                self._path, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000, isolation_level=None
            )
            try:
                await conn.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
                await conn.execute("PRAGMA synchronous=NORMAL")
            except BaseException:
                await conn.close()
                raise
        return conn

    @contextmanager
    def _errors(self, operation: str) -> Iterator[None]:
        try:
            yield
        except (sqlite3.Error, OSError, ValueError) as exc:
            raise StorageError(f"{self._label}: {operation} failed: {exc}") from exc

    async def _fetch(self, sql: str, params: tuple[Any, ...], operation: str) -> list[Any]:
        conn = await self._connection()
        with self._errors(operation):
            async with conn.execute(sql, params) as cursor:
                return list(await cursor.fetchall())

    async def _write(self, sql: str, params: tuple[Any, ...], operation: str) -> None:
        conn = await self._connection()
        with self._errors(operation):
            await conn.execute(sql, params)

    async def get(self, key: str) -> str | None:
        rows = await self._fetch(
            f"SELECT value FROM {SQLITE_TABLE} WHERE key = ? "
            "AND (expiration IS NULL OR expiration > ?)",
            (key, _now_ts()),
            "get",
        )
        return str(rows[0][0]) if rows else None

    async def set(self, key: str, value: str, expiration: datetime | None = None) -> None:
        await self._write(
            f"INSERT INTO {SQLITE_TABLE} (key, value, expiration) VALUES (?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value, "
            "expiration = excluded.expiration",
            (key, value, _timestamp(expiration)),
            "set",
        )

    async def delete(self, key: str) -> None:
        await self._write(f"DELETE FROM {SQLITE_TABLE} WHERE key = ?", (key,), "delete")

    async def _prefix_rows(self, prefix: str, columns: str) -> list[Any]:
        bound = prefix_upper_bound(prefix)
        upper = "" if bound is None else " AND key < ?"
        params: tuple[Any, ...] = (prefix, _now_ts()) + (() if bound is None else (bound,))
        return await self._fetch(
            f"SELECT {columns} FROM {SQLITE_TABLE} WHERE key >= ? "
            f"AND (expiration IS NULL OR expiration > ?){upper} ORDER BY key",
            params,
            "prefix query",
        )

    async def keys_with_prefix(self, prefix: str) -> list[str]:
        return [str(row[0]) for row in await self._prefix_rows(prefix, "key")]

    async def items_with_prefix(self, prefix: str) -> list[tuple[str, str]]:
        rows = await self._prefix_rows(prefix, "key, value")
        return [(str(k), str(v)) for k, v in rows]

    async def values_in_range(self, start_key: str, end_key: str) -> list[str]:
        rows = await self._fetch(
            f"SELECT value FROM {SQLITE_TABLE} WHERE key >= ? AND key <= ? "
            "AND (expiration IS NULL OR expiration > ?) ORDER BY key",
            (start_key, end_key, _now_ts()),
            "range query",
        )
        return [str(row[0]) for row in rows]

    async def close(self) -> None:
        async with self._lock:
            self._closed = True
            conn, self._conn = self._conn, None
        if conn is not None:
            with self._errors("close"):
                await conn.close()


def _prepare_sqlite_file(path: str) -> None:
    """WAL mode (kept in the file), the table, and a purge of expired rows."""
    conn = sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    try:
        # busy_timeout first: switching to WAL needs a lock another process may hold.
        conn.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {SQLITE_TABLE} "
            "(key TEXT PRIMARY KEY, value TEXT NOT NULL, expiration REAL)"
        )
        conn.execute(f"DELETE FROM {SQLITE_TABLE} WHERE expiration <= ?", (_now_ts(),))
    finally:
        conn.close()


def _now_ts() -> float:
    return datetime.now(UTC).timestamp()


def _aware(expiration: datetime | None) -> datetime | None:
    return None if expiration is None else datetime.fromtimestamp(expiration.timestamp(), UTC)


class PostgresKVStore:
    """A KV store in one PostgreSQL table, over an asyncpg connection pool."""

    def __init__(self, config: PostgresKVConfig, *, name: str = "kv_postgres") -> None:
        if not _IDENTIFIER.match(config.table_name):
            raise ConfigError(
                f"kv backend '{name}': table_name {config.table_name!r} is not a plain SQL "
                "identifier (letters, digits, underscores)."
            )
        self._config = config
        self._table = config.table_name
        where = f"{config.user}@{config.host}:{config.port}/{config.db}"
        self._label = f"kv backend '{name}' (postgres {where}, table {self._table})"
        self._pool = PostgresPool(
            config, self._create_table, closed=lambda: StorageError(f"{self._label} is closed.")
        )
        self._asyncpg = self._pool.asyncpg

    @contextmanager
    def _errors(self, operation: str) -> Iterator[None]:
        driver_errors = (self._asyncpg.PostgresError, self._asyncpg.InterfaceError)
        try:
            yield
        except (*driver_errors, OSError, TimeoutError) as exc:
            message = redact(f"{self._label}: {operation} failed: {exc}", password(self._config))
            raise StorageError(message) from exc

    async def open(self) -> None:
        """Create the pool and the table; idempotent."""
        await self._get_pool()

    async def _get_pool(self) -> Any:
        with self._errors("connect"):
            return await self._pool.get()

    async def _create_table(self, conn: Any) -> None:
        sql = (
            f'CREATE TABLE IF NOT EXISTS {self._table} (key TEXT COLLATE "C" PRIMARY KEY, '
            "value TEXT NOT NULL, expiration TIMESTAMPTZ)"
        )
        # Concurrent CREATE TABLE IF NOT EXISTS can collide in Postgres's catalog; an
        # advisory lock held for the transaction makes the creators take turns.
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", self._table)
            await conn.execute(sql)

    async def _fetch(self, sql: str, args: tuple[Any, ...], operation: str) -> list[Any]:
        pool = await self._get_pool()
        with self._errors(operation):
            return list(await pool.fetch(sql, *args))

    async def _execute(self, sql: str, args: tuple[Any, ...], operation: str) -> None:
        pool = await self._get_pool()
        with self._errors(operation):
            await pool.execute(sql, *args)

    async def get(self, key: str) -> str | None:
        rows = await self._fetch(
            f"SELECT value FROM {self._table} WHERE key = $1 "
            "AND (expiration IS NULL OR expiration > $2)",
            (key, datetime.now(UTC)),
            "get",
        )
        return str(rows[0]["value"]) if rows else None

    async def set(self, key: str, value: str, expiration: datetime | None = None) -> None:
        await self._execute(
            f"INSERT INTO {self._table} (key, value, expiration) VALUES ($1, $2, $3) "
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, "
            "expiration = EXCLUDED.expiration",
            (key, value, _aware(expiration)),
            "set",
        )

    async def delete(self, key: str) -> None:
        await self._execute(f"DELETE FROM {self._table} WHERE key = $1", (key,), "delete")

    async def _prefix_rows(self, prefix: str) -> list[Any]:
        bound = prefix_upper_bound(prefix)
        upper = "" if bound is None else ' AND key < $3 COLLATE "C"'
        args: tuple[Any, ...] = (prefix, datetime.now(UTC)) + (() if bound is None else (bound,))
        return await self._fetch(
            f'SELECT key, value FROM {self._table} WHERE key >= $1 COLLATE "C" '
            f'AND (expiration IS NULL OR expiration > $2){upper} ORDER BY key COLLATE "C"',
            args,
            "prefix query",
        )

    async def keys_with_prefix(self, prefix: str) -> list[str]:
        return [str(row["key"]) for row in await self._prefix_rows(prefix)]

    async def items_with_prefix(self, prefix: str) -> list[tuple[str, str]]:
        return [(str(row["key"]), str(row["value"])) for row in await self._prefix_rows(prefix)]

    async def values_in_range(self, start_key: str, end_key: str) -> list[str]:
        rows = await self._fetch(
            f'SELECT value FROM {self._table} WHERE key >= $1 COLLATE "C" '
            'AND key <= $2 COLLATE "C" AND (expiration IS NULL OR expiration > $3) '
            'ORDER BY key COLLATE "C"',
            (start_key, end_key, datetime.now(UTC)),
            "range query",
        )
        return [str(row["value"]) for row in rows]

    async def close(self) -> None:
        with self._errors("close"):
            await self._pool.close()


class NamespacedKVStore:
    """A view of `inner` whose keys live under `namespace + ":"`; the prefix never shows.

    Many namespaces share one backend (and its connection). `close()` leaves the inner store
    open unless `owns_inner` is set: whoever created the backend closes it.
    """

    def __init__(self, inner: KVStore, namespace: str, *, owns_inner: bool = False) -> None:
        if not namespace:
            raise ConfigError("A kv namespace must not be empty.")
        self._inner = inner
        self._namespace = namespace
        self._prefix = namespace + ":"
        self._owns_inner = owns_inner

    @property
    def inner(self) -> KVStore:
        return self._inner

    @property
    def namespace(self) -> str:
        return self._namespace

    def _strip(self, key: str) -> str:
        return key[len(self._prefix) :]

    async def get(self, key: str) -> str | None:
        return await self._inner.get(self._prefix + key)

    async def set(self, key: str, value: str, expiration: datetime | None = None) -> None:
        await self._inner.set(self._prefix + key, value, expiration)

    async def delete(self, key: str) -> None:
        await self._inner.delete(self._prefix + key)

    async def keys_with_prefix(self, prefix: str) -> list[str]:
        return [self._strip(k) for k in await self._inner.keys_with_prefix(self._prefix + prefix)]

    async def items_with_prefix(self, prefix: str) -> list[tuple[str, str]]:
        items = await self._inner.items_with_prefix(self._prefix + prefix)
        return [(self._strip(k), v) for k, v in items]

    async def values_in_range(self, start_key: str, end_key: str) -> list[str]:
        return await self._inner.values_in_range(self._prefix + start_key, self._prefix + end_key)

    async def close(self) -> None:
        if self._owns_inner:
            await self._inner.close()
