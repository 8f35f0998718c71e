"""Types of the Connectors API (Llama Stack 0.7.3's Connector, ListConnectorsResponse)."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from llama_workbench.apis.base import ApiModel
from llama_workbench.apis.tool_runtime.models import ToolDef


class ConnectorInput(ApiModel):
    """A connector of the run config's `connectors:` list (0.7.3's ConnectorInput)."""

    model_config = ConfigDict(defer_build=True, extra="forbid")

    connector_type: Literal["mcp"] = "mcp"
    connector_id: str = Field(min_length=1, description="Identifier for the connector.")
    url: str = Field(description="URL of the MCP server (streamable HTTP, or SSE at /sse).")
    server_label: str | None = None
    server_name: str | None = None
    server_description: str | None = None


class Connector(ConnectorInput):
    """A connector; `server_*` are what the MCP server says about itself when retrieved."""

    model_config = ConfigDict(defer_build=True, extra="ignore")

    server_version: str | None = None


class ListConnectorsResponse(ApiModel):
    data: list[Connector]


class ListConnectorToolsResponse(ApiModel):
    data: list[ToolDef]
