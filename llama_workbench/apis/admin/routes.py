"""REST routes of the Admin API (Llama Stack 0.7.3, /v1alpha/admin); admin-only with auth on."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from llama_workbench.apis.admin.api import Admin
from llama_workbench.apis.inspect.models import HealthInfo, ListRoutesResponse, VersionInfo
from llama_workbench.apis.inspect.routes import FILTER_HELP, ApiFilter, route_list
from llama_workbench.apis.providers.models import ListProvidersResponse, ProviderInfo
from llama_workbench.core.admin import require_admin


def create_router(impl: Admin) -> APIRouter:
    router = APIRouter(tags=["admin"])

    @router.get(
        "/v1alpha/admin/providers",
        response_model=ListProvidersResponse,
        summary="List all available providers",
    )
    async def list_providers() -> ListProvidersResponse:
        return await impl.list_providers()

    @router.get(
        "/v1alpha/admin/providers/{provider_id}",
        response_model=ProviderInfo,
        summary="Get provider details",
    )
    async def inspect_provider(provider_id: str) -> ProviderInfo:
        return await impl.inspect_provider(provider_id)

    @router.get(
        "/v1alpha/admin/inspect/routes",
        response_model=ListRoutesResponse,
        summary="List all available API routes",
    )
    async def list_routes(
        request: Request,
        api_filter: Annotated[ApiFilter | None, Query(description=FILTER_HELP)] = None,
    ) -> ListRoutesResponse:
        require_admin()
        return route_list(request.app, api_filter)

    @router.get(
        "/v1alpha/admin/health", response_model=HealthInfo, summary="Get service health status"
    )
    async def health() -> HealthInfo:
        return await impl.health()

    @router.get("/v1alpha/admin/version", response_model=VersionInfo, summary="Get service version")
    async def version() -> VersionInfo:
        return await impl.version()

    return router
