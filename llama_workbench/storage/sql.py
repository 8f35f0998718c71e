"""A small async relational store on SQLAlchemy Core: SQLite (aiosqlite) or PostgreSQL (asyncpg)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from llama_workbench.core.errors import (
    BadRequestError,
    ConflictError,
    LlamaWorkbenchError,
    MissingDependencyError,
    StorageError,
)
from llama_workbench.storage.config import PostgresSqlConfig, SqliteSqlConfig
from llama_workbench.storage.kv import SQLITE_BUSY_TIMEOUT_MS, redact
from llama_workbench.storage.postgres import import_asyncpg

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement, Table
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
    from sqlalchemy.types import TypeEngine

Direction = Literal["asc", "desc"]
Row = dict[str, Any]


class ColumnType(StrEnum):
    """The portable column types a table schema can use."""

    INTEGER = "INTEGER"
    STRING = "STRING"
    TEXT = "TEXT"
    FLOAT = "FLOAT"
    BOOLEAN = "BOOLEAN"
    JSON = "JSON"
    DATETIME = "DATETIME"


@dataclass(frozen=True)
class ColumnDefinition:
    """A column with constraints; a bare ColumnType means a nullable, non-key column."""

    type: ColumnType
    primary_key: bool = False
    nullable: bool = True
    default: Any = None


class PaginatedRows(BaseModel):
    """One page of rows; `has_more` says whether rows follow the last one."""

    data: list[dict[str, Any]] = Field(default_factory=list)
    has_more: bool = False


@cache
def _utc_datetime_type() -> type[Any]:
    """A DateTime that stores UTC and always reads back timezone-aware (naive input = UTC)."""
    from sqlalchemy import DateTime
    from sqlalchemy.types import TypeDecorator

    class UtcDateTime(TypeDecorator[datetime]):
        impl = DateTime(timezone=True)
        cache_ok = True

        def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
            if value is None:
                return None
            if value.tzinfo is None:
                value = value.replace(tzinfo=UTC)
            value = value.astimezone(UTC)
            # SQLite's DATETIME has no zone: store the UTC wall time.
            return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

        def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
            if value is None:
                return None
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    return UtcDateTime


def _sa_type(column_type: ColumnType) -> TypeEngine[Any]:
    import sqlalchemy as sa

    if column_type is ColumnType.DATETIME:
        utc: TypeEngine[Any] = _utc_datetime_type()()
        return utc
    types: dict[ColumnType, TypeEngine[Any]] = {
        ColumnType.INTEGER: sa.Integer(),
        ColumnType.STRING: sa.String(),
        ColumnType.TEXT: sa.Text(),
        ColumnType.FLOAT: sa.Float(),
        ColumnType.BOOLEAN: sa.Boolean(),
        # none_as_null: a Python None is SQL NULL, so `where={"col": None}` finds it.
        ColumnType.JSON: sa.JSON(none_as_null=True),
    }
    return types[column_type]


def _definition(spec: ColumnType | ColumnDefinition) -> ColumnDefinition:
    return spec if isinstance(spec, ColumnDefinition) else ColumnDefinition(ColumnType(spec))


def _column(name: str, spec: ColumnType | ColumnDefinition) -> Any:
    import sqlalchemy as sa

    d = _definition(spec)
    return sa.Column(
        name, _sa_type(d.type), primary_key=d.primary_key,
        nullable=d.nullable and not d.primary_key, default=d.default,
    )  # fmt: skip


def _normalize_reflected(table: Table) -> None:
    """Give reflected DATETIME / JSON columns the same behaviour as declared ones."""
    import sqlalchemy as sa

    for col in table.columns:
        if isinstance(col.type, sa.DateTime):
            col.type = _utc_datetime_type()()
        elif isinstance(col.type, sa.JSON):
            col.type = sa.JSON(none_as_null=True)


class SqlStore:
    """Tables of rows (dicts) in SQLite or PostgreSQL; every method is async."""

    def __init__(self, config: SqliteSqlConfig | PostgresSqlConfig, *, name: str = "") -> None:
        self._label = _label_for(config, name or config.type)
        self._secret: str | None = None
        if isinstance(config, PostgresSqlConfig) and config.password is not None:
            self._secret = config.password.get_secret_value()
        self._engine = self._create_engine(config)
        self._dialect = self._engine.dialect.name
        self._tables: dict[str, Table] = {}
        self._lock = asyncio.Lock()

    @property
    def label(self) -> str:
        return self._label

    def _create_engine(self, config: SqliteSqlConfig | PostgresSqlConfig) -> AsyncEngine:
        try:
            from sqlalchemy.ext.asyncio import create_async_engine
        except ImportError as exc:  # SQLAlchemy 2.1 no longer installs greenlet itself
            raise MissingDependencyError("greenlet", needed_by="the sql store") from exc
        from sqlalchemy.engine import URL

        if isinstance(config, SqliteSqlConfig):
            url = URL.create("sqlite+aiosqlite", database=config.db_path)
            engine = create_async_engine(
                url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
            )
            _install_sqlite_pragmas(engine)
            return engine
        import_asyncpg()
        url = URL.create(
            "postgresql+asyncpg", username=config.user, password=self._secret,
            host=config.host, port=config.port, database=config.db,
        )  # fmt: skip
        return create_async_engine(url, pool_size=5, max_overflow=5, pool_pre_ping=True)

    @asynccontextmanager
    async def _connect(
        self, operation: str, table: str, *, write: bool
    ) -> AsyncIterator[AsyncConnection]:
        from sqlalchemy import exc as sa_exc

        where = f"{self._label}: {operation} on table '{table}'"
        try:
            if write:
                async with self._engine.begin() as conn:
                    yield conn
            else:
                async with self._engine.connect() as conn:
                    yield conn
        except LlamaWorkbenchError:
            raise
        except sa_exc.IntegrityError as exc:
            message = redact(f"{where} violates a constraint: {exc.orig}", self._secret)
            if _is_duplicate(exc):
                raise ConflictError(message) from exc
            raise BadRequestError(message) from exc
        except (sa_exc.SQLAlchemyError, OSError, TimeoutError) as exc:
            detail = getattr(exc, "orig", None) or exc
            raise StorageError(redact(f"{where} failed: {detail}", self._secret)) from exc

    async def create_table(
        self, table: str, schema: Mapping[str, ColumnType | ColumnDefinition]
    ) -> None:
        """Create `table` if it does not exist (idempotent, also across processes)."""
        import sqlalchemy as sa
        from sqlalchemy.schema import CreateTable

        if not schema:
            raise BadRequestError(f"{self._label}: table '{table}' needs at least one column.")
        sa_table = sa.Table(table, sa.MetaData(), *(_column(n, s) for n, s in schema.items()))
        try:
            async with self._connect("create_table", table, write=True) as conn:
                if self._dialect == "postgresql":
                    # Concurrent CREATE TABLE IF NOT EXISTS can still collide in Postgres's
                    # catalog; a transaction-scoped advisory lock makes creators take turns.
                    lock = sa.text("SELECT pg_advisory_xact_lock(hashtext(:name))")
                    await conn.execute(lock, {"name": f"llama_workbench.table.{table}"})
                await conn.execute(CreateTable(sa_table, if_not_exists=True))
        except (ConflictError, StorageError):
            # Created by someone else meanwhile (e.g. a server without the advisory lock).
            if not await self._exists(table):
                raise
        self._tables[table] = sa_table

    async def _exists(self, table: str) -> bool:
        import sqlalchemy as sa

        async with self._connect("inspect", table, write=False) as conn:
            return bool(await conn.run_sync(lambda c: sa.inspect(c).has_table(table)))

    async def _table(self, table: str) -> Table:
        """The table's definition: declared by create_table, else reflected from the database."""
        import sqlalchemy as sa

        if table in self._tables:
            return self._tables[table]
        async with self._lock:
            if table not in self._tables:
                if not await self._exists(table):
                    raise StorageError(
                        f"{self._label}: table '{table}' does not exist; call create_table first."
                    )
                async with self._connect("reflect", table, write=False) as conn:
                    reflected = await conn.run_sync(
                        lambda c: sa.Table(table, sa.MetaData(), autoload_with=c)
                    )
                _normalize_reflected(reflected)
                self._tables[table] = reflected
        return self._tables[table]

    def _col(self, t: Table, name: str) -> Any:
        if name not in t.c:
            known = ", ".join(t.c.keys())
            raise BadRequestError(f"Table '{t.name}' has no column '{name}'. Columns: {known}.")
        return t.c[name]

    def _where(self, t: Table, where: Mapping[str, Any] | None) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        for name, value in (where or {}).items():
            col = self._col(t, name)
            conditions.append(col.is_(None) if value is None else col == value)
        return conditions

    async def insert(self, table: str, row_or_rows: Mapping[str, Any] | Sequence[Row]) -> None:
        """Insert one row (a dict) or many (a list of dicts); a duplicate key is a conflict."""
        t = await self._table(table)
        rows = [dict(row_or_rows)] if isinstance(row_or_rows, Mapping) else list(row_or_rows)
        if not rows:
            return
        for row in rows:
            for name in row:
                self._col(t, name)
        async with self._connect("insert", table, write=True) as conn:
            await conn.execute(t.insert(), rows)

    async def upsert(self, table: str, row: Mapping[str, Any], conflict_columns: list[str]) -> None:
        """Insert `row`, or update the existing row whose `conflict_columns` match it."""
        t = await self._table(table)
        for name in [*row, *conflict_columns]:
            self._col(t, name)
        stmt: Any
        if self._dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            stmt = pg_insert(t).values(dict(row))
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            stmt = sqlite_insert(t).values(dict(row))
        updates = {k: stmt.excluded[k] for k in row if k not in conflict_columns}
        stmt = (
            stmt.on_conflict_do_update(index_elements=conflict_columns, set_=updates)
            if updates
            else stmt.on_conflict_do_nothing(index_elements=conflict_columns)
        )
        async with self._connect("upsert", table, write=True) as conn:
            await conn.execute(stmt)

    async def fetch_one(self, table: str, where: Mapping[str, Any] | None = None) -> Row | None:
        page = await self.fetch_all(table, where=where, limit=1)
        return page.data[0] if page.data else None

    async def fetch_all(
        self,
        table: str,
        where: Mapping[str, Any] | None = None,
        order_by: list[tuple[str, Direction]] | None = None,
        limit: int | None = None,
        cursor: tuple[str, str] | None = None,
    ) -> PaginatedRows:
        """Rows matching `where`, in `order_by` order, `limit` at most.

        `cursor=(key_column, value)` starts after the row whose key_column equals value, in
        the same order (OpenAI's `after=`). Ties are broken by key_column and the primary key,
        so pages never overlap when key_column is the primary key (or the order includes it).
        Order columns should be non-null: a NULL in the cursor row can't be compared.
        """
        import sqlalchemy as sa

        t = await self._table(table)
        if limit is not None and limit < 0:
            raise BadRequestError(f"limit must be >= 0, got {limit}.")
        key_col = None if cursor is None else self._col(t, cursor[0])
        order = self._order(t, order_by or [], key_col)
        stmt = sa.select(t).where(*self._where(t, where))
        if cursor is not None:
            stmt = stmt.where(await self._after(t, key_col, cursor[1], order))
        stmt = stmt.order_by(*(col.asc() if d == "asc" else col.desc() for col, d in order))
        if limit is not None:
            stmt = stmt.limit(limit + 1)
        async with self._connect("fetch", table, write=False) as conn:
            rows = [dict(r._mapping) for r in await conn.execute(stmt)]
        has_more = limit is not None and len(rows) > limit
        return PaginatedRows(data=rows[:limit] if has_more else rows, has_more=has_more)

    def _order(
        self, t: Table, order_by: list[tuple[str, Direction]], key_col: Any
    ) -> list[tuple[Any, Direction]]:
        """order_by, then the cursor's key and the primary key as tie-breakers.

        The tie-breakers make the order total, so the first page (no cursor) and the later
        ones agree on where rows with equal sort values go.
        """
        order = [(self._col(t, c), self._direction(d)) for c, d in order_by]
        breakers = ([] if key_col is None else [key_col]) + list(t.primary_key.columns)
        for col in breakers:
            if all(col.name != seen.name for seen, _ in order):
                order.append((col, "asc"))
        return order

    @staticmethod
    def _direction(direction: str) -> Direction:
        if direction not in ("asc", "desc"):
            raise BadRequestError(f"Order direction must be 'asc' or 'desc', got {direction!r}.")
        return "asc" if direction == "asc" else "desc"

    async def _after(
        self, t: Table, key_col: Any, value: str, order: list[tuple[Any, Direction]]
    ) -> ColumnElement[bool]:
        """The keyset condition 'comes after the cursor row' for the given order."""
        import sqlalchemy as sa

        key_value: Any = int(value) if isinstance(key_col.type, sa.Integer) else value
        async with self._connect("fetch cursor", t.name, write=False) as conn:
            found = (await conn.execute(sa.select(t).where(key_col == key_value))).first()
        if found is None:
            raise BadRequestError(
                f"Cursor not found: no row in '{t.name}' has {key_col.name} = {value!r}."
            )
        anchor = found._mapping
        branches = []
        for i, (col, direction) in enumerate(order):
            ties = [prev == anchor[prev.name] for prev, _ in order[:i]]
            beyond = col > anchor[col.name] if direction == "asc" else col < anchor[col.name]
            branches.append(sa.and_(*ties, beyond))
        return sa.or_(*branches)

    async def update(self, table: str, data: Mapping[str, Any], where: Mapping[str, Any]) -> int:
        """Set `data` on the rows matching `where`; returns how many rows changed."""
        t = await self._table(table)
        for name in data:
            self._col(t, name)
        if not where:
            raise BadRequestError("update needs a where clause (refusing to update every row).")
        async with self._connect("update", table, write=True) as conn:
            result = await conn.execute(t.update().where(*self._where(t, where)).values(dict(data)))
        return int(result.rowcount)

    async def delete(self, table: str, where: Mapping[str, Any]) -> int:
        """Delete the rows matching `where`; returns how many were deleted."""
        t = await self._table(table)
        if not where:
            raise BadRequestError("delete needs a where clause (refusing to delete every row).")
        async with self._connect("delete", table, write=True) as conn:
            result = await conn.execute(t.delete().where(*self._where(t, where)))
        return int(result.rowcount)

    async def add_column_if_not_exists(
        self, table: str, name: str, type: ColumnType | ColumnDefinition
    ) -> None:
        """Add a column to an existing table (a migration); nothing if it is already there."""
        import sqlalchemy as sa

        t = await self._table(table)
        async with self._connect("inspect", table, write=False) as conn:
            columns = await conn.run_sync(lambda c: sa.inspect(c).get_columns(table))
        column = _column(name, type)
        if name not in {c["name"] for c in columns}:
            await self._add_column(t, column)
        if name not in t.c:
            t.append_column(column)

    async def _add_column(self, t: Table, column: Any) -> None:
        import sqlalchemy as sa

        prep = self._engine.dialect.identifier_preparer
        ddl = column.type.compile(dialect=self._engine.dialect)
        null = "" if column.nullable else " NOT NULL"
        stmt = f"ALTER TABLE {prep.quote(t.name)} ADD COLUMN {prep.quote(column.name)} {ddl}{null}"
        try:
            async with self._connect("add column", t.name, write=True) as conn:
                await conn.execute(sa.text(stmt))
        except StorageError:
            # Another process may have added it meanwhile; only then is this not an error.
            async with self._connect("inspect", t.name, write=False) as conn:
                names = await conn.run_sync(
                    lambda c: {col["name"] for col in sa.inspect(c).get_columns(t.name)}
                )
            if column.name not in names:
                raise

    async def close(self) -> None:
        """Dispose of the connection pool."""
        await self._engine.dispose()


def _is_duplicate(exc: Exception) -> bool:
    """Whether an integrity error is a unique / primary-key violation (not NOT NULL, ...)."""
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) == "23505" or "UNIQUE constraint failed" in str(orig)


def _label_for(config: SqliteSqlConfig | PostgresSqlConfig, name: str) -> str:
    if isinstance(config, SqliteSqlConfig):
        return f"sql backend '{name}' (sqlite at {config.db_path})"
    return f"sql backend '{name}' (postgres {config.user}@{config.host}:{config.port}/{config.db})"


def _install_sqlite_pragmas(engine: AsyncEngine) -> None:
    """Every new SQLite connection: a busy timeout, WAL, and synchronous=NORMAL."""
    from sqlalchemy import event

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            # busy_timeout first: switching to WAL needs a lock another process may hold.
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()
