"""REST routes of the ScoringFunctions API (Llama Stack 0.7 paths)."""

from __future__ import annotations

from fastapi import APIRouter

from llama_workbench.apis.scoring_functions.api import ScoringFunctions
from llama_workbench.apis.scoring_functions.models import (
    ListScoringFunctionsResponse,
    RegisterScoringFunctionRequest,
    ScoringFn,
)


def create_router(impl: ScoringFunctions) -> APIRouter:
    router = APIRouter(tags=["scoring_functions"])

    @router.get(
        "/v1/scoring-functions",
        response_model=ListScoringFunctionsResponse,
        summary="List all scoring functions.",
    )
    async def list_scoring_functions() -> ListScoringFunctionsResponse:
        return ListScoringFunctionsResponse(data=await impl.list())

    @router.get(
        "/v1/scoring-functions/{scoring_fn_id:path}",
        response_model=ScoringFn,
        summary="Get a scoring function by its ID.",
    )
    async def get_scoring_function(scoring_fn_id: str) -> ScoringFn:
        return await impl.retrieve(scoring_fn_id)

    @router.post(
        "/v1/scoring-functions",
        response_model=ScoringFn,
        summary="Register a scoring function.",
        deprecated=True,
    )
    async def register_scoring_function(request: RegisterScoringFunctionRequest) -> ScoringFn:
        return await impl.register(
            scoring_fn_id=request.scoring_fn_id,
            description=request.description,
            return_type=request.return_type,
            provider_scoring_fn_id=request.provider_scoring_fn_id,
            provider_id=request.provider_id,
            params=request.params,
        )

    @router.delete(
        "/v1/scoring-functions/{scoring_fn_id:path}",
        summary="Unregister a scoring function.",
        deprecated=True,
    )
    async def unregister_scoring_function(scoring_fn_id: str) -> None:
        await impl.unregister(scoring_fn_id)

    return router
