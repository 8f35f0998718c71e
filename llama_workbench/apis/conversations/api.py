"""The Conversations API protocol: conversations that keep the items of a Responses dialogue."""

from __future__ import annotations

from typing import Literal, Protocol, runtime_checkable

from llama_workbench.apis.conversations.models import (
    Conversation,
    ConversationDeleted,
    ConversationItemDeleted,
    ConversationItemInclude,
    ConversationItemList,
)
from llama_workbench.apis.responses.models import Item


@runtime_checkable
class Conversations(Protocol):
    """Create, read, update and delete conversations and the items in them."""

    async def create_conversation(
        self, items: list[Item] | None = None, metadata: dict[str, str] | None = None
    ) -> Conversation:
        """A new conversation, holding `items` (oldest first) and `metadata` (16 pairs at most)."""
        ...

    async def retrieve_conversation(self, conversation_id: str) -> Conversation:
        """One conversation."""
        ...

    async def update_conversation(
        self, conversation_id: str, metadata: dict[str, str]
    ) -> Conversation:
        """Replace a conversation's metadata."""
        ...

    async def delete_conversation(self, conversation_id: str) -> ConversationDeleted:
        """Delete a conversation and every item in it."""
        ...

    async def create_items(self, conversation_id: str, items: list[Item]) -> ConversationItemList:
        """Append items (ids are given to those without one); returns them as stored."""
        ...

    async def list_items(
        self,
        conversation_id: str,
        after: str | None = None,
        include: list[ConversationItemInclude] | None = None,
        limit: int = 20,
        order: Literal["asc", "desc"] = "desc",
    ) -> ConversationItemList:
        """A page of items, newest first by default; `after` is the last id of the previous page."""
        ...

    async def retrieve_item(self, conversation_id: str, item_id: str) -> Item:
        """One item of a conversation."""
        ...

    async def delete_item(self, conversation_id: str, item_id: str) -> ConversationItemDeleted:
        """Delete one item of a conversation."""
        ...

    async def all_items(self, conversation_id: str) -> list[Item]:
        """Every item of a conversation, oldest first (what the Responses engine replays)."""
        ...
