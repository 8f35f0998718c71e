"""`stack.conversations`: the Conversations API as calls that return results.

Generated from llama_workbench/apis/conversations/api.py by `python -m llama_workbench.facade._codegen`;
edit the Protocol (or its request models) and run it again, never this file."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from llama_workbench.facade._runtime import SyncFace

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


class ConversationsApi(SyncFace):
    """Create, read, update and delete conversations and the items in them."""

    __slots__ = ()

    def create_conversation(
        self, items: list[Item] | None = None, metadata: dict[str, str] | None = None
    ) -> Conversation:
        """A new conversation, holding `items` (oldest first) and `metadata` (16 pairs at most)."""
        return cast("Conversation", self._call("create_conversation", locals()))

    def retrieve_conversation(self, conversation_id: str) -> Conversation:
        """One conversation."""
        return cast("Conversation", self._call("retrieve_conversation", locals()))

    def update_conversation(self, conversation_id: str, metadata: dict[str, str]) -> Conversation:
        """Replace a conversation's metadata."""
        return cast("Conversation", self._call("update_conversation", locals()))

    def delete_conversation(self, conversation_id: str) -> ConversationDeleted:
        """Delete a conversation and every item in it."""
        return cast("ConversationDeleted", self._call("delete_conversation", locals()))

    def create_items(self, conversation_id: str, items: list[Item]) -> ConversationItemList:
        """Append items (ids are given to those without one); returns them as stored."""
        return cast("ConversationItemList", self._call("create_items", locals()))

    def list_items(
        self,
        conversation_id: str,
        after: str | None = None,
        include: list[ConversationItemInclude] | None = None,
        limit: int = 20,
        order: Literal["asc", "desc"] = "desc",
    ) -> ConversationItemList:
        """A page of items, newest first by default; `after` is the last id of the previous page."""
        return cast("ConversationItemList", self._call("list_items", locals()))

    def retrieve_item(self, conversation_id: str, item_id: str) -> Item:
        """One item of a conversation."""
        return cast("Item", self._call("retrieve_item", locals()))

    def delete_item(self, conversation_id: str, item_id: str) -> ConversationItemDeleted:
        """Delete one item of a conversation."""
        return cast("ConversationItemDeleted", self._call("delete_item", locals()))

    def all_items(self, conversation_id: str) -> list[Item]:
        """Every item of a conversation, oldest first (what the Responses engine replays)."""
        return cast("list[Item]", self._call("all_items", locals()))
