"""REST routes of the Connectors API (Llama Stack 0.7.3, /v1beta)."""

from __future__ import annotations

from fastapi import APIRouter, Query

from llama_workbench.apis.connectors.api import Connectors
from llama_workbench.apis.connectors.models import (
    Connector,
    ListConnectorsResponse,
    ListConnectorToolsResponse,
)
from llama_workbench.apis.tool_runtime.models import ToolDef

_AUTH = Query(None, description="A bearer token sent to the connector's MCP server.")


def create_router(impl: Connectors) -> APIRouter:
    router = APIRouter(tags=["connectors"])

    @router.get(
        "/v1beta/connectors", response_model=ListConnectorsResponse, summary="List all connectors."
    )
    async def list_connectors() -> ListConnectorsResponse:
        return await impl.list_connectors()

    @router.get(
        "/v1beta/connectors/{connector_id}",
        response_model=Connector,
        summary="Get a connector by its ID.",
    )
    async def get_connector(connector_id: str, authorization: str | None = _AUTH) -> Connector:
        return await impl.get_connector(connector_id, authorization)

    @router.get(
        "/v1beta/connectors/{connector_id}/tools",
        response_model=ListConnectorToolsResponse,
        summary="List tools from a connector.",
    )
    async def list_connector_tools(
        connector_id: str, authorization: str | None = _AUTH
    ) -> ListConnectorToolsResponse:
        return await impl.list_connector_tools(connector_id, authorization)

    @router.get(
        "/v1beta/connectors/{connector_id}/tools/{tool_name}",
        response_model=ToolDef,
        summary="Get a tool by name from a connector.",
    )
    async def get_connector_tool(
        connector_id: str, tool_name: str, authorization: str | None = _AUTH
    ) -> ToolDef:
        return await impl.get_connector_tool(connector_id, tool_name, authorization)

    return router
