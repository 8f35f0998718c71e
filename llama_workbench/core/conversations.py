"""ConversationsStore: the Conversations API on the stack's SQL store (conversations, items)."""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, get_args

from pydantic import TypeAdapter, ValidationError

from llama_workbench.apis.conversations.models import (
    MAX_METADATA_KEY,
    MAX_METADATA_PAIRS,
    MAX_METADATA_VALUE,
    Conversation,
    ConversationDeleted,
    ConversationItemDeleted,
    ConversationItemInclude,
    ConversationItemList,
)
from llama_workbench.apis.responses.models import Item, new_id, now
from llama_workbench.core.access import (
    CONVERSATION,
    check_access,
    check_create,
    fetch_visible_one,
    owner_for_new_resource,
)
from llama_workbench.core.errors import BadRequestError, ConflictError, NotFoundError
from llama_workbench.storage.config import SqlStoreRef
from llama_workbench.storage.sql import ColumnDefinition, ColumnType, SqlStore

if TYPE_CHECKING:
    from llama_workbench.core.policy import Action
    from llama_workbench.storage.manager import StorageManager

_CONVERSATIONS: dict[str, ColumnType | ColumnDefinition] = {
    "id": ColumnDefinition(ColumnType.STRING, primary_key=True),
    "created_at": ColumnDefinition(ColumnType.INTEGER, nullable=False),
    "metadata": ColumnType.JSON,
    "owner": ColumnType.STRING,
}
_ITEMS: dict[str, ColumnType | ColumnDefinition] = {
    # Item ids are unique per conversation, not globally: the key is "<conversation>/<item>".
    "row_key": ColumnDefinition(ColumnType.STRING, primary_key=True),
    "id": ColumnDefinition(ColumnType.STRING, nullable=False),
    "conversation_id": ColumnDefinition(ColumnType.STRING, nullable=False),
    "seq": ColumnDefinition(ColumnType.INTEGER, nullable=False),  # order within a conversation
    "created_at": ColumnDefinition(ColumnType.INTEGER, nullable=False),
    "item": ColumnDefinition(ColumnType.JSON, nullable=False),
}
# Llama Stack 0.7.3's ids: "conv_" + 48 lowercase hex; ours were "conv_" + 32 before, still valid.
CONVERSATION_ID = re.compile(r"^conv_[0-9a-f]{32}(?:[0-9a-f]{16})?$")
_ID_PREFIXES = {"message": "msg", "function_call": "fc", "function_call_output": "fco"}
_INCLUDES = frozenset(get_args(ConversationItemInclude))
_ITEM: TypeAdapter[Item] = TypeAdapter(Item)
_ITEM_LIST: TypeAdapter[list[Item]] = TypeAdapter(list[Item])


