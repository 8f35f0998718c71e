"""REST routes of the Shields API (Llama Stack 0.7 paths)."""

from __future__ import annotations

from fastapi import APIRouter

from llama_workbench.apis.shields.api import Shields
from llama_workbench.apis.shields.models import ListShieldsResponse, RegisterShieldRequest, Shield


def create_router(impl: Shields) -> APIRouter:
    router = APIRouter(tags=["shields"])

    @router.get("/v1/shields", response_model=ListShieldsResponse, summary="List all shields.")
    async def list_shields() -> ListShieldsResponse:
        return ListShieldsResponse(data=await impl.list())

    @router.get(
        "/v1/shields/{identifier:path}",
        response_model=Shield,
        summary="Get a shield by its identifier.",
    )
    async def get_shield(identifier: str) -> Shield:
        return await impl.retrieve(identifier)

    @router.post(
        "/v1/shields", response_model=Shield, summary="Register a shield.", deprecated=True
    )
    async def register_shield(request: RegisterShieldRequest) -> Shield:
        return await impl.register(request)

    @router.delete("/v1/shields/{identifier:path}", summary="Unregister a shield.", deprecated=True)
    async def unregister_shield(identifier: str) -> None:
        await impl.unregister(identifier)

    return router
