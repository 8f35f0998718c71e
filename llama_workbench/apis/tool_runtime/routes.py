"""REST routes of the Tool Runtime API (tools, tool groups, invocation, the RAG tool)."""

from __future__ import annotations

from fastapi import APIRouter

from llama_workbench.apis.tool_runtime.api import ToolRuntime
from llama_workbench.apis.tool_runtime.models import (
    InvokeToolRequest,
    ListToolDefsResponse,
    ListToolGroupsResponse,
    RAGInsertRequest,
    RAGQueryRequest,
    RAGQueryResult,
    ToolDef,
    ToolGroup,
    ToolInvocationResult,
)


def create_router(impl: ToolRuntime) -> APIRouter:
    router = APIRouter(tags=["tool_runtime"])

    @router.get(
        "/v1/toolgroups", response_model=ListToolGroupsResponse, summary="List tool groups."
    )
    async def list_tool_groups() -> ListToolGroupsResponse:
        return ListToolGroupsResponse(data=await impl.list_tool_groups())

    @router.get(
        "/v1/toolgroups/{toolgroup_id:path}", response_model=ToolGroup, summary="Get a tool group."
    )
    async def get_tool_group(toolgroup_id: str) -> ToolGroup:
        return await impl.get_tool_group(toolgroup_id)

    @router.get(
        "/v1/tools",
        response_model=ListToolDefsResponse,
        summary="List tools with optional tool group filter.",
    )
    async def list_tools(toolgroup_id: str | None = None) -> ListToolDefsResponse:
        return ListToolDefsResponse(data=await impl.list_tools(toolgroup_id))

    @router.get("/v1/tools/{tool_name}", response_model=ToolDef, summary="Get a tool by name.")
    async def get_tool(tool_name: str) -> ToolDef:
        return await impl.get_tool(tool_name)

    @router.get(
        "/v1/tool-runtime/list-tools",
        response_model=ListToolDefsResponse,
        summary="List the tools of the runtime.",
    )
    async def list_runtime_tools(tool_group_id: str | None = None) -> ListToolDefsResponse:
        return ListToolDefsResponse(data=await impl.list_tools(tool_group_id))

    @router.post(
        "/v1/tool-runtime/invoke", response_model=ToolInvocationResult, summary="Run a tool."
    )
    async def invoke_tool(request: InvokeToolRequest) -> ToolInvocationResult:
        return await impl.invoke_tool(request.tool_name, request.kwargs, request.toolgroup_id)

    @router.post(
        "/v1/tool-runtime/rag-tool/query",
        response_model=RAGQueryResult,
        summary="Retrieve context from vector stores.",
    )
    async def rag_query(request: RAGQueryRequest) -> RAGQueryResult:
        result: RAGQueryResult = await impl.rag.query(  # type: ignore[attr-defined]
            request.content, request.vector_store_ids, request.query_config
        )
        return result

    @router.post("/v1/tool-runtime/rag-tool/insert", summary="Index documents into a vector store.")
    async def rag_insert(request: RAGInsertRequest) -> None:
        await impl.rag.insert(  # type: ignore[attr-defined]
            list(request.documents), request.vector_store_id, request.chunk_size_in_tokens
        )

    return router