class ConversationsStore:
    """Conversations in `<table_name>`, their items in `<table_name>_items`.

    The database is opened on first use, so building a stack stays fast. A caller sees only
    the conversations it owns (admins and unauthenticated library use see all of them).
    """

    def __init__(self, storage: StorageManager, ref: SqlStoreRef) -> None:
        self._storage = storage
        self._ref = ref
        self._table = ref.table_name
        self._items = f"{ref.table_name}_items"
        self._store: SqlStore | None = None
        self._opening = asyncio.Lock()
        self._appending = asyncio.Lock()  # one writer picks the next `seq` at a time

    async def _sql(self) -> SqlStore:
        async with self._opening:
            if self._store is None:
                store = await self._storage.sql(self._ref)
                await store.create_table(self._table, _CONVERSATIONS)
                await store.create_table(self._items, _ITEMS)
                self._store = store
        return self._store

    async def create_conversation(
        self, items: list[Item] | None = None, metadata: dict[str, str] | None = None
    ) -> Conversation:
        """A new conversation, holding `items` (oldest first) and `metadata` (16 pairs at most)."""
        checked = _checked_metadata({} if metadata is None else metadata)
        stored = _with_ids(_validated(items or []))
        conversation = Conversation(
            id=f"conv_{secrets.token_hex(24)}", created_at=now(), metadata=checked
        )
        check_create(CONVERSATION, conversation.id)
        sql = await self._sql()
        await sql.insert(
            self._table,
            {
                "id": conversation.id,
                "created_at": conversation.created_at,
                "metadata": checked,
                "owner": owner_for_new_resource(),
            },
        )
        if stored:
            await self._append(sql, conversation.id, stored)
        return conversation

    async def retrieve_conversation(self, conversation_id: str) -> Conversation:
        """One conversation."""
        return _conversation(await self._visible_row(conversation_id))

    async def update_conversation(
        self, conversation_id: str, metadata: dict[str, str]
    ) -> Conversation:
        """Replace a conversation's metadata."""
        checked = _checked_metadata(metadata)
        row = await self._visible_row(conversation_id, "update")
        await (await self._sql()).update(
            self._table, {"metadata": checked}, {"id": conversation_id}
        )
        return _conversation({**row, "metadata": checked})

    async def delete_conversation(self, conversation_id: str) -> ConversationDeleted:
        """Delete a conversation and every item in it."""
        await self._visible_row(conversation_id, "delete")
        sql = await self._sql()
        # The conversation first: if the second delete fails, no half-emptied one stays visible.
        await sql.delete(self._table, {"id": conversation_id})
        await sql.delete(self._items, {"conversation_id": conversation_id})
        return ConversationDeleted(id=conversation_id)

    async def create_items(self, conversation_id: str, items: list[Item]) -> ConversationItemList:
        """Append items (ids are given to those without one); returns them as stored.

        OpenAI's limit of 20 items per call is the HTTP request's; the Responses engine
        records whole turns here, which can be longer.
        """
        stored = _with_ids(_validated(items))
        if not stored:
            raise BadRequestError("create_items needs at least one item.")
        await self._visible_row(conversation_id, "update")
        await self._append(await self._sql(), conversation_id, stored)
        data = [item for _, item in stored]
        return ConversationItemList(
            data=data, first_id=stored[0][0], last_id=stored[-1][0], has_more=False
        )

    async def list_items(
        self,
        conversation_id: str,
        after: str | None = None,
        include: list[ConversationItemInclude] | None = None,
        limit: int = 20,
        order: Literal["asc", "desc"] = "desc",
    ) -> ConversationItemList:
        """A page of items, newest first by default; `after` is the last id of the previous page.

        Items are stored whole, so whatever `include` asks for is already in them.
        """
        _check_list_args(include, limit, order)
        await self._visible_row(conversation_id)
        sql = await self._sql()
        cursor: tuple[str, str] | None = None
        if after is not None:
            await self._item_row(sql, conversation_id, after, hint="(the `after` cursor)")
            cursor = ("row_key", _row_key(conversation_id, after))
        page = await sql.fetch_all(
            self._items, {"conversation_id": conversation_id}, [("seq", order)], limit, cursor
        )
        data = [_ITEM.validate_python(row["item"]) for row in page.data]
        return ConversationItemList(
            data=data,
            first_id=page.data[0]["id"] if page.data else None,
            last_id=page.data[-1]["id"] if page.data else None,
            has_more=page.has_more,
        )

    async def retrieve_item(self, conversation_id: str, item_id: str) -> Item:
        """One item of a conversation."""
        await self._visible_row(conversation_id)
        row = await self._item_row(await self._sql(), conversation_id, item_id)
        return _ITEM.validate_python(row["item"])

    async def delete_item(self, conversation_id: str, item_id: str) -> ConversationItemDeleted:
        """Delete one item of a conversation."""
        await self._visible_row(conversation_id, "update")
        sql = await self._sql()
        await self._item_row(sql, conversation_id, item_id)
        await sql.delete(self._items, {"row_key": _row_key(conversation_id, item_id)})
        return ConversationItemDeleted(id=item_id)

    async def all_items(self, conversation_id: str) -> list[Item]:
        """Every item of a conversation, oldest first (what the Responses engine replays)."""
        await self._visible_row(conversation_id)
        page = await (await self._sql()).fetch_all(
            self._items, {"conversation_id": conversation_id}, [("seq", "asc")]
        )
        return [_ITEM.validate_python(row["item"]) for row in page.data]

    async def _visible_row(self, conversation_id: str, action: Action = "read") -> dict[str, Any]:
        """The conversation's row: a 404 when the caller may not read it, a 403 when they may
        not do `action` on it."""
        check_conversation_id(conversation_id)
        sql = await self._sql()
        row = await fetch_visible_one(sql, self._table, CONVERSATION, {"id": conversation_id})
        if row is None:
            raise NotFoundError("Conversation", conversation_id)
        check_access(row["owner"], CONVERSATION, conversation_id, action)
        return row

    async def _item_row(
        self, sql: SqlStore, conversation_id: str, item_id: str, *, hint: str = ""
    ) -> dict[str, Any]:
        row = await sql.fetch_one(self._items, {"row_key": _row_key(conversation_id, item_id)})
        if row is None:
            raise NotFoundError(
                "Conversation item",
                item_id,
                parent=f"conversation '{conversation_id}'",
                list_command=f'conversations.items.list("{conversation_id}")',
                plural="conversation items",
                hint=hint,
            )
        return row

    async def _append(
        self, sql: SqlStore, conversation_id: str, items: list[tuple[str, Item]]
    ) -> None:
        ids = [item_id for item_id, _ in items]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ConflictError(f"Item ids must be unique; repeated: {', '.join(repeated)}.")
        created = now()
        async with self._appending:
            start = await self._next_seq(sql, conversation_id)
            rows = [
                {
                    "row_key": _row_key(conversation_id, item_id),
                    "id": item_id,
                    "conversation_id": conversation_id,
                    "seq": start + i,
                    "created_at": created,
                    "item": item.model_dump(mode="json", exclude_none=True),
                }
                for i, (item_id, item) in enumerate(items)
            ]
            try:
                await sql.insert(self._items, rows)
            except ConflictError:
                taken = [
                    i for i in ids
                    if await sql.fetch_one(self._items, {"row_key": _row_key(conversation_id, i)})
                ]  # fmt: skip
                raise ConflictError(
                    f"Conversation '{conversation_id}' already has items with the ids: "
                    f"{', '.join(taken)}."
                ) from None

    async def _next_seq(self, sql: SqlStore, conversation_id: str) -> int:
        """Nanoseconds now, but always past the conversation's last item (clocks step back)."""
        page = await sql.fetch_all(
            self._items, {"conversation_id": conversation_id}, [("seq", "desc")], 1
        )
        last = int(page.data[0]["seq"]) if page.data else 0
        return max(time.time_ns(), last + 1)


