"""`stack.aio.connectors`: the Connectors API as coroutines.

Generated from llama_workbench/apis/connectors/api.py by `python -m llama_workbench.facade._codegen`;
edit the Protocol (or its request models) and run it again, never this file."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from llama_workbench.facade._runtime import AsyncFace

if TYPE_CHECKING:
    from llama_workbench.apis.connectors.models import (
        Connector,
        ListConnectorsResponse,
        ListConnectorToolsResponse,
    )
    from llama_workbench.apis.tool_runtime.models import ToolDef


class AsyncConnectorsApi(AsyncFace):
    """MCP servers the stack knows, and their tools; `authorization` is a bearer token sent to
    the server (for servers that need the caller's own credentials).
    """

    __slots__ = ()

    async def list_connectors(self) -> ListConnectorsResponse:
        """Every connector: the run config's, then the MCP tool groups."""
        return cast("ListConnectorsResponse", await self._call("list_connectors", locals()))

    async def get_connector(self, connector_id: str, authorization: str | None = None) -> Connector:
        """One connector, with the name, version and description its server reports."""
        return cast("Connector", await self._call("get_connector", locals()))

    async def list_connector_tools(
        self, connector_id: str, authorization: str | None = None
    ) -> ListConnectorToolsResponse:
        """The tools the connector's server offers."""
        return cast(
            "ListConnectorToolsResponse", await self._call("list_connector_tools", locals())
        )

    async def get_connector_tool(
        self, connector_id: str, tool_name: str, authorization: str | None = None
    ) -> ToolDef:
        """One tool of the connector's server."""
        return cast("ToolDef", await self._call("get_connector_tool", locals()))
