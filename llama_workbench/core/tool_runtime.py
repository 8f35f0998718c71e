"""The Tool Runtime API: tool groups of every tool_runtime provider, tools invoked by name."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from llama_workbench.apis.tool_runtime.api import (
    KeyedToolRuntime,
    ToolGroupRegistrar,
    ToolRuntimeProvider,
)
from llama_workbench.apis.tool_runtime.models import ToolDef, ToolGroup, ToolInvocationResult
from llama_workbench.core.access import TOOL_GROUP, can_access, check_access, check_create
from llama_workbench.core.datatypes import Api
from llama_workbench.core.errors import (
    BadRequestError,
    ConflictError,
    LlamaWorkbenchError,
    NotFoundError,
)

# (provider, tool group id) pairs, and the groups whose tools could not be listed.
_Owners = builtins.list[tuple[ToolRuntimeProvider, str]]
_Failures = builtins.list[tuple[str, LlamaWorkbenchError]]

if TYPE_CHECKING:
    from llama_workbench.core.build_context import BuildContext


class ToolRuntimeRouter:
    """Routes a tool call to the provider whose group has the tool.

    Tool names are unique within a group, not across groups: a name two groups serve (two MCP
    servers with a `search` tool) needs `toolgroup_id` to say which one runs.
    """

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
        return [group for _, group in await self._groups()]

    async def _groups(self) -> builtins.list[tuple[ToolRuntimeProvider, ToolGroup]]:
        """Every tool group with the provider that serves it. A group several providers offer
        (brave-search and tavily-search both serve builtin::websearch) goes to the first with
        an API key, else to the first (Llama Stack 0.7.3's rule). Tool groups have no owner:
        the access policy's rules on `tool_group::<id>` decide who sees and runs them."""
        chosen: dict[str, tuple[ToolRuntimeProvider, ToolGroup]] = {}
        for provider in self._providers.values():
            for group in await provider.list_tool_groups():
                if not can_access(None, TOOL_GROUP, group.identifier):
                    continue
                current = chosen.get(group.identifier)
                if current is None or (_keyed(provider) and not _keyed(current[0])):
                    chosen[group.identifier] = (provider, group)
        return list(chosen.values())

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
        for provider, group in await self._groups():
            if tool_group_id in (None, group.identifier):
                tools.extend(await provider.list_tools(group.identifier))
        return tools

    async def get_tool(self, tool_name: str) -> ToolDef:
        tools = await self.list_tools()
        for tool in tools:
            if tool.name == tool_name:
                return tool
        raise NotFoundError("Tool", tool_name, [t.name for t in tools])

    async def invoke_tool(
        self, tool_name: str, kwargs: dict[str, Any], toolgroup_id: str | None = None
    ) -> ToolInvocationResult:
        if toolgroup_id is not None:
            await self.get_tool_group(toolgroup_id)
        owners, failures, names = await self._owners(tool_name, toolgroup_id)
        if len(owners) > 1:
            groups = ", ".join(sorted(group for _, group in owners))
            raise BadRequestError(
                f"Tool '{tool_name}' is served by several tool groups ({groups}); "
                "pass toolgroup_id to pick one."
            )
        if not owners:
            if toolgroup_id is not None and failures:
                raise failures[0][1]
            hints = [f"(in tool group {toolgroup_id})"] if toolgroup_id else []
            hints += [f"Tool group {g} could not be listed: {e}" for g, e in failures]
            raise NotFoundError("Tool", tool_name, names, hint=" ".join(hints))
        provider, group = owners[0]
        return await provider.invoke_tool(tool_name, dict(kwargs or {}), toolgroup_id=group)

    async def _owners(
        self, tool_name: str, toolgroup_id: str | None
    ) -> tuple[_Owners, _Failures, set[str]]:
        """Groups serving `tool_name`, groups that failed to list, and every tool name seen.

        One group that can't be listed (an MCP server that is down) doesn't keep the tools of
        the others from running; it is named in the error only if the tool is found nowhere.
        """
        owners: _Owners = []
        failures: _Failures = []
        names: set[str] = set()
        for provider, group in await self._groups():
            if toolgroup_id is not None and group.identifier != toolgroup_id:
                continue
            try:
                tools = await provider.list_tools(group.identifier)
            except LlamaWorkbenchError as exc:
                failures.append((group.identifier, exc))
                continue
            names.update(t.name for t in tools)
            if any(t.name == tool_name for t in tools):
                owners.append((provider, group.identifier))
        return owners, failures, names

    async def register_tool_group(
        self,
        toolgroup_id: str,
        provider_id: str | None = None,
        mcp_endpoint: dict[str, Any] | str | None = None,
        args: dict[str, Any] | None = None,
    ) -> ToolGroup:
        if mcp_endpoint is None:
            raise BadRequestError(
                f"Registering tool group '{toolgroup_id}' needs mcp_endpoint "
                '({"url": ...} or {"command": ..., "args": [...]}).'
            )
        if any(g.identifier == toolgroup_id for g in await self.list_tool_groups()):
            raise ConflictError(f"Tool group '{toolgroup_id}' already exists.")
        check_create(TOOL_GROUP, toolgroup_id)
        provider = self._registrar(provider_id)
        return await provider.register_tool_group(toolgroup_id, mcp_endpoint, args)

    async def unregister_tool_group(self, toolgroup_id: str) -> None:
        group = await self.get_tool_group(toolgroup_id)
        provider = self._providers[group.provider_id]
        if not isinstance(provider, ToolGroupRegistrar):
            raise BadRequestError(
                f"Tool group '{toolgroup_id}' is built into provider '{group.provider_id}'; "
                "it can't be unregistered."
            )
        check_access(None, TOOL_GROUP, toolgroup_id, "delete")
        await provider.unregister_tool_group(toolgroup_id)

    def _registrar(self, provider_id: str | None) -> ToolGroupRegistrar:
        registrars = {
            pid: p for pid, p in self._providers.items() if isinstance(p, ToolGroupRegistrar)
        }
        if provider_id is not None:
            if provider_id not in self._providers:
                raise NotFoundError("Tool runtime provider", provider_id, list(self._providers))
            if provider_id not in registrars:
                raise BadRequestError(
                    f"Provider '{provider_id}' takes no tool groups at run time "
                    f"(providers that do: {', '.join(sorted(registrars)) or 'none'})."
                )
            return registrars[provider_id]
        if len(registrars) == 1:
            return next(iter(registrars.values()))
        if not registrars:
            raise BadRequestError(
                "No tool_runtime provider of this stack takes tool groups at run time: "
                "add one of type remote::model-context-protocol."
            )
        raise BadRequestError(
            f"Several providers take tool groups ({', '.join(sorted(registrars))}): "
            "pass provider_id."
        )


def _keyed(provider: ToolRuntimeProvider) -> bool:
    return not isinstance(provider, KeyedToolRuntime) or provider.has_api_key()


async def build_tool_runtime(ctx: BuildContext) -> dict[Api, Any]:
    """The tool runtime router over its providers."""
    return {Api.tool_runtime: ToolRuntimeRouter(ctx.providers)}