def check_conversation_id(conversation_id: str) -> None:
    """A malformed id is a bad request (400), as in Llama Stack 0.7.3; only a missing one is 404."""
    if not isinstance(conversation_id, str) or not CONVERSATION_ID.fullmatch(conversation_id):
        raise BadRequestError(
            f"Invalid value for 'conversation_id': {conversation_id}. Conversation ID must match "
            "format 'conv_' followed by 48 lowercase hex characters."
        )


def _row_key(conversation_id: str, item_id: str) -> str:
    return f"{conversation_id}/{item_id}"


def _conversation(row: Mapping[str, Any]) -> Conversation:
    return Conversation(id=row["id"], created_at=row["created_at"], metadata=row["metadata"] or {})


def _validated(items: Sequence[Any]) -> list[Item]:
    """Items as models: library callers may pass dicts too, so everything is checked here."""
    try:
        return _ITEM_LIST.validate_python(list(items))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise BadRequestError(f"Invalid conversation items: {problems}") from None


def _with_ids(items: list[Item]) -> list[tuple[str, Item]]:
    """Each item with its id; items without one get `msg_…`, `fc_…`, `fco_…` ids."""
    out: list[tuple[str, Item]] = []
    for item in items:
        item_id = item.id or new_id(_ID_PREFIXES.get(item.type, "item"))
        out.append(
            (item_id, item if item.id == item_id else item.model_copy(update={"id": item_id}))
        )
    return out


def _checked_metadata(metadata: Mapping[str, Any]) -> dict[str, str]:
    """OpenAI's rules: 16 pairs at most, keys up to 64 characters, string values up to 512."""
    if not isinstance(metadata, Mapping):
        raise BadRequestError("metadata must be an object of string keys and string values.")
    if len(metadata) > MAX_METADATA_PAIRS:
        raise BadRequestError(
            f"metadata takes at most {MAX_METADATA_PAIRS} key-value pairs, got {len(metadata)}."
        )
    for key, value in metadata.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise BadRequestError(
                f"metadata keys and values must be strings; {key!r} has a {type(value).__name__}."
            )
        if len(key) > MAX_METADATA_KEY:
            raise BadRequestError(
                f"metadata keys are at most {MAX_METADATA_KEY} characters; "
                f"{key[:16]!r}... has {len(key)}."
            )
        if len(value) > MAX_METADATA_VALUE:
            raise BadRequestError(
                f"metadata values are at most {MAX_METADATA_VALUE} characters; "
                f"the value of {key!r} has {len(value)}."
            )
    return dict(metadata)


def _check_list_args(include: Sequence[str] | None, limit: int, order: str) -> None:
    unknown = sorted(set(include or []) - _INCLUDES)
    if unknown:
        raise BadRequestError(
            f"Unknown include values: {', '.join(unknown)}. Known: {', '.join(sorted(_INCLUDES))}."
        )
    if not 1 <= limit <= 100:
        raise BadRequestError(f"limit must be between 1 and 100, got {limit}.")
    if order not in ("asc", "desc"):
        raise BadRequestError(f"order must be 'asc' or 'desc', got {order!r}.")
