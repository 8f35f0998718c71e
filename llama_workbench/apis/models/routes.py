"""REST routes of the Models API (Llama Stack 0.7 paths)."""

from __future__ import annotations

from fastapi import APIRouter

from llama_workbench.apis.models.api import Models
from llama_workbench.apis.models.models import (
    Model,
    OpenAIListModelsResponse,
    OpenAIModel,
    RegisterModelRequest,
)


def create_router(impl: Models) -> APIRouter:
    router = APIRouter(tags=["models"])

    @router.get(
        "/v1/models",
        response_model=OpenAIListModelsResponse,
        summary="List models using the OpenAI API.",
    )
    async def list_models() -> OpenAIListModelsResponse:
        return OpenAIListModelsResponse(data=[m.to_openai() for m in await impl.list()])

    @router.get(
        "/v1/models/{model_id:path}",
        response_model=OpenAIModel,
        summary="Get a model by its identifier.",
    )
    async def get_model(model_id: str) -> OpenAIModel:
        return (await impl.retrieve(model_id)).to_openai()

    @router.post("/v1/models", response_model=Model, summary="Register a model.", deprecated=True)
    async def register_model(request: RegisterModelRequest) -> Model:
        return await impl.register(request)

    @router.delete("/v1/models/{model_id:path}", summary="Unregister a model.", deprecated=True)
    async def unregister_model(model_id: str) -> None:
        await impl.unregister(model_id)

    return router
