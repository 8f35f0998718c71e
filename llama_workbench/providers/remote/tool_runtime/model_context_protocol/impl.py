"""MCP servers as tool groups: tools listed once per server (cached), calls made per invocation."""

from __future__ import annotations

import asyncio
import builtins
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llama_workbench.apis.tool_runtime.models import ToolDef, ToolGroup, ToolInvocationResult
from llama_workbench.core.errors import (
    BadRequestError,
    ConflictError,
    LlamaWorkbenchError,
    NotFoundError,
)
from llama_workbench.providers.remote.tool_runtime.model_context_protocol.config import (
    ModelContextProtocolConfig,
    check_toolgroup_id,
)
from llama_workbench.providers.utils.mcp import (
    McpEndpoint,
    as_endpoint,
    invoke_mcp_tool,
    list_mcp_tools,
)
from llama_workbench.storage.kv import KVStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Group:
    toolgroup_id: str
    endpoint: McpEndpoint
    args: dict[str, Any] | None = None
    registered: bool = False  # at run time (True) or in the run config (False)


class ModelContextProtocolToolRuntime:
    """One tool group per MCP server, from the run config or registered at run time.

    A tool name two groups serve is ambiguous: `invoke_tool` then needs `toolgroup_id`.
    Each call opens its own connection (or starts the stdio command), so servers hold no
    state between calls; tool listings are cached and refetched after a failed call.
    """

    def __init__(
        self, provider_id: str, config: ModelContextProtocolConfig, kv: KVStore | None
    ) -> None:
        self._provider_id = provider_id
        self._kv = kv
        self._groups: dict[str, _Group] = {
            s.toolgroup_id: _Group(s.toolgroup_id, s.endpoint()) for s in config.servers
        }
        self._tools: dict[str, builtins.list[ToolDef]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def initialize(self) -> None:
        """Load the tool groups registered at run time by earlier stacks."""
        if self._kv is None:
            return
        records = [json.loads(v) for _, v in await self._kv.items_with_prefix(self._key(""))]
        for data in sorted(records, key=lambda r: float(r.get("created_at", 0))):
            group_id = data["toolgroup_id"]
            if group_id in self._groups:
                logger.warning(
                    "MCP tool group %s is in the run config; its registered copy is ignored",
                    group_id,
                )
                continue
            endpoint = McpEndpoint.model_validate(data["endpoint"])
            self._groups[group_id] = _Group(group_id, endpoint, data.get("args"), registered=True)

    # -- ToolRuntimeProvider

    async def list_tool_groups(self) -> builtins.list[ToolGroup]:
        return [self._tool_group(g) for g in self._groups.values()]

    async def list_tools(self, tool_group_id: str | None = None) -> builtins.list[ToolDef]:
        if tool_group_id is not None:
            group = self._groups.get(tool_group_id)
            return [] if group is None else await self._group_tools(group)
        tools: builtins.list[ToolDef] = []
        for group in list(self._groups.values()):
            tools.extend(await self._group_tools(group))
        return tools

    async def invoke_tool(
        self, tool_name: str, kwargs: dict[str, Any], toolgroup_id: str | None = None
    ) -> ToolInvocationResult:
        group = await self._owner(tool_name, toolgroup_id)
        try:
            return await invoke_mcp_tool(group.endpoint, tool_name, kwargs)
        except LlamaWorkbenchError:
            # The server may have gone or changed its tools: list them again next time.
            self._tools.pop(group.toolgroup_id, None)
            raise

    async def shutdown(self) -> None:
        self._tools.clear()

    def mcp_endpoints(self) -> dict[str, McpEndpoint]:
        """Each tool group's MCP server (the Connectors API lists those served over HTTP)."""
        return {group_id: group.endpoint for group_id, group in self._groups.items()}

    # -- registration at run time

    async def register_tool_group(
        self,
        toolgroup_id: str,
        mcp_endpoint: McpEndpoint | Mapping[str, Any] | str,
        args: dict[str, Any] | None = None,
    ) -> ToolGroup:
        """Add an MCP server as a tool group; its tools are listed now, so a bad endpoint fails here."""
        try:
            check_toolgroup_id(toolgroup_id)
        except ValueError as exc:
            raise BadRequestError(str(exc)) from None
        if toolgroup_id in self._groups:
            raise ConflictError(f"Tool group '{toolgroup_id}' already exists.")
        group = _Group(toolgroup_id, as_endpoint(mcp_endpoint), args, registered=True)
        await self._group_tools(group, refresh=True)
        self._groups[toolgroup_id] = group
        if self._kv is not None:
            record = {
                "toolgroup_id": toolgroup_id,
                "endpoint": group.endpoint.model_dump(mode="json", exclude_defaults=True),
                "args": args,
                "created_at": time.time(),  # groups load back in the order they were added
            }
            await self._kv.set(self._key(toolgroup_id), json.dumps(record))
        return self._tool_group(group)

    async def unregister_tool_group(self, toolgroup_id: str) -> None:
        """Remove a tool group registered at run time (those of the run config stay)."""
        group = self._groups.get(toolgroup_id)
        if group is None:
            raise NotFoundError("Tool group", toolgroup_id, list(self._groups))
        if not group.registered:
            raise BadRequestError(
                f"Tool group '{toolgroup_id}' comes from the run config "
                f"(provider '{self._provider_id}'); remove it there."
            )
        del self._groups[toolgroup_id]
        self._tools.pop(toolgroup_id, None)
        if self._kv is not None:
            await self._kv.delete(self._key(toolgroup_id))

    # -- internals

    def _key(self, toolgroup_id: str) -> str:
        return f"{self._provider_id}:{toolgroup_id}"

    def _tool_group(self, group: _Group) -> ToolGroup:
        return ToolGroup(
            identifier=group.toolgroup_id,
            provider_id=self._provider_id,
            provider_resource_id=group.toolgroup_id,
            args=group.args,
            mcp_endpoint={"uri": group.endpoint.label} if group.endpoint.url else None,
        )

    async def _group_tools(self, group: _Group, refresh: bool = False) -> builtins.list[ToolDef]:
        lock = self._locks.setdefault(group.toolgroup_id, asyncio.Lock())
        async with lock:
            if refresh or group.toolgroup_id not in self._tools:
                listed = await list_mcp_tools(group.endpoint)
                self._tools[group.toolgroup_id] = [
                    t.model_copy(update={"toolgroup_id": group.toolgroup_id}) for t in listed
                ]
            return list(self._tools[group.toolgroup_id])

    async def _owner(self, tool_name: str, toolgroup_id: str | None) -> _Group:
        """The group that serves `tool_name` (one named by `toolgroup_id`, or the only one)."""
        if toolgroup_id is not None:
            group = self._groups.get(toolgroup_id)
            if group is None:
                raise NotFoundError("Tool group", toolgroup_id, list(self._groups))
            groups = [group]
        else:
            groups = list(self._groups.values())
        owners, failures = await self._owners(tool_name, groups, refresh=False)
        if not owners:  # the servers' tools may have changed since they were listed
            owners, failures = await self._owners(tool_name, groups, refresh=True)
        if len(owners) > 1:
            ids = ", ".join(g.toolgroup_id for g in owners)
            raise BadRequestError(
                f"Tool '{tool_name}' is served by several tool groups ({ids}); "
                "pass toolgroup_id to pick one."
            )
        if owners:
            return owners[0]
        if toolgroup_id is not None and failures:
            raise failures[0][1]
        names = [t.name for g in groups for t in self._tools.get(g.toolgroup_id, [])]
        hint = "".join(f" Tool group {g} could not be listed: {e}." for g, e in failures)
        raise NotFoundError("Tool", tool_name, sorted(set(names)), hint=hint.strip())

    async def _owners(
        self, tool_name: str, groups: builtins.list[_Group], *, refresh: bool
    ) -> tuple[builtins.list[_Group], builtins.list[tuple[str, LlamaWorkbenchError]]]:
        owners, failures = [], []
        for group in groups:
            try:
                tools = await self._group_tools(group, refresh=refresh)
            except LlamaWorkbenchError as exc:
                failures.append((group.toolgroup_id, exc))
                continue
            if any(t.name == tool_name for t in tools):
                owners.append(group)
        return owners, failures
