"""Stored chat completions (GET /v1/chat/completions), written behind the request, off its hot path."""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Literal

from llama_workbench.apis.inference.models import (
    ChatChoice,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChatCompletionRequest,
    FunctionCall,
    StoredChatCompletion,
    StoredChatCompletionList,
    ToolCall,
    Usage,
)
from llama_workbench.core.access import (
    CHAT_COMPLETION,
    fetch_visible,
    fetch_visible_one,
    owner_for_new_resource,
)
from llama_workbench.core.errors import ConflictError, NotFoundError
from llama_workbench.storage.config import SqlStoreRef
from llama_workbench.storage.sql import ColumnDefinition, ColumnType, SqlStore

if TYPE_CHECKING:
    from llama_workbench.storage.manager import StorageManager

logger = logging.getLogger(__name__)

_SCHEMA: dict[str, ColumnType | ColumnDefinition] = {
    "id": ColumnDefinition(ColumnType.STRING, primary_key=True),
    "created": ColumnType.INTEGER,
    "seq": ColumnType.INTEGER,  # nanoseconds at record time: orders completions of the same second
    "model": ColumnType.STRING,
    "owner": ColumnType.STRING,
    "completion": ColumnType.JSON,
    "input_messages": ColumnType.JSON,
}


class CompletionsStore:
    """Completions go into a bounded queue; one writer task inserts them in batches.

    The database is opened on first use, so building a stack stays fast (no SQLAlchemy import).
    """

    def __init__(self, storage: StorageManager, ref: SqlStoreRef, max_queue: int = 10_000) -> None:
        self._storage = storage
        self._ref = ref
        self._table = ref.table_name
        self._store: SqlStore | None = None
        self._opening = asyncio.Lock()
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(max_queue)
        self._writer: asyncio.Task[None] | None = None

    async def _sql(self) -> SqlStore:
        async with self._opening:
            if self._store is None:
                store = await self._storage.sql(self._ref)
                await store.create_table(self._table, _SCHEMA)
                self._store = store
        return self._store

    def record(self, request: ChatCompletionRequest, completion: ChatCompletion) -> None:
        """Queue a completion for storage; never waits on the database."""
        row = {
            "id": completion.id,
            "created": completion.created,
            "seq": time.time_ns(),
            "model": completion.model,
            "owner": owner_for_new_resource(),
            # The request's metadata is kept with it, as OpenAI keeps a stored completion's.
            "completion": {
                **completion.model_dump(mode="json", exclude_none=True),
                **({"metadata": request.metadata} if request.metadata else {}),
            },
            "input_messages": [
                m.model_dump(mode="json", exclude_none=True) for m in request.messages
            ],
        }
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write_forever())
        try:
            self._queue.put_nowait(row)
        except asyncio.QueueFull:
            logger.warning("completions store queue full: completion %s not stored", completion.id)

    async def _write_forever(self) -> None:
        while True:
            rows = [await self._queue.get()]
            while not self._queue.empty() and len(rows) < 500:
                rows.append(self._queue.get_nowait())
            try:
                await (await self._sql()).insert(self._table, rows)
            except ConflictError:
                # An id seen before (a server that reuses ids): the newer completion wins.
                for row in rows:
                    await self._upsert(row)
            except Exception:
                logger.exception("storing %d chat completions failed", len(rows))
            finally:
                for _ in rows:
                    self._queue.task_done()

    async def _upsert(self, row: dict[str, Any]) -> None:
        try:
            await (await self._sql()).upsert(self._table, row, ["id"])
        except Exception:
            logger.exception("storing chat completion %s failed", row["id"])

    async def flush(self) -> None:
        """Wait until everything queued so far is written."""
        await self._queue.join()

    async def close(self) -> None:
        if self._writer is not None:
            await self.flush()
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer

    async def list(
        self, after: str | None, limit: int, model: str | None, order: Literal["asc", "desc"]
    ) -> StoredChatCompletionList:
        await self.flush()  # read your own writes
        sql = await self._sql()
        where = {"model": model} if model else {}
        cursor_row = (
            await fetch_visible_one(sql, self._table, CHAT_COMPLETION, {"id": after})
            if after
            else None
        )
        if after and cursor_row is None:
            raise NotFoundError("Chat completion", after, hint="(the `after` cursor)")
        order_by: builtins.list[tuple[str, Literal["asc", "desc"]]] = [
            ("created", order),
            ("seq", order),
        ]
        page = await fetch_visible(
            sql,
            self._table,
            CHAT_COMPLETION,
            where,
            order_by,
            limit,
            ("id", after) if after else None,
        )
        data = [_stored(row) for row in page.data]
        return StoredChatCompletionList(
            data=data,
            has_more=page.has_more,
            first_id=data[0].id if data else "",
            last_id=data[-1].id if data else "",
        )

    async def get(self, completion_id: str) -> StoredChatCompletion:
        await self.flush()
        row = await fetch_visible_one(
            await self._sql(), self._table, CHAT_COMPLETION, {"id": completion_id}
        )
        if row is None:
            raise NotFoundError("Chat completion", completion_id)
        return _stored(row)


def _stored(row: dict[str, Any]) -> StoredChatCompletion:
    return StoredChatCompletion.model_validate(
        {**row["completion"], "input_messages": row["input_messages"]}
    )


async def assembled(
    stream: AsyncIterator[ChatCompletionChunk], done: Any
) -> AsyncIterator[ChatCompletionChunk]:
    """Pass chunks through; when the stream ends, call `done(completion)` with the whole of it."""
    text: dict[int, list[str]] = {}
    calls: dict[int, dict[int, dict[str, Any]]] = {}
    finish: dict[int, Any] = {}
    last: ChatCompletionChunk | None = None
    usage: Usage | None = None
    async for chunk in stream:
        last, usage = chunk, chunk.usage or usage
        for choice in chunk.choices:
            text.setdefault(choice.index, []).append(choice.delta.content or "")
            finish[choice.index] = choice.finish_reason or finish.get(choice.index)
            for delta in choice.delta.tool_calls or []:
                call = calls.setdefault(choice.index, {}).setdefault(
                    delta.index, {"id": "", "name": "", "args": ""}
                )
                call["id"] = delta.id or call["id"]
                if delta.function is not None:
                    call["name"] += delta.function.name or ""
                    call["args"] += delta.function.arguments or ""
        yield chunk
    if last is not None:
        choices = [
            ChatChoice(
                index=i,
                message=ChatCompletionMessage(
                    content="".join(parts) or None,
                    tool_calls=[
                        ToolCall(
                            id=c["id"], function=FunctionCall(name=c["name"], arguments=c["args"])
                        )
                        for _, c in sorted(calls.get(i, {}).items())
                    ]
                    or None,
                ),
                finish_reason=finish.get(i) or "stop",
            )
            for i, parts in sorted(text.items())
        ]
        done(
            ChatCompletion(
                id=last.id, created=last.created, model=last.model, choices=choices, usage=usage
            )
        )
