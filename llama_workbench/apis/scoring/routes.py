"""REST routes of the Scoring API (Llama Stack 0.7 paths)."""

from __future__ import annotations

from fastapi import APIRouter

from llama_workbench.apis.scoring.api import Scoring
from llama_workbench.apis.scoring.models import (
    ScoreBatchRequest,
    ScoreBatchResponse,
    ScoreRequest,
    ScoreResponse,
)


def create_router(impl: Scoring) -> APIRouter:
    router = APIRouter(tags=["scoring"])

    @router.post("/v1/scoring/score", response_model=ScoreResponse, summary="Score a list of rows.")
    async def score(request: ScoreRequest) -> ScoreResponse:
        return await impl.score(
            input_rows=request.input_rows, scoring_functions=request.scoring_functions
        )

    @router.post(
        "/v1/scoring/score-batch",
        response_model=ScoreBatchResponse,
        summary="Score a batch of rows.",
    )
    async def score_batch(request: ScoreBatchRequest) -> ScoreBatchResponse:
        return await impl.score_batch(
            dataset_id=request.dataset_id,
            scoring_functions=request.scoring_functions,
            save_results_dataset=request.save_results_dataset,
        )

    return router
