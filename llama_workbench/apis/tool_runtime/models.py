"""Types of the Tool Runtime API: tool groups, tools, invocations, and the RAG tool."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from llama_workbench.apis.base import ApiModel
from llama_workbench.apis.vector_io.models import RankingOptions


class ToolDef(ApiModel):
    """A tool a model can call: its name, description and JSON-schema input."""

    name: str
    description: str
    input_schema: dict[str, Any] = Field(default_factory=dict)
    output_schema: dict[str, Any] | None = None
    toolgroup_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class ToolGroup(ApiModel):
    """A set of tools served by one tool_runtime provider (e.g. builtin::rag)."""

    identifier: str
    provider_id: str
    provider_resource_id: str
    type: Literal["tool_group"] = "tool_group"
    mcp_endpoint: dict[str, str] | None = Field(
        None, description='The MCP server of the group, {"uri": ...} (none for stdio servers).'
    )
    args: dict[str, Any] | None = None


class ListToolGroupsResponse(ApiModel):
    data: list[ToolGroup]


class ListToolDefsResponse(ApiModel):
    data: list[ToolDef]


class InvokeToolRequest(ApiModel):  # type: ignore[no-redef]  # the field "kwargs" (Llama Stack's name)
    tool_name: str
    kwargs: dict[str, Any] = Field(default_factory=dict)
    toolgroup_id: str | None = Field(
        None, description="The group whose tool to run, when several groups have the name."
    )


class ToolInvocationResult(ApiModel):
    content: str | None = None
    error_message: str | None = None
    error_code: int | None = None
    metadata: dict[str, Any] | None = None


CHUNK_TEMPLATE = "Result {index}\nContent: {chunk.content}\nMetadata: {metadata}\n"


class RAGQueryConfig(ApiModel):
    """How knowledge_search retrieves and assembles context."""

    max_chunks: int = Field(5, ge=1, le=50)
    max_tokens_in_context: int = Field(4096, ge=16, description="Budget for the chunks' tokens.")
    mode: Literal["vector", "keyword", "hybrid"] | None = None
    ranking_options: RankingOptions | None = None
    score_threshold: float | None = None
    filters: dict[str, Any] | None = None
    chunk_template: str = Field(
        CHUNK_TEMPLATE, description="Format of each chunk: {index}, {chunk.content}, {metadata}."
    )


class RAGDocument(ApiModel):
    """A text document to index (for PDFs and other formats, upload a file and attach it)."""

    document_id: str
    content: str
    mime_type: str | None = None
    metadata: dict[str, str | float | bool] = Field(default_factory=dict)


class RAGQueryRequest(ApiModel):
    content: str
    vector_store_ids: list[str] = Field(min_length=1)
    query_config: RAGQueryConfig | None = None


class RAGInsertRequest(ApiModel):
    documents: list[RAGDocument] = Field(min_length=1)
    vector_store_id: str
    chunk_size_in_tokens: int = Field(512, ge=100, le=4096)


class RAGQueryResult(ApiModel):
    """The assembled context, and the chunks behind it for citations."""

    content: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
