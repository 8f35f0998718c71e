"""REST routes of the Inspect API; the route list is read from the app that serves it."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, FastAPI, Query, Request

from llama_workbench.apis.inspect.api import Inspect
from llama_workbench.apis.inspect.models import (
    HealthInfo,
    ListRoutesResponse,
    RouteInfo,
    VersionInfo,
)


def create_router(impl: Inspect) -> APIRouter:
    router = APIRouter(tags=["inspect"])

    @router.get("/v1/health", response_model=HealthInfo, summary="Get health status.")
    async def health() -> HealthInfo:
        return await impl.health()

    @router.get("/v1/version", response_model=VersionInfo, summary="Get version.")
    async def version() -> VersionInfo:
        return await impl.version()

    @router.get("/v1/inspect/routes", response_model=ListRoutesResponse, summary="List routes.")
    async def routes(
        request: Request,
        api_filter: Annotated[ApiFilter | None, Query(description=FILTER_HELP)] = None,
    ) -> ListRoutesResponse:
        return route_list(request.app, api_filter)

    return router


def route_list(app: FastAPI, api_filter: ApiFilter | None) -> ListRoutesResponse:
    """The routes `app` serves, from its own OpenAPI document (also the admin API's list)."""
    provider_types: dict[str, list[str]] = app.state.provider_types
    data = [
        RouteInfo(
            route=path, method=method.upper(), provider_types=provider_types.get(_api(op), [])
        )
        for path, ops in app.openapi()["paths"].items()
        for method, op in ops.items()
        if _included(path, op, api_filter)
    ]
    return ListRoutesResponse(data=data)


ApiFilter = Literal["v1", "v1alpha", "v1beta", "deprecated"]
FILTER_HELP = (
    "An API level ('v1', 'v1alpha', 'v1beta') for its non-deprecated routes, or 'deprecated' for "
    "the deprecated routes of every level. Without it: every non-deprecated route."
)


def _included(path: str, operation: dict[str, object], api_filter: ApiFilter | None) -> bool:
    """Llama Stack 0.7.3's rule: deprecated routes only when asked for, levels by path prefix."""
    deprecated = bool(operation.get("deprecated", False))
    if api_filter == "deprecated":
        return deprecated
    if deprecated:
        return False
    return api_filter is None or path.split("/")[1] == api_filter


def _api(operation: dict[str, object]) -> str:
    tags = operation.get("tags")
    return str(tags[0]) if isinstance(tags, list) and tags else ""
