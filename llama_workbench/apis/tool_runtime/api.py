"""The Tool Runtime API protocols: list and invoke tools; the RAG tool as `tool_runtime.rag`."""

from __future__ import annotations

import builtins
from typing import Any, ClassVar, Protocol, runtime_checkable

from llama_workbench.apis.tool_runtime.models import (
    RAGDocument,
    RAGQueryConfig,
    RAGQueryResult,
    ToolDef,
    ToolGroup,
    ToolInvocationResult,
)


@runtime_checkable
class RagToolRuntime(Protocol):
    """Retrieval over vector stores: `stack.tool_runtime.rag.query(content=..., vector_store_ids=[...])`."""

    async def query(
        self,
        content: str,
        vector_store_ids: builtins.list[str],
        query_config: RAGQueryConfig | dict[str, Any] | None = None,
    ) -> RAGQueryResult:
        """Search the stores and assemble the best chunks, with citations, within a token budget."""
        ...

    async def insert(
        self,
        documents: builtins.list[RAGDocument | dict[str, Any]],
        vector_store_id: str,
        chunk_size_in_tokens: int = 512,
    ) -> None:
        """Index text documents into a store (each becomes a file of the store)."""
        ...


@runtime_checkable
class ToolRuntime(Protocol):
    """Tools the stack runs itself (knowledge_search, ...), for agents and direct calls."""

    __sub_protocols__: ClassVar[dict[str, type]] = {"rag": RagToolRuntime}

    async def list_tool_groups(self) -> builtins.list[ToolGroup]:
        """Every tool group."""
        ...

    async def get_tool_group(self, tool_group_id: str) -> ToolGroup:
        """One tool group."""
        ...

    async def list_tools(self, tool_group_id: str | None = None) -> builtins.list[ToolDef]:
        """Every tool (of one group)."""
        ...

    async def get_tool(self, tool_name: str) -> ToolDef:
        """One tool by name."""
        ...

    async def invoke_tool(
        self, tool_name: str, kwargs: dict[str, Any], toolgroup_id: str | None = None
    ) -> ToolInvocationResult:
        """Run a tool by name with its arguments (`toolgroup_id` picks among groups sharing the name)."""
        ...

    async def register_tool_group(
        self,
        toolgroup_id: str,
        provider_id: str | None = None,
        mcp_endpoint: dict[str, Any] | str | None = None,
        args: dict[str, Any] | None = None,
    ) -> ToolGroup:
        """Add a tool group at run time, e.g. an MCP server: mcp_endpoint={"url": ...} or {"command": ...}."""
        ...

    async def unregister_tool_group(self, toolgroup_id: str) -> None:
        """Remove a tool group registered at run time."""
        ...


@runtime_checkable
class ToolRuntimeProvider(Protocol):
    """A tool_runtime provider: the groups it serves and how to run their tools."""

    async def list_tool_groups(self) -> builtins.list[ToolGroup]: ...

    async def list_tools(self, tool_group_id: str | None = None) -> builtins.list[ToolDef]: ...

    async def invoke_tool(
        self, tool_name: str, kwargs: dict[str, Any], toolgroup_id: str | None = None
    ) -> ToolInvocationResult:
        """Run a tool; the router always passes the group it picked as `toolgroup_id`."""
        ...

    async def shutdown(self) -> None: ...


@runtime_checkable
class KeyedToolRuntime(Protocol):
    """A tool_runtime provider that needs an API key (the search runtimes): with several
    providers of one group, one with a key serves it."""

    def has_api_key(self) -> bool: ...


@runtime_checkable
class ToolGroupRegistrar(Protocol):
    """A tool_runtime provider that takes tool groups at run time (remote::model-context-protocol)."""

    async def register_tool_group(
        self,
        toolgroup_id: str,
        mcp_endpoint: dict[str, Any] | str,
        args: dict[str, Any] | None = None,
    ) -> ToolGroup: ...

    async def unregister_tool_group(self, toolgroup_id: str) -> None: ...
