"""REST routes of the Safety API (Llama Stack 0.7 paths, OpenAI's /v1/moderations)."""

from __future__ import annotations

from fastapi import APIRouter

from llama_workbench.apis.safety.api import Safety
from llama_workbench.apis.safety.models import (
    ModerationObject,
    RunModerationRequest,
    RunShieldRequest,
    RunShieldResponse,
)


def create_router(impl: Safety) -> APIRouter:
    router = APIRouter(tags=["safety"])

    @router.post("/v1/safety/run-shield", response_model=RunShieldResponse, summary="Run Shield")
    async def run_shield(request: RunShieldRequest) -> RunShieldResponse:
        return await impl.run_shield(request)

    @router.post(
        "/v1/moderations",
        response_model=ModerationObject,
        summary="Create Moderation",
        response_model_exclude_none=True,
    )
    async def create_moderation(request: RunModerationRequest) -> ModerationObject:
        return await impl.run_moderation(request)

    return router
