"""The Tool Runtime API: tool groups of every tool_runtime provider, tools invoked by name."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any

from llama_workbench.apis.tool_runtime.api import ToolRuntimeProvider
from llama_workbench.apis.tool_runtime.models import ToolDef, ToolGroup, ToolInvocationResult
from llama_workbench.core.errors import BadRequestError, NotFoundError


class ToolRuntimeRouter:
    """Routes a tool call to the provider whose group has the tool."""

    def __init__(self, providers: Mapping[str, ToolRuntimeProvider]) -> None:
        self._providers = dict(providers)

    @property
    def rag(self) -> Any:
        """The provider serving builtin::rag (`stack.tool_runtime.rag.query(...)`)."""
        for provider in self._providers.values():
            if hasattr(provider, "query") and hasattr(provider, "insert"):
                return provider
        raise BadRequestError(
            "This stack has no RAG tool: add a tool_runtime provider of type inline::rag-runtime."
        )

    async def list_tool_groups(self) -> builtins.list[ToolGroup]:
        groups = []
        for provider in self._providers.values():
            groups.extend(await provider.list_tool_groups())
        return groups

    async def get_tool_group(self, tool_group_id: str) -> ToolGroup:
        groups = await self.list_tool_groups()
        for group in groups:
            if group.identifier == tool_group_id:
                return group
        raise NotFoundError("Tool group", tool_group_id, [g.identifier for g in groups])

    async def list_tools(self, tool_group_id: str | None = None) -> builtins.list[ToolDef]:
        if tool_group_id is not None:
            await self.get_tool_group(tool_group_id)
        tools = []
        for provider in self._providers.values():
            tools.extend(await provider.list_tools(tool_group_id))
        return tools

    async def get_tool(self, tool_name: str) -> ToolDef:
        tools = await self.list_tools()
        for tool in tools:
            if tool.name == tool_name:
                return tool
        raise NotFoundError("Tool", tool_name, [t.name for t in tools])

    async def invoke_tool(self, tool_name: str, kwargs: dict[str, Any]) -> ToolInvocationResult:
        for provider in self._providers.values():
            if any(t.name == tool_name for t in await provider.list_tools()):
                return await provider.invoke_tool(tool_name, dict(kwargs or {}))
        await self.get_tool(tool_name)  # raises NotFoundError listing the tools
        raise AssertionError("unreachable")
