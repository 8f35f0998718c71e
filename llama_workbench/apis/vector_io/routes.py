"""REST routes of the Vector IO API (OpenAI-compatible vector stores, Llama Stack 0.7 paths)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from llama_workbench.apis.vector_io.api import VectorIO
from llama_workbench.apis.vector_io.models import (
    AttachFileRequest,
    CreateFileBatchRequest,
    CreateVectorStoreRequest,
    InsertChunksRequest,
    QueryChunksRequest,
    QueryChunksResponse,
    SearchResultsPage,
    SearchVectorStoreRequest,
    UpdateVectorStoreFileRequest,
    UpdateVectorStoreRequest,
    VectorStoreDeleteResponse,
    VectorStoreFileBatchObject,
    VectorStoreFileContentResponse,
    VectorStoreFileDeleteResponse,
    VectorStoreFileListResponse,
    VectorStoreFileObject,
    VectorStoreListResponse,
    VectorStoreObject,
)

_VS = "/v1/vector_stores"
_Order = Query("desc", description="By creation time.")
_Limit = Query(20, ge=1, le=100)


def create_router(impl: VectorIO) -> APIRouter:
    router = APIRouter(tags=["vector_io"])

    @router.post(_VS, response_model=VectorStoreObject, summary="Create a vector store.")
    async def create_vector_store(request: CreateVectorStoreRequest) -> VectorStoreObject:
        return await impl.create_vector_store(
            name=request.name,
            file_ids=request.file_ids,
            expires_after=request.expires_after,
            chunking_strategy=_dump(request.chunking_strategy),
            metadata=request.metadata,
            embedding_model=request.embedding_model,
            embedding_dimension=request.embedding_dimension,
            provider_id=request.provider_id,
        )

    @router.get(_VS, response_model=VectorStoreListResponse, summary="List vector stores.")
    async def list_vector_stores(
        after: str | None = None,
        before: str | None = None,
        limit: int = _Limit,
        order: Literal["asc", "desc"] = _Order,
    ) -> VectorStoreListResponse:
        return await impl.list_vector_stores(after, before, limit, order)

    @router.get(
        _VS + "/{vector_store_id}",
        response_model=VectorStoreObject,
        summary="Retrieve a vector store.",
    )
    async def retrieve_vector_store(vector_store_id: str) -> VectorStoreObject:
        return await impl.retrieve_vector_store(vector_store_id)

    @router.post(
        _VS + "/{vector_store_id}",
        response_model=VectorStoreObject,
        summary="Update a vector store.",
    )
    async def update_vector_store(
        vector_store_id: str, request: UpdateVectorStoreRequest
    ) -> VectorStoreObject:
        return await impl.update_vector_store(
            vector_store_id, request.name, request.expires_after, request.metadata
        )

    @router.delete(
        _VS + "/{vector_store_id}",
        response_model=VectorStoreDeleteResponse,
        summary="Delete a vector store.",
    )
    async def delete_vector_store(vector_store_id: str) -> VectorStoreDeleteResponse:
        return await impl.delete_vector_store(vector_store_id)

    @router.post(
        _VS + "/{vector_store_id}/search",
        response_model=SearchResultsPage,
        summary="Search a vector store.",
    )
    async def search_vector_store(
        vector_store_id: str, request: SearchVectorStoreRequest
    ) -> SearchResultsPage:
        return await impl.search_vector_store(
            vector_store_id,
            request.query,
            request.filters,
            request.max_num_results,
            request.ranking_options,
            request.rewrite_query,
            request.search_mode,
        )

    _file_routes(router, impl)
    _batch_routes(router, impl)

    @router.post("/v1/vector-io/insert", summary="Insert chunks into a vector store.")
    async def insert_chunks(request: InsertChunksRequest) -> None:
        await impl.insert_chunks(request.vector_store_id, list(request.chunks), request.ttl_seconds)

    @router.post("/v1/vector-io/query", response_model=QueryChunksResponse, summary="Query chunks.")
    async def query_chunks(request: QueryChunksRequest) -> QueryChunksResponse:
        return await impl.query_chunks(request.vector_store_id, request.query, request.params)

    return router


def _file_routes(router: APIRouter, impl: VectorIO) -> None:
    files = _VS + "/{vector_store_id}/files"

    @router.post(
        files, response_model=VectorStoreFileObject, summary="Attach a file to a vector store."
    )
    async def attach_file(
        vector_store_id: str, request: AttachFileRequest
    ) -> VectorStoreFileObject:
        return await impl.attach_file(
            vector_store_id,
            request.file_id,
            request.attributes,
            _dump(request.chunking_strategy),
            background=True,  # a large file never holds the request (status in_progress)
        )

    @router.get(
        files, response_model=VectorStoreFileListResponse, summary="List files in a vector store."
    )
    async def list_files(
        vector_store_id: str,
        after: str | None = None,
        before: str | None = None,
        limit: int = _Limit,
        order: Literal["asc", "desc"] = _Order,
        filter: Literal["completed", "in_progress", "failed", "cancelled"] | None = None,
    ) -> VectorStoreFileListResponse:
        return await impl.list_vector_store_files(
            vector_store_id, after, before, limit, order, filter
        )

    @router.get(
        files + "/{file_id}",
        response_model=VectorStoreFileObject,
        summary="Retrieve a vector store file.",
    )
    async def retrieve_file(vector_store_id: str, file_id: str) -> VectorStoreFileObject:
        return await impl.retrieve_vector_store_file(vector_store_id, file_id)

    @router.get(
        files + "/{file_id}/content",
        response_model=VectorStoreFileContentResponse,
        summary="Retrieve vector store file contents.",
    )
    async def file_content(
        vector_store_id: str,
        file_id: str,
        include_embeddings: bool | None = Query(False, description="Include embedding vectors."),
        include_metadata: bool | None = Query(False, description="Include chunk metadata."),
    ) -> VectorStoreFileContentResponse:
        return await impl.retrieve_vector_store_file_contents(
            vector_store_id,
            file_id,
            include_embeddings=bool(include_embeddings),
            include_metadata=bool(include_metadata),
        )

    @router.post(
        files + "/{file_id}",
        response_model=VectorStoreFileObject,
        summary="Update a vector store file.",
    )
    async def update_file(
        vector_store_id: str, file_id: str, request: UpdateVectorStoreFileRequest
    ) -> VectorStoreFileObject:
        return await impl.update_vector_store_file(vector_store_id, file_id, request.attributes)

    @router.delete(
        files + "/{file_id}",
        response_model=VectorStoreFileDeleteResponse,
        summary="Delete a vector store file.",
    )
    async def delete_file(vector_store_id: str, file_id: str) -> VectorStoreFileDeleteResponse:
        return await impl.delete_vector_store_file(vector_store_id, file_id)


def _batch_routes(router: APIRouter, impl: VectorIO) -> None:
    batches = _VS + "/{vector_store_id}/file_batches"

    @router.post(batches, response_model=VectorStoreFileBatchObject, summary="Create a file batch.")
    async def create_batch(
        vector_store_id: str, request: CreateFileBatchRequest
    ) -> VectorStoreFileBatchObject:
        return await impl.create_file_batch(
            vector_store_id, request.file_ids, request.attributes, _dump(request.chunking_strategy)
        )

    @router.get(
        batches + "/{batch_id}",
        response_model=VectorStoreFileBatchObject,
        summary="Retrieve a file batch.",
    )
    async def retrieve_batch(vector_store_id: str, batch_id: str) -> VectorStoreFileBatchObject:
        return await impl.retrieve_file_batch(vector_store_id, batch_id)

    @router.post(
        batches + "/{batch_id}/cancel",
        response_model=VectorStoreFileBatchObject,
        summary="Cancel a file batch.",
    )
    async def cancel_batch(vector_store_id: str, batch_id: str) -> VectorStoreFileBatchObject:
        return await impl.cancel_file_batch(vector_store_id, batch_id)

    @router.get(
        batches + "/{batch_id}/files",
        response_model=VectorStoreFileListResponse,
        summary="List files in a file batch.",
    )
    async def batch_files(
        vector_store_id: str,
        batch_id: str,
        after: str | None = None,
        before: str | None = None,
        limit: int = _Limit,
        order: Literal["asc", "desc"] = _Order,
        filter: Literal["completed", "in_progress", "failed", "cancelled"] | None = None,
    ) -> VectorStoreFileListResponse:
        return await impl.list_files_in_file_batch(
            vector_store_id, batch_id, after, before, limit, order, filter
        )


def _dump(strategy: BaseModel | None) -> dict[str, Any] | None:
    return strategy.model_dump() if strategy is not None else None
