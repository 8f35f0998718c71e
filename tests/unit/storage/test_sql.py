"""SqlStore behaviours, shared by every backend (SqlContract), run here against SQLite."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from llama_workbench.core.errors import (
    BadRequestError,
    ConflictError,
    MissingDependencyError,
    StorageError,
)
from llama_workbench.storage import (
    ColumnDefinition,
    ColumnType,
    PostgresSqlConfig,
    SqliteSqlConfig,
    SqlStore,
)
from tests.unit.storage.test_kv import run_concurrent_writers

SqlConfig = SqliteSqlConfig | PostgresSqlConfig
ITEMS: dict[str, ColumnType | ColumnDefinition] = {
    "id": ColumnDefinition(ColumnType.STRING, primary_key=True),
    "created_at": ColumnDefinition(ColumnType.INTEGER, nullable=False),
    "name": ColumnType.TEXT,
    "score": ColumnType.FLOAT,
    "active": ColumnType.BOOLEAN,
    "meta": ColumnType.JSON,
    "at": ColumnType.DATETIME,
}


class SqlContract:
    """What every sql backend does; a subclass provides the `sql_config` fixture."""

    @pytest.fixture
    async def make_sql(self, sql_config: SqlConfig) -> AsyncIterator[Callable[[], SqlStore]]:
        stores: list[SqlStore] = []

        def make() -> SqlStore:
            stores.append(SqlStore(sql_config, name="test"))
            return stores[-1]

        yield make
        for store in stores:
            await store.close()

    @pytest.fixture
    async def sql(self, make_sql: Callable[[], SqlStore]) -> SqlStore:
        store = make_sql()
        await store.create_table("items", ITEMS)
        return store

    async def _seed(self, sql: SqlStore, n: int = 7) -> None:
        # created_at has ties (i // 2) so pagination must break them by id.
        rows = [{"id": f"it{i:02d}", "created_at": i // 2, "name": f"n{i}"} for i in range(n)]
        await sql.insert("items", rows)

    async def test_create_table_is_idempotent(self, sql: SqlStore) -> None:
        await sql.insert("items", {"id": "a", "created_at": 1})
        await sql.create_table("items", ITEMS)
        assert await sql.fetch_one("items", {"id": "a"}) is not None

    async def test_insert_and_fetch_round_trips_every_type(self, sql: SqlStore) -> None:
        at = datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
        meta = {"tags": ["x", "y"], "nested": {"n": 1, "f": 1.5, "ok": True, "none": None}}
        row = {"id": "a", "created_at": 7, "name": "héllo 🦙", "score": 0.25, "active": True}
        await sql.insert("items", {**row, "meta": meta, "at": at})
        got = await sql.fetch_one("items", {"id": "a"})
        assert got == {**row, "meta": meta, "at": at}
        assert got is not None and got["at"].tzinfo is not None

    async def test_json_lists_and_nulls(self, sql: SqlStore) -> None:
        await sql.insert("items", [
            {"id": "list", "created_at": 1, "meta": [1, "two", {"three": 3}]},
            {"id": "null", "created_at": 2, "meta": None},
        ])  # fmt: skip
        assert (await sql.fetch_one("items", {"id": "list"}) or {})["meta"] == [
            1,
            "two",
            {"three": 3},
        ]
        assert [r["id"] for r in (await sql.fetch_all("items", where={"meta": None})).data] == [
            "null"
        ]

    async def test_naive_datetimes_are_taken_as_utc(self, sql: SqlStore) -> None:
        await sql.insert("items", {"id": "a", "created_at": 1, "at": datetime(2024, 1, 1, 8, 0)})
        got = await sql.fetch_one("items", {"id": "a"})
        assert got is not None and got["at"] == datetime(2024, 1, 1, 8, 0, tzinfo=UTC)

    async def test_fetch_where_order_and_limit(self, sql: SqlStore) -> None:
        await self._seed(sql)
        page = await sql.fetch_all("items", where={"created_at": 1}, order_by=[("id", "desc")])
        assert [r["id"] for r in page.data] == ["it03", "it02"]
        assert not page.has_more
        page = await sql.fetch_all("items", order_by=[("id", "asc")], limit=3)
        assert [r["id"] for r in page.data] == ["it00", "it01", "it02"]
        assert page.has_more
        assert not (await sql.fetch_all("items", limit=7)).has_more
        assert await sql.fetch_one("items", {"id": "nope"}) is None

    async def test_cursor_pagination_asc(self, sql: SqlStore) -> None:
        await self._seed(sql)
        order: list[tuple[str, Any]] = [("created_at", "asc")]
        seen, cursor, pages = [], None, 0
        while True:
            page = await sql.fetch_all("items", order_by=order, limit=2, cursor=cursor)
            seen += [r["id"] for r in page.data]
            pages += 1
            if not page.has_more:
                break
            cursor = ("id", page.data[-1]["id"])
        assert seen == [f"it{i:02d}" for i in range(7)]
        assert pages == 4

    async def test_cursor_pagination_desc_like_openai_lists(self, sql: SqlStore) -> None:
        await self._seed(sql)
        order: list[tuple[str, Any]] = [("created_at", "desc"), ("id", "desc")]
        first = await sql.fetch_all("items", order_by=order, limit=3)
        assert [r["id"] for r in first.data] == ["it06", "it05", "it04"]
        rest = await sql.fetch_all("items", order_by=order, cursor=("id", "it04"))
        assert [r["id"] for r in rest.data] == ["it03", "it02", "it01", "it00"]
        assert not rest.has_more

    async def test_cursor_without_order_follows_the_key(self, sql: SqlStore) -> None:
        await self._seed(sql)
        page = await sql.fetch_all("items", cursor=("id", "it04"), where={"name": "n5"})
        assert [r["id"] for r in page.data] == ["it05"]

    async def test_unknown_cursor_is_a_bad_request(self, sql: SqlStore) -> None:
        await self._seed(sql)
        with pytest.raises(BadRequestError, match="nope"):
            await sql.fetch_all("items", cursor=("id", "nope"))

    async def test_integer_key_cursor(self, make_sql: Callable[[], SqlStore]) -> None:
        sql = make_sql()
        await sql.create_table(
            "nums", {"n": ColumnDefinition(ColumnType.INTEGER, primary_key=True)}
        )
        await sql.insert("nums", [{"n": i} for i in range(5)])
        page = await sql.fetch_all("nums", order_by=[("n", "asc")], cursor=("n", "2"))
        assert [r["n"] for r in page.data] == [3, 4]

    async def test_upsert_inserts_then_updates(self, sql: SqlStore) -> None:
        await sql.upsert("items", {"id": "a", "created_at": 1, "name": "first"}, ["id"])
        await sql.upsert("items", {"id": "a", "created_at": 2, "meta": {"v": 2}}, ["id"])
        assert await sql.fetch_one("items", {"id": "a"}) == {
            "id": "a", "created_at": 2, "name": "first", "score": None,
            "active": None, "meta": {"v": 2}, "at": None,
        }  # fmt: skip
        assert len((await sql.fetch_all("items")).data) == 1

    async def test_upsert_with_only_key_columns_does_nothing_on_conflict(
        self, make_sql: Callable[[], SqlStore]
    ) -> None:
        sql = make_sql()
        await sql.create_table(
            "tags", {"tag": ColumnDefinition(ColumnType.STRING, primary_key=True)}
        )
        await sql.upsert("tags", {"tag": "a"}, ["tag"])
        await sql.upsert("tags", {"tag": "a"}, ["tag"])
        assert (await sql.fetch_all("tags")).data == [{"tag": "a"}]

    async def test_update_and_delete(self, sql: SqlStore) -> None:
        await self._seed(sql, 4)
        assert (
            await sql.update("items", {"name": "zero", "meta": {"k": [1]}}, {"created_at": 0}) == 2
        )
        rows = (await sql.fetch_all("items", where={"name": "zero"}, order_by=[("id", "asc")])).data
        assert [(r["id"], r["meta"]) for r in rows] == [("it00", {"k": [1]}), ("it01", {"k": [1]})]
        assert await sql.delete("items", {"id": "it00"}) == 1
        assert await sql.delete("items", {"id": "it00"}) == 0
        assert [r["id"] for r in (await sql.fetch_all("items", order_by=[("id", "asc")])).data] == [
            "it01", "it02", "it03",
        ]  # fmt: skip
        with pytest.raises(BadRequestError):
            await sql.delete("items", {})

    async def test_add_column_if_not_exists(
        self, sql: SqlStore, make_sql: Callable[[], SqlStore]
    ) -> None:
        await sql.insert("items", {"id": "old", "created_at": 1})
        await sql.add_column_if_not_exists("items", "extra", ColumnType.JSON)
        await sql.add_column_if_not_exists("items", "extra", ColumnType.JSON)  # idempotent
        await sql.insert("items", {"id": "new", "created_at": 2, "extra": {"a": 1}})
        assert (await sql.fetch_one("items", {"id": "old"}) or {})["extra"] is None
        # A second store (another process, say) that never declared the column sees it too.
        other = make_sql()
        await other.add_column_if_not_exists("items", "extra", ColumnType.JSON)
        assert (await other.fetch_one("items", {"id": "new"}) or {})["extra"] == {"a": 1}

    async def test_tables_are_reflected_when_not_declared(
        self, sql: SqlStore, make_sql: Callable[[], SqlStore]
    ) -> None:
        at = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
        await sql.insert("items", {"id": "a", "created_at": 1, "meta": {"x": [1]}, "at": at})
        got = await make_sql().fetch_one("items", {"id": "a"})
        assert got is not None and got["meta"] == {"x": [1]} and got["at"] == at

    async def test_duplicate_key_is_a_conflict(self, sql: SqlStore) -> None:
        await sql.insert("items", {"id": "a", "created_at": 1})
        with pytest.raises(ConflictError):
            await sql.insert("items", {"id": "a", "created_at": 2})
        assert (await sql.fetch_one("items", {"id": "a"}) or {})["created_at"] == 1

    async def test_errors(self, sql: SqlStore) -> None:
        with pytest.raises(StorageError, match="'missing' does not exist"):
            await sql.fetch_all("missing")
        with pytest.raises(BadRequestError, match="no column 'nope'"):
            await sql.fetch_all("items", where={"nope": 1})
        with pytest.raises(BadRequestError, match="no column 'nope'"):
            await sql.insert("items", {"id": "a", "created_at": 1, "nope": 2})
        with pytest.raises(BadRequestError):
            await sql.fetch_all("items", order_by=[("id", "sideways")])  # type: ignore[list-item]
        with pytest.raises(BadRequestError, match="'test'"):
            await sql.insert("items", {"id": "a"})  # NOT NULL created_at

    async def test_concurrent_use_from_one_process(self, sql: SqlStore) -> None:
        await asyncio.gather(
            *(sql.insert("items", {"id": f"c{i:03d}", "created_at": i}) for i in range(50))
        )
        assert len((await sql.fetch_all("items")).data) == 50

    async def test_processes_write_the_same_database_at_once(
        self, sql_config: SqlConfig, make_sql: Callable[[], SqlStore], tmp_path: Path
    ) -> None:
        results = await run_concurrent_writers("sql", sql_config, tmp_path, ["p1", "p2", "p3"], 60)
        assert [code for code, _ in results] == [0, 0, 0], "\n".join(e for _, e in results)
        rows = (await make_sql().fetch_all("events", order_by=[("id", "asc")])).data
        assert len(rows) == 180
        assert rows[0] == {"id": "p1-0000", "n": 0, "meta": {"tag": "p1"}}


class TestSqliteSql(SqlContract):
    @pytest.fixture
    def sql_config(self, tmp_path: Path) -> SqliteSqlConfig:
        return SqliteSqlConfig(db_path=str(tmp_path / "sql.db"))

    async def test_wal_mode(self, sql: SqlStore, tmp_path: Path) -> None:
        import sqlite3

        await sql.insert("items", {"id": "a", "created_at": 1})
        conn = sqlite3.connect(tmp_path / "sql.db")
        try:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        finally:
            conn.close()


def test_sqlalchemy_is_not_imported_by_the_package() -> None:
    import subprocess

    code = "import sys, llama_workbench.storage; print('sqlalchemy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_missing_asyncpg_names_the_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "asyncpg", None)
    with pytest.raises(MissingDependencyError, match=r"llama-workbench\[postgres\]"):
        SqlStore(PostgresSqlConfig())


async def test_unreachable_postgres_is_a_storage_error_without_the_password(
    unused_tcp_port: int,
) -> None:
    config = PostgresSqlConfig(host="127.0.0.1", port=unused_tcp_port, password="s3cr3t-pw")
    store = SqlStore(config, name="pg_sql")
    try:
        with pytest.raises(StorageError) as info:
            await store.create_table("t", {"id": ColumnType.STRING})
        assert "pg_sql" in str(info.value)
        assert "s3cr3t-pw" not in str(info.value)
    finally:
        await store.close()
