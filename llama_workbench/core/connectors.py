"""The Connectors API: the run config's `connectors:` and the MCP tool groups, as 0.7.3 lists them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol, runtime_checkable

from pydantic import ValidationError

from llama_workbench.apis.connectors.models import (
    Connector,
    ConnectorInput,
    ListConnectorsResponse,
    ListConnectorToolsResponse,
)
from llama_workbench.apis.tool_runtime.models import ToolDef
from llama_workbench.core.errors import ConfigError, NotFoundError
from llama_workbench.providers.utils.mcp import McpEndpoint


@runtime_checkable
class McpServers(Protocol):
    """A provider that holds MCP servers (remote::model-context-protocol's tool groups)."""

    def mcp_endpoints(self) -> dict[str, McpEndpoint]: ...


class ConnectorsService:
    """Connectors by id: declared ones first; an MCP tool group (served over HTTP) is one too,
    reached with the endpoint its provider holds (headers included)."""

    def __init__(self, declared: Iterable[Any] | None, providers: Iterable[Any]) -> None:
        self._declared: dict[str, ConnectorInput] = {}
        for index, raw in enumerate(declared or []):
            try:
                item = ConnectorInput.model_validate(raw)
            except ValidationError as exc:
                problem = exc.errors()[0]
                where = ".".join(str(p) for p in problem["loc"])
                raise ConfigError(f"connectors[{index}].{where}: {problem['msg']}") from None
            self._declared[item.connector_id] = item
        # A live view: the stack hands this service to providers before all of them are built.
        self._providers = providers

    async def list_connectors(self) -> ListConnectorsResponse:
        return ListConnectorsResponse(data=[c for c, _ in self._all().values()])

    async def get_connector(self, connector_id: str, authorization: str | None = None) -> Connector:
        from llama_workbench.providers.utils.mcp import mcp_server_info

        connector, endpoint = self._find(connector_id)
        info = await mcp_server_info(_with_token(endpoint, authorization))
        return connector.model_copy(
            update={
                "server_name": info.get("name", connector.server_name),
                "server_description": info.get("description", connector.server_description),
                "server_version": info.get("version"),
            }
        )

    async def list_connector_tools(
        self, connector_id: str, authorization: str | None = None
    ) -> ListConnectorToolsResponse:
        from llama_workbench.providers.utils.mcp import list_mcp_tools

        _, endpoint = self._find(connector_id)
        tools = await list_mcp_tools(_with_token(endpoint, authorization))
        return ListConnectorToolsResponse(data=tools)

    async def get_connector_tool(
        self, connector_id: str, tool_name: str, authorization: str | None = None
    ) -> ToolDef:
        tools = (await self.list_connector_tools(connector_id, authorization)).data
        for tool in tools:
            if tool.name == tool_name:
                return tool
        raise NotFoundError(
            "Tool", tool_name, [t.name for t in tools], parent=f"connector '{connector_id}'"
        )

    def _all(self) -> dict[str, tuple[Connector, McpEndpoint]]:
        found: dict[str, tuple[Connector, McpEndpoint]] = {}
        for item in self._declared.values():
            found[item.connector_id] = (
                Connector.model_validate(item.model_dump()),
                McpEndpoint(url=item.url),
            )
        for server in [p for p in self._providers if isinstance(p, McpServers)]:
            for group_id, endpoint in server.mcp_endpoints().items():
                if endpoint.url is None or group_id in found:
                    continue  # a stdio server has no URL to show
                connector = Connector(connector_id=group_id, url=endpoint.label)
                found[group_id] = (connector, endpoint)
        return found

    def endpoint(self, connector_id: str) -> McpEndpoint:
        """How to reach a connector's MCP server (Responses' MCP tools by connector_id)."""
        return self._find(connector_id)[1]

    def _find(self, connector_id: str) -> tuple[Connector, McpEndpoint]:
        found = self._all()
        if connector_id not in found:
            raise NotFoundError("Connector", connector_id, list(found))
        return found[connector_id]


def _with_token(endpoint: McpEndpoint, authorization: str | None) -> McpEndpoint:
    if not authorization:
        return endpoint
    token = authorization.removeprefix("Bearer ").strip()
    headers: Mapping[str, str] = {**endpoint.headers, "Authorization": f"Bearer {token}"}
    return endpoint.model_copy(update={"headers": dict(headers)})
