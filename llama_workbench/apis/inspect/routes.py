"""REST routes of the Inspect API; the route list is read from the app that serves it."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

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
        api_filter: Annotated[ApiFilter | None, Query(description=_FILTER_HELP)] = None,
    ) -> ListRoutesResponse:
        # The app's own OpenAPI document is the list of what it really serves.
        provider_types: dict[str, list[str]] = request.app.state.provider_types
        paths = request.app.openapi()["paths"]
        data = [
            RouteInfo(
                route=path, method=method.upper(), provider_types=provider_types.get(_api(op), [])
            )
            for path, ops in paths.items()
            for method, op in ops.items()
            if _included(path, op, api_filter)
        ]
        return ListRoutesResponse(data=data)

    return router


ApiFilter = Literal["v1", "v1alpha", "v1beta", "deprecated"]
_FILTER_HELP = (
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
