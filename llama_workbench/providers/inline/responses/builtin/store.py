"""Stored responses in the SQL store: the response, its input items and the chat history behind it."""

from __future__ import annotations

import asyncio
import builtins
import time
from typing import TYPE_CHECKING, Any, Literal

from llama_workbench.apis.responses.models import (
    InputItemList,
    Item,
    ResponseList,
    ResponseObject,
    ResponseWithInput,
)
from llama_workbench.core.access import (
    RESPONSE,
    check_access,
    check_create,
    fetch_visible,
    fetch_visible_one,
    owner_for_new_resource,
)
from llama_workbench.core.errors import BadRequestError, NotFoundError
from llama_workbench.storage.config import SqlStoreRef
from llama_workbench.storage.sql import ColumnDefinition, ColumnType, SqlStore

if TYPE_CHECKING:
    from llama_workbench.core.policy import Action
    from llama_workbench.storage.manager import StorageManager

_SCHEMA: dict[str, ColumnType | ColumnDefinition] = {
    "id": ColumnDefinition(ColumnType.STRING, primary_key=True),
    "created_at": ColumnType.INTEGER,
    "seq": ColumnType.INTEGER,  # nanoseconds at first write: orders responses of one second
    "model": ColumnType.STRING,
    "owner": ColumnType.STRING,
    "response": ColumnType.JSON,
    "input": ColumnType.JSON,
    "messages": ColumnType.JSON,  # chat history up to and including this response (chaining)
}


class StoredResponse:
    """A row: the response with its input, and the chat messages a follow-up continues from."""

    def __init__(self, row: dict[str, Any]) -> None:
        self.response = ResponseWithInput.model_validate({**row["response"], "input": row["input"]})
        self.messages: builtins.list[dict[str, Any]] = row["messages"] or []


class ResponsesStore:
    """Reads and writes responses; the table is created on first use."""

    def __init__(self, storage: StorageManager, ref: SqlStoreRef) -> None:
        self._storage = storage
        self._table = ref.table_name
        self._ref = SqlStoreRef(backend=ref.backend, table_name=ref.table_name)
        self._store: SqlStore | None = None
        self._opening = asyncio.Lock()

    async def _sql(self) -> SqlStore:
        async with self._opening:
            if self._store is None:
                store = await self._storage.sql(self._ref)
                await store.create_table(self._table, _SCHEMA)
                self._store = store
        return self._store

    async def put(
        self,
        response: ResponseObject,
        input_items: builtins.list[Item],
        messages: builtins.list[dict[str, Any]],
    ) -> None:
        """Insert or replace a response (background ones are written more than once)."""
        sql = await self._sql()
        existing = await sql.fetch_one(self._table, {"id": response.id})
        if existing is None:
            check_create(RESPONSE, response.id)
        row = {
            "id": response.id,
            "created_at": response.created_at,
            "seq": existing["seq"] if existing else time.time_ns(),
            "model": response.model,
            "owner": existing["owner"] if existing else owner_for_new_resource(),
            "response": response.model_dump(mode="json", exclude_none=True),
            "input": [i.model_dump(mode="json", exclude_none=True) for i in input_items],
            "messages": messages,
        }
        await sql.upsert(self._table, row, ["id"])

    async def get(self, response_id: str, action: Action = "read") -> StoredResponse:
        """A stored response the caller may read (404 otherwise) and do `action` on (403)."""
        row = await fetch_visible_one(await self._sql(), self._table, RESPONSE, {"id": response_id})
        if row is not None:
            check_access(row["owner"], RESPONSE, response_id, action)
        if row is None:
            raise NotFoundError(
                "Response",
                response_id,
                list_command="responses.list()",
                hint="(only stored responses can be read)",
            )
        return StoredResponse(row)

    async def delete(self, response_id: str) -> None:
        await self.get(response_id, "delete")
        await (await self._sql()).delete(self._table, {"id": response_id})

    async def list(
        self, after: str | None, limit: int, model: str | None, order: Literal["asc", "desc"]
    ) -> ResponseList:
        if not 1 <= limit <= 100:
            raise BadRequestError(f"limit must be between 1 and 100, got {limit}.")
        sql = await self._sql()
        where = {"model": model} if model else {}
        if after:
            await self.get(after)
        page = await fetch_visible(
            sql,
            self._table,
            RESPONSE,
            where,
            [("created_at", order), ("seq", order)],
            limit,
            ("id", after) if after else None,
        )
        data = [StoredResponse(row).response for row in page.data]
        return ResponseList(
            data=data,
            has_more=page.has_more,
            first_id=data[0].id if data else None,
            last_id=data[-1].id if data else None,
        )

    async def input_items(
        self,
        response_id: str,
        after: str | None,
        before: str | None,
        limit: int,
        order: Literal["asc", "desc"],
    ) -> InputItemList:
        if not 1 <= limit <= 100:
            raise BadRequestError(f"limit must be between 1 and 100, got {limit}.")
        items = list((await self.get(response_id)).response.input)
        if order == "desc":
            items.reverse()
        ids = [i.id for i in items]
        for cursor, name in ((after, "after"), (before, "before")):
            if cursor is not None and cursor not in ids:
                raise NotFoundError(
                    "Input item",
                    cursor,
                    parent=f"response '{response_id}'",
                    hint=f"(the `{name}` cursor)",
                )
        start = ids.index(after) + 1 if after else 0
        stop = ids.index(before) if before else len(items)
        window = items[start:stop]
        page = window[:limit]
        return InputItemList(
            data=page,
            has_more=len(window) > limit,
            first_id=page[0].id if page else None,
            last_id=page[-1].id if page else None,
        )
