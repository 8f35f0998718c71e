"""`stack.aio.conversations`: the Conversations API as coroutines.

Generated from llama_workbench/apis/conversations/api.py by `python -m llama_workbench.facade._codegen`;
edit the Protocol (or its request models) and run it again, never this file."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from llama_workbench.facade._runtime import AsyncFace

if TYPE_CHECKING:
    from typing import Literal

    from llama_workbench.apis.conversations.models import (
        Conversation,
        ConversationDeleted,
        ConversationItemDeleted,
        ConversationItemInclude,
        ConversationItemList,
    )
    from llama_workbench.apis.responses.models import Item


class AsyncConversationsApi(AsyncFace):
    """Create, read, update and delete conversations and the items in them."""

    __slots__ = ()

    async def create_conversation(
        self, items: list[Item] | None = None, metadata: dict[str, str] | None = None
    ) -> Conversation:
        """A new conversation, holding `items` (oldest first) and `metadata` (16 pairs at most)."""
        return cast("Conversation", await self._call("create_conversation", locals()))

    async def retrieve_conversation(self, conversation_id: str) -> Conversation:
        """One conversation."""
        return cast("Conversation", await self._call("retrieve_conversation", locals()))

    async def update_conversation(
        self, conversation_id: str, metadata: dict[str, str]
    ) -> Conversation:
        """Replace a conversation's metadata."""
        return cast("Conversation", await self._call("update_conversation", locals()))

    async def delete_conversation(self, conversation_id: str) -> ConversationDeleted:
        """Delete a conversation and every item in it."""
        return cast("ConversationDeleted", await self._call("delete_conversation", locals()))

    async def create_items(self, conversation_id: str, items: list[Item]) -> ConversationItemList:
        """Append items (ids are given to those without one); returns them as stored."""
        return cast("ConversationItemList", await self._call("create_items", locals()))

    async def list_items(
        self,
        conversation_id: str,
        after: str | None = None,
        include: list[ConversationItemInclude] | None = None,
        limit: int = 20,
        order: Literal["asc", "desc"] = "desc",
    ) -> ConversationItemList:
        """A page of items, newest first by default; `after` is the last id of the previous page."""
        return cast("ConversationItemList", await self._call("list_items", locals()))

    async def retrieve_item(self, conversation_id: str, item_id: str) -> Item:
        """One item of a conversation."""
        return cast("Item", await self._call("retrieve_item", locals()))

    async def delete_item(self, conversation_id: str, item_id: str) -> ConversationItemDeleted:
        """Delete one item of a conversation."""
        return cast("ConversationItemDeleted", await self._call("delete_item", locals()))

    async def all_items(self, conversation_id: str) -> list[Item]:
        """Every item of a conversation, oldest first (what the Responses engine replays)."""
        return cast("list[Item]", await self._call("all_items", locals()))
