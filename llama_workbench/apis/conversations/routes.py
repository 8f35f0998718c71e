"""REST routes of the Conversations API (OpenAI-compatible, Llama Stack 0.7 paths)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from llama_workbench.apis.conversations.api import Conversations
from llama_workbench.apis.conversations.models import (
    Conversation,
    ConversationDeleted,
    ConversationItemDeleted,
    ConversationItemInclude,
    ConversationItemList,
    CreateConversationRequest,
    CreateItemsRequest,
    UpdateConversationRequest,
)
from llama_workbench.apis.responses.models import Item

_CONV = "/v1/conversations"
_ONE = _CONV + "/{conversation_id}"
_ITEMS = _ONE + "/items"
_ITEM = _ITEMS + "/{item_id}"


def create_router(impl: Conversations) -> APIRouter:
    router = APIRouter(tags=["conversations"])

    @router.post(_CONV, response_model=Conversation, summary="Create a conversation.")
    async def create_conversation(request: CreateConversationRequest) -> Conversation:
        return await impl.create_conversation(request.items, request.metadata)

    @router.get(_ONE, response_model=Conversation, summary="Retrieve a conversation.")
    async def retrieve_conversation(conversation_id: str) -> Conversation:
        return await impl.retrieve_conversation(conversation_id)

    @router.post(_ONE, response_model=Conversation, summary="Update a conversation.")
    async def update_conversation(
        conversation_id: str, request: UpdateConversationRequest
    ) -> Conversation:
        return await impl.update_conversation(conversation_id, request.metadata)

    @router.delete(_ONE, response_model=ConversationDeleted, summary="Delete a conversation.")
    async def delete_conversation(conversation_id: str) -> ConversationDeleted:
        return await impl.delete_conversation(conversation_id)

    @router.post(_ITEMS, response_model=ConversationItemList, summary="Create items.")
    async def create_items(
        conversation_id: str, request: CreateItemsRequest
    ) -> ConversationItemList:
        return await impl.create_items(conversation_id, request.items)

    @router.get(_ITEMS, response_model=ConversationItemList, summary="List items.")
    async def list_items(
        conversation_id: str,
        after: str | None = Query(None, description="The last id of the previous page."),
        include: Annotated[
            list[ConversationItemInclude] | None,
            Query(description="Additional output data to include."),
        ] = None,
        limit: int = Query(20, ge=1, le=100),
        order: Literal["asc", "desc"] = Query("desc", description="By the order items were added."),
    ) -> ConversationItemList:
        return await impl.list_items(conversation_id, after, include, limit, order)

    @router.get(_ITEM, response_model=Item, summary="Retrieve an item.")
    async def retrieve_item(conversation_id: str, item_id: str) -> Item:
        return await impl.retrieve_item(conversation_id, item_id)

    @router.delete(_ITEM, response_model=ConversationItemDeleted, summary="Delete an item.")
    async def delete_item(conversation_id: str, item_id: str) -> ConversationItemDeleted:
        return await impl.delete_item(conversation_id, item_id)

    return router
