"""REST routes of the Providers API."""

from __future__ import annotations

from fastapi import APIRouter

from llama_workbench.apis.providers.api import Providers
from llama_workbench.apis.providers.models import ListProvidersResponse, ProviderInfo


def create_router(impl: Providers) -> APIRouter:
    router = APIRouter(tags=["providers"])

    @router.get("/v1/providers", response_model=ListProvidersResponse, summary="List providers.")
    async def list_providers() -> ListProvidersResponse:
        return ListProvidersResponse(data=await impl.list())

    @router.get("/v1/providers/{provider_id}", response_model=ProviderInfo, summary="Get provider.")
    async def get_provider(provider_id: str) -> ProviderInfo:
        return await impl.retrieve(provider_id)

    return router
