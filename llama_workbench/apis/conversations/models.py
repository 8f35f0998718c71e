"""Types of the Conversations API: conversations, their item lists, requests, deletion results."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from llama_workbench.apis.base import ApiModel
from llama_workbench.apis.responses.models import Item

MAX_ITEMS_PER_CALL = 20  # OpenAI's limit on the items one request may add
MAX_METADATA_PAIRS = 16
MAX_METADATA_KEY = 64
MAX_METADATA_VALUE = 512

ConversationItemInclude = Literal[
    "web_search_call.action.sources",
    "code_interpreter_call.outputs",
    "computer_call_output.output.image_url",
    "file_search_call.results",
    "message.input_image.image_url",
    "message.output_text.logprobs",
    "reasoning.encrypted_content",
]


class Conversation(ApiModel):
    """OpenAI-compatible conversation object."""

    id: str = Field(description="The unique ID of the conversation.")
    object: Literal["conversation"] = "conversation"
    created_at: int = Field(description="Creation time, seconds since the Unix epoch.")
    metadata: dict[str, str] | None = Field(
        None, description="Up to 16 key-value pairs attached to the conversation."
    )


class CreateConversationRequest(ApiModel):
    """Request model for creating a conversation."""

    items: list[Item] | None = Field(
        None,
        max_length=MAX_ITEMS_PER_CALL,
        description="Initial items to include in the conversation context (20 at most).",
    )
    metadata: dict[str, str] | None = Field(
        None, description="Set of key-value pairs that can be attached to an object."
    )


class UpdateConversationRequest(ApiModel):
    """Request model for updating a conversation's metadata (it replaces the old metadata)."""

    metadata: dict[str, str] = Field(
        description="Set of key-value pairs that can be attached to an object."
    )


class CreateItemsRequest(ApiModel):
    """Request model for adding items to a conversation."""

    items: list[Item] = Field(
        min_length=1,
        max_length=MAX_ITEMS_PER_CALL,
        description="Items to include in the conversation context (1 to 20 at a time).",
    )


class ConversationItemList(ApiModel):
    """List of conversation items with pagination."""

    object: Literal["list"] = "list"
    data: list[Item]
    first_id: str | None = None
    last_id: str | None = None
    has_more: bool = False


class ConversationDeleted(ApiModel):
    """Response for a deleted conversation."""

    id: str
    object: Literal["conversation.deleted"] = "conversation.deleted"
    deleted: bool = True


class ConversationItemDeleted(ApiModel):
    """Response for a deleted conversation item."""

    id: str
    object: Literal["conversation.item.deleted"] = "conversation.item.deleted"
    deleted: bool = True
