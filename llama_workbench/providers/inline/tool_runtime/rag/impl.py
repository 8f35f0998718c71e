"""knowledge_search: search vector stores, keep the best chunks that fit a token budget, cite them."""

from __future__ import annotations

import asyncio
import builtins
from typing import Any

from pydantic import ValidationError

from llama_workbench.apis.tool_runtime.models import (
    RAGDocument,
    RAGQueryConfig,
    RAGQueryResult,
    ToolDef,
    ToolGroup,
    ToolInvocationResult,
)
from llama_workbench.apis.vector_io.models import RankingOptions, SearchResult
from llama_workbench.core.errors import BadRequestError, LlamaWorkbenchError, UnprocessableError

GROUP = "builtin::rag"
TOOL = "knowledge_search"
HEADER = "knowledge_search tool found {count} chunks:\nBEGIN of knowledge_search tool results.\n"
FOOTER = (
    "END of knowledge_search tool results.\n"
    'The above results were retrieved to help answer the user\'s query: "{query}". '
    "Use them as supporting information only in answering this query.\n"
)
_SCHEMA = {
    "type": "object",
    "properties": {
        "query": {"type": "string", "description": "What to search the knowledge base for."},
    },
    "required": ["query"],
}


class RagToolRuntimeImpl:
    """The builtin::rag tool group; also `stack.tool_runtime.rag` for direct calls."""

    def __init__(self, provider_id: str, vector_io: Any, files: Any) -> None:
        self._provider_id = provider_id
        self._vector_io = vector_io
        self._files = files

    async def list_tool_groups(self) -> builtins.list[ToolGroup]:
        return [
            ToolGroup(identifier=GROUP, provider_id=self._provider_id, provider_resource_id=GROUP)
        ]

    async def list_tools(self, tool_group_id: str | None = None) -> builtins.list[ToolDef]:
        if tool_group_id not in (None, GROUP):
            return []
        return [
            ToolDef(
                name=TOOL,
                description="Search the knowledge base (vector stores) for passages relevant to a query.",
                input_schema=_SCHEMA,
                toolgroup_id=GROUP,
            )
        ]

    async def invoke_tool(
        self, tool_name: str, kwargs: dict[str, Any], toolgroup_id: str | None = None
    ) -> ToolInvocationResult:
        if tool_name != TOOL or toolgroup_id not in (None, GROUP):
            raise BadRequestError(f"Tool group {GROUP} has no tool '{tool_name}' (it has {TOOL}).")
        args = dict(kwargs)
        query = args.pop("query", None)
        store_ids = args.pop("vector_store_ids", None) or args.pop("vector_db_ids", None)
        if not isinstance(query, str) or not query.strip():
            raise BadRequestError(f"{TOOL} needs a non-empty 'query' string.")
        if not store_ids:
            raise BadRequestError(f"{TOOL} needs 'vector_store_ids' (the tool group's args).")
        try:
            result = await self.query(
                query, list(store_ids), args.pop("query_config", None) or args or None
            )
        except LlamaWorkbenchError as exc:
            return ToolInvocationResult(error_message=exc.message, error_code=exc.status_code)
        return ToolInvocationResult(content=result.content, metadata=result.metadata)

    async def shutdown(self) -> None:
        return None

    # -- RagToolRuntime

    async def query(
        self,
        content: str,
        vector_store_ids: builtins.list[str],
        query_config: RAGQueryConfig | dict[str, Any] | None = None,
    ) -> RAGQueryResult:
        config = _config(query_config)
        if not vector_store_ids:
            raise BadRequestError("vector_store_ids must name at least one vector store.")
        ranking = config.ranking_options
        if config.score_threshold is not None:
            ranking = (ranking or RankingOptions()).model_copy(
                update={"score_threshold": config.score_threshold}
            )
        pages = await asyncio.gather(
            *(
                self._vector_io.search_vector_store(
                    store_id,
                    content,
                    filters=config.filters,
                    max_num_results=config.max_chunks,
                    ranking_options=ranking,
                    search_mode=config.mode,
                )
                for store_id in vector_store_ids
            )
        )
        hits = sorted((r for page in pages for r in page.data), key=lambda r: r.score, reverse=True)
        return _assemble(content, hits[: config.max_chunks], config)

    async def insert(
        self,
        documents: builtins.list[RAGDocument | dict[str, Any]],
        vector_store_id: str,
        chunk_size_in_tokens: int = 512,
    ) -> None:
        if self._files is None:
            raise BadRequestError("Inserting documents needs the files API (inline::localfs).")
        strategy = {
            "type": "static",
            "static": {
                "max_chunk_size_tokens": chunk_size_in_tokens,
                "chunk_overlap_tokens": chunk_size_in_tokens // 4,
            },
        }
        for i, raw in enumerate(documents):
            doc = _document(raw, i)
            name = doc.document_id if "." in doc.document_id else f"{doc.document_id}.txt"
            uploaded = await self._files.upload_file(doc.content.encode(), "assistants", name)
            attributes = {"document_id": doc.document_id, **doc.metadata}
            attached = await self._vector_io.attach_file(
                vector_store_id, uploaded.id, attributes=attributes, chunking_strategy=strategy
            )
            if attached.status != "completed":
                error = attached.last_error.message if attached.last_error else attached.status
                raise UnprocessableError(f"Document '{doc.document_id}' was not indexed: {error}")


