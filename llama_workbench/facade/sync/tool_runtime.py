"""`stack.tool_runtime`: the ToolRuntime API as calls that return results.

Generated from llama_workbench/apis/tool_runtime/api.py by `python -m llama_workbench.facade._codegen`;
edit the Protocol (or its request models) and run it again, never this file."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from llama_workbench.facade._runtime import SyncFace

if TYPE_CHECKING:
    import builtins
    from typing import Any

    from llama_workbench.apis.tool_runtime.models import (
        RAGDocument,
        RAGQueryConfig,
        RAGQueryResult,
        ToolDef,
        ToolGroup,
        ToolInvocationResult,
    )


class ToolRuntimeApi(SyncFace):
    """Tools the stack runs itself (knowledge_search, ...), for agents and direct calls."""

    __slots__ = ()

    @property
    def rag(self) -> RagToolRuntimeApi:
        """Retrieval over vector stores: `stack.tool_runtime.rag.query(content=..., vector_store_ids=[...])`."""
        return self._sub("rag", RagToolRuntimeApi)

    def list_tool_groups(self) -> builtins.list[ToolGroup]:
        """Every tool group."""
        return cast("builtins.list[ToolGroup]", self._call("list_tool_groups", locals()))

    def get_tool_group(self, tool_group_id: str) -> ToolGroup:
        """One tool group."""
        return cast("ToolGroup", self._call("get_tool_group", locals()))

    def list_tools(self, tool_group_id: str | None = None) -> builtins.list[ToolDef]:
        """Every tool (of one group)."""
        return cast("builtins.list[ToolDef]", self._call("list_tools", locals()))

    def get_tool(self, tool_name: str) -> ToolDef:
        """One tool by name."""
        return cast("ToolDef", self._call("get_tool", locals()))

    def invoke_tool(
        self, tool_name: str, kwargs: dict[str, Any], toolgroup_id: str | None = None
    ) -> ToolInvocationResult:
        """Run a tool by name with its arguments (`toolgroup_id` picks among groups sharing the name)."""
        return cast("ToolInvocationResult", self._call("invoke_tool", locals()))

    def register_tool_group(
        self,
        toolgroup_id: str,
        provider_id: str | None = None,
        mcp_endpoint: dict[str, Any] | str | None = None,
        args: dict[str, Any] | None = None,
    ) -> ToolGroup:
        """Add a tool group at run time, e.g. an MCP server: mcp_endpoint={"url": ...} or {"command": ...}."""
        return cast("ToolGroup", self._call("register_tool_group", locals()))

    def unregister_tool_group(self, toolgroup_id: str) -> None:
        """Remove a tool group registered at run time."""
        self._call("unregister_tool_group", locals())


class RagToolRuntimeApi(SyncFace):
    """Retrieval over vector stores: `stack.tool_runtime.rag.query(content=..., vector_store_ids=[...])`."""

    __slots__ = ()

    def query(
        self,
        content: str,
        vector_store_ids: builtins.list[str],
        query_config: RAGQueryConfig | dict[str, Any] | None = None,
    ) -> RAGQueryResult:
        """Search the stores and assemble the best chunks, with citations, within a token budget."""
        return cast("RAGQueryResult", self._call("query", locals()))

    def insert(
        self,
        documents: builtins.list[RAGDocument | dict[str, Any]],
        vector_store_id: str,
        chunk_size_in_tokens: int = 512,
    ) -> None:
        """Index text documents into a store (each becomes a file of the store)."""
        self._call("insert", locals())
