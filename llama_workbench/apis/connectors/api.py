"""The Connectors API protocol."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from llama_workbench.apis.connectors.models import (
    Connector,
    ListConnectorsResponse,
    ListConnectorToolsResponse,
)
from llama_workbench.apis.tool_runtime.models import ToolDef


@runtime_checkable
class Connectors(Protocol):
    """MCP servers the stack knows, and their tools; `authorization` is a bearer token sent to
    the server (for servers that need the caller's own credentials)."""

    async def list_connectors(self) -> ListConnectorsResponse:
        """Every connector: the run config's, then the MCP tool groups."""
        ...

    async def get_connector(self, connector_id: str, authorization: str | None = None) -> Connector:
        """One connector, with the name, version and description its server reports."""
        ...

    async def list_connector_tools(
        self, connector_id: str, authorization: str | None = None
    ) -> ListConnectorToolsResponse:
        """The tools the connector's server offers."""
        ...

    async def get_connector_tool(
        self, connector_id: str, tool_name: str, authorization: str | None = None
    ) -> ToolDef:
        """One tool of the connector's server."""
        ...
