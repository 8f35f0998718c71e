"""REST routes of the Inference API (OpenAI-compatible, Llama Stack 0.7 paths)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response, StreamingResponse

from llama_workbench.apis.inference.api import Inference
from llama_workbench.apis.inference.models import (
    ChatCompletion,
    ChatCompletionRequest,
    Completion,
    CompletionRequest,
    EmbeddingsRequest,
    EmbeddingsResponse,
    StoredChatCompletion,
    StoredChatCompletionList,
)
from llama_workbench.apis.inference.rerank_models import RerankRequest, RerankResponse
from llama_workbench.apis.streaming import sse_events

_STREAM: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {}}, "description": "With `stream: true`, SSE chunks."}
}


def create_router(impl: Inference) -> APIRouter:
    router = APIRouter(tags=["inference"])

    @router.post(
        "/v1/chat/completions",
        response_model=ChatCompletion,
        responses=_STREAM,
        summary="Create chat completions.",
        response_model_exclude_none=True,
    )
    async def chat_completions(request: ChatCompletionRequest) -> Response:
        return _answer(await impl.chat_completion(request), request.stream)

    @router.post(
        "/v1/completions",
        response_model=Completion,
        responses=_STREAM,
        summary="Create completion.",
        response_model_exclude_none=True,
    )
    async def completions(request: CompletionRequest) -> Response:
        return _answer(await impl.completion(request), request.stream)

    @router.get(
        "/v1/chat/completions",
        response_model=StoredChatCompletionList,
        summary="List chat completions.",
        response_model_exclude_none=True,
    )
    async def list_chat_completions(
        after: str | None = Query(None, description="The last id of the previous page."),
        # Uncapped, as in Llama Stack 0.7.3 (its clients page with limit=1000); null means 20.
        limit: int | None = Query(20, ge=1, description="The most completions to return."),
        model: str | None = Query(None, description="Only completions of this model."),
        order: Literal["asc", "desc"] | None = Query("desc", description="By creation time."),
    ) -> StoredChatCompletionList:
        return await impl.list_chat_completions(after, limit or 20, model, order or "desc")

    @router.get(
        "/v1/chat/completions/{completion_id}",
        response_model=StoredChatCompletion,
        summary="Get chat completion.",
        response_model_exclude_none=True,
    )
    async def get_chat_completion(completion_id: str) -> StoredChatCompletion:
        return await impl.get_chat_completion(completion_id)

    @router.post("/v1/embeddings", response_model=EmbeddingsResponse, summary="Create embeddings.")
    async def embeddings(request: EmbeddingsRequest) -> EmbeddingsResponse:
        return await impl.embeddings(request)

    @router.post(
        "/v1alpha/inference/rerank",
        response_model=RerankResponse,
        summary="Rerank documents based on relevance to a query.",
    )
    async def rerank(request: RerankRequest) -> RerankResponse:
        return await impl.rerank(request)

    return router


def _answer(result: Any, stream: bool | None) -> Response:
    """SSE for a stream; else the JSON straight from pydantic-core (already a validated model,
    so FastAPI's second validation through response_model is skipped on this hot path)."""
    if stream:
        return StreamingResponse(sse_events(result), media_type="text/event-stream")
    return Response(result.model_dump_json(exclude_none=True), media_type="application/json")
