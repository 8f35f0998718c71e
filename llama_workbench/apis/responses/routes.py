"""REST routes of the Responses API (OpenAI's /v1/responses), streamed as typed SSE events."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse

from llama_workbench.apis.responses.api import Responses
from llama_workbench.apis.responses.models import (
    CreateResponseRequest,
    InputItemList,
    ResponseDeleted,
    ResponseList,
    ResponseObject,
)
from llama_workbench.apis.streaming import sse_typed_events
from llama_workbench.core.errors import BadRequestError

_STREAM: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/event-stream": {}},
        "description": "A response; with `stream: true`, typed SSE events (response.created, ...).",
    }
}


def create_router(impl: Responses) -> APIRouter:
    router = APIRouter(tags=["responses"])

    @router.post(
        "/v1/responses",
        response_model=ResponseObject,
        responses=_STREAM,
        summary="Create a model response.",
    )
    async def create_response(request: CreateResponseRequest) -> Response:
        result = await impl.create_response(request)
        if isinstance(result, ResponseObject):
            return Response(
                result.model_dump_json(exclude_none=True), media_type="application/json"
            )
        return StreamingResponse(sse_typed_events(result), media_type="text/event-stream")

    @router.get("/v1/responses", response_model=ResponseList, summary="List all responses.")
    async def list_responses(
        after: str | None = None,
        limit: int = Query(50, ge=1, le=100),
        model: str | None = None,
        order: Literal["asc", "desc"] = "desc",
    ) -> ResponseList:
        return await impl.list_responses(after, limit, model, order)

    @router.get(
        "/v1/responses/{response_id}",
        response_model=ResponseObject,
        summary="Get a model response.",
    )
    async def retrieve_response(response_id: str) -> ResponseObject:
        return await impl.retrieve_response(response_id)

    @router.delete(
        "/v1/responses/{response_id}", response_model=ResponseDeleted, summary="Delete a response."
    )
    async def delete_response(response_id: str) -> ResponseDeleted:
        return await impl.delete_response(response_id)

    @router.get(
        "/v1/responses/{response_id}/input_items",
        response_model=InputItemList,
        summary="List input items.",
    )
    async def list_input_items(
        response_id: str,
        after: str | None = None,
        before: str | None = None,
        include: Annotated[list[str] | None, Query()] = None,
        limit: int = Query(20, ge=1, le=100),
        order: Literal["asc", "desc"] = "desc",
        *,
        http: Request,
    ) -> InputItemList:
        # The openai SDK sends arrays as include[]=...; as Llama Stack 0.7.3, stored input items
        # come back whole, never trimmed or extended.
        include = [*(include or []), *http.query_params.getlist("include[]")]
        if include:
            raise BadRequestError(
                f"include ({', '.join(include)}) is not supported on input items: they are "
                "returned as they were stored, with every field they have."
            )
        return await impl.list_input_items(response_id, after, before, limit, order)

    @router.post(
        "/v1/responses/{response_id}/cancel",
        response_model=ResponseObject,
        summary="Cancel a background response that is in progress.",
    )
    async def cancel_response(response_id: str) -> ResponseObject:
        return await impl.cancel_response(response_id)

    return router