def _config(value: RAGQueryConfig | dict[str, Any] | None) -> RAGQueryConfig:
    if value is None or isinstance(value, RAGQueryConfig):
        return value or RAGQueryConfig()
    try:
        return RAGQueryConfig.model_validate(value)
    except ValidationError as exc:
        raise UnprocessableError(f"Invalid query_config: {exc.errors()[0]['msg']}") from None


def _document(value: RAGDocument | dict[str, Any], index: int) -> RAGDocument:
    if isinstance(value, RAGDocument):
        return value
    try:
        return RAGDocument.model_validate(value)
    except ValidationError as exc:
        raise UnprocessableError(f"documents[{index}]: {exc.errors()[0]['msg']}") from None


def _tokens(hit: SearchResult) -> int:
    item = hit.content[0]
    counted = item.chunk_metadata.content_token_count if item.chunk_metadata else None
    # Chunks inserted without a count: about 4 characters a token for English text.
    return counted or max(1, len(item.text) // 4)


def _assemble(
    query: str, hits: builtins.list[SearchResult], config: RAGQueryConfig
) -> RAGQueryResult:
    """Chunks in rank order while they fit the budget; citations say where each came from."""
    parts: builtins.list[str] = []
    citations: builtins.list[dict[str, Any]] = []
    used = 0
    for hit in hits:
        cost = _tokens(hit)
        if used + cost > config.max_tokens_in_context:
            break
        used += cost
        item = hit.content[0]
        meta = item.chunk_metadata
        index = len(citations) + 1
        cited = {
            "index": index,
            "file_id": hit.file_id,
            "filename": hit.filename,
            "score": hit.score,
            "page": meta.page if meta else None,
            "start_offset": meta.start_offset if meta else None,
            "end_offset": meta.end_offset if meta else None,
            "chunk_id": meta.chunk_id if meta else None,
        }
        shown: dict[str, Any] = {"document_id": hit.file_id, "filename": hit.filename}
        if cited["page"] is not None:
            shown["page"] = cited["page"]
        shown.update(hit.attributes or {})
        parts.append(_format(config.chunk_template, index, item.text, shown))
        citations.append(cited)
    if not citations:
        return RAGQueryResult(
            content=None, metadata={"document_ids": [], "chunks": [], "scores": [], "citations": []}
        )
    text = HEADER.format(count=len(citations)) + "".join(parts) + FOOTER.format(query=query)
    return RAGQueryResult(
        content=text,
        metadata={
            "document_ids": [c["file_id"] for c in citations],
            "chunks": [hits[i].content[0].text for i in range(len(citations))],
            "scores": [c["score"] for c in citations],
            "citations": citations,
            "tokens": used,
        },
    )


class _ChunkView:
    def __init__(self, content: str) -> None:
        self.content = content


def _format(template: str, index: int, text: str, metadata: dict[str, Any]) -> str:
    try:
        return template.format(index=index, chunk=_ChunkView(text), metadata=metadata)
    except (KeyError, AttributeError, IndexError, ValueError) as exc:
        raise BadRequestError(
            f"chunk_template could not be filled ({exc}); it may use {{index}}, {{chunk.content}} "
            "and {metadata}."
        ) from None
