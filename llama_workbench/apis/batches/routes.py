"""REST routes of the Batches API (OpenAI-compatible, Llama Stack 0.7 paths)."""

from __future__ import annotations

from fastapi import APIRouter, Query

from llama_workbench.apis.batches.api import Batches
from llama_workbench.apis.batches.models import BatchObject, CreateBatchRequest, ListBatchesResponse

_ONE = "/v1/batches/{batch_id}"


def create_router(impl: Batches) -> APIRouter:
    router = APIRouter(tags=["batches"])

    @router.post(
        "/v1/batches",
        response_model=BatchObject,
        summary="Create a new batch for processing multiple API requests.",
    )
    async def create_batch(request: CreateBatchRequest) -> BatchObject:
        return await impl.create_batch(request)

    @router.get(
        "/v1/batches",
        response_model=ListBatchesResponse,
        summary="List all batches for the current user.",
    )
    async def list_batches(
        after: str | None = Query(None, description="The last id of the previous page."),
        limit: int = Query(20, ge=1, le=10000, description="At most this many batches."),
    ) -> ListBatchesResponse:
        return await impl.list_batches(after, limit)

    @router.get(
        _ONE, response_model=BatchObject, summary="Retrieve information about a specific batch."
    )
    async def retrieve_batch(batch_id: str) -> BatchObject:
        return await impl.retrieve_batch(batch_id)

    @router.post(
        _ONE + "/cancel", response_model=BatchObject, summary="Cancel a batch that is in progress."
    )
    async def cancel_batch(batch_id: str) -> BatchObject:
        return await impl.cancel_batch(batch_id)

    return router
