"""The Responses API protocol: create (plain, streamed or in the background), read and manage responses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Literal, Protocol, runtime_checkable

from llama_workbench.apis.responses.models import (
    CreateResponseRequest,
    InputItemList,
    ResponseDeleted,
    ResponseList,
    ResponseObject,
    StreamEvent,
)


@runtime_checkable
class Responses(Protocol):
    """OpenAI's Responses API: the stack runs file_search and MCP tools itself, in a loop."""

    async def create_response(
        self, request: CreateResponseRequest
    ) -> ResponseObject | AsyncIterator[StreamEvent]:
        """A response; with `stream=True`, an async iterator of typed events ending in response.completed."""
        ...

    async def retrieve_response(self, response_id: str) -> ResponseObject:
        """A stored response (store=True), or a background one in progress."""
        ...

    async def list_responses(
        self,
        after: str | None = None,
        limit: int = 50,
        model: str | None = None,
        order: Literal["asc", "desc"] = "desc",
    ) -> ResponseList:
        """Stored responses, newest first by default, with their input."""
        ...

    async def list_input_items(
        self,
        response_id: str,
        after: str | None = None,
        before: str | None = None,
        limit: int = 20,
        order: Literal["asc", "desc"] = "desc",
    ) -> InputItemList:
        """The input items of a stored response."""
        ...

    async def delete_response(self, response_id: str) -> ResponseDeleted:
        """Forget a stored response."""
        ...

    async def cancel_response(self, response_id: str) -> ResponseObject:
        """Stop a background response that is queued or in progress."""
        ...


@runtime_checkable
class ResponsesProvider(Responses, Protocol):
    """A responses provider: the API itself, its conversations store, and shutdown."""

    async def shutdown(self) -> None: ...
