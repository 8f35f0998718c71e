"""The Vector IO API protocols: vector stores for callers, vector indexes for providers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel

from llama_workbench.apis.vector_io.models import (
    Attributes,
    Chunk,
    EmbeddedChunk,
    ExpiresAfter,
    QueryChunksResponse,
    RankingOptions,
    ScoredChunk,
    SearchMode,
    SearchResultsPage,
    VectorStoreDeleteResponse,
    VectorStoreFileBatchObject,
    VectorStoreFileContentResponse,
    VectorStoreFileDeleteResponse,
    VectorStoreFileListResponse,
    VectorStoreFileObject,
    VectorStoreListResponse,
    VectorStoreObject,
    VectorStoreRecord,
)

Order = Literal["asc", "desc"]


class IngestProgress(BaseModel):
    """Where an ingestion stands: reported after parsing, after each embedded batch, at the end."""

    file_id: str
    filename: str
    stage: Literal["parsed", "embedding", "completed", "failed"]
    chunks_done: int = 0
    chunks_total: int = 0


ProgressCallback = Callable[[IngestProgress], None]


@runtime_checkable
class VectorIO(Protocol):
    """OpenAI-compatible vector stores (files are chunked, embedded and indexed), and chunks."""

    async def create_vector_store(
        self,
        name: str | None = None,
        file_ids: list[str] | None = None,
        expires_after: ExpiresAfter | dict[str, Any] | None = None,
        chunking_strategy: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        embedding_model: str | None = None,
        embedding_dimension: int | None = None,
        provider_id: str | None = None,
    ) -> VectorStoreObject:
        """Create a store; without `embedding_model`/`provider_id` the stack's defaults apply."""
        ...

    async def list_vector_stores(
        self,
        after: str | None = None,
        before: str | None = None,
        limit: int = 20,
        order: Order = "desc",
    ) -> VectorStoreListResponse:
        """Stores, newest first by default."""
        ...

    async def retrieve_vector_store(self, vector_store_id: str) -> VectorStoreObject:
        """One store, with its file counts."""
        ...

    async def update_vector_store(
        self,
        vector_store_id: str,
        name: str | None = None,
        expires_after: ExpiresAfter | dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> VectorStoreObject:
        """Rename a store, or change its metadata or expiry."""
        ...

    async def delete_vector_store(self, vector_store_id: str) -> VectorStoreDeleteResponse:
        """Delete a store and its index (the files themselves stay in the Files API)."""
        ...

    async def search_vector_store(
        self,
        vector_store_id: str,
        query: str | list[str],
        filters: dict[str, Any] | None = None,
        max_num_results: int | None = 10,
        ranking_options: RankingOptions | dict[str, Any] | None = None,
        rewrite_query: bool = False,
        search_mode: SearchMode | None = None,
    ) -> SearchResultsPage:
        """Search a store: `search_mode` vector, keyword (BM25) or hybrid; attribute `filters`."""
        ...

    async def attach_file(
        self,
        vector_store_id: str,
        file_id: str,
        attributes: Attributes | None = None,
        chunking_strategy: dict[str, Any] | None = None,
        on_progress: ProgressCallback | None = None,
        *,
        background: bool = False,
    ) -> VectorStoreFileObject:
        """Chunk, embed and index a file; returns when it is indexed (or failed, with last_error).

        With `background=True` (what the REST route does, as OpenAI's API): returns once the
        file is indexed if that takes under `vector_stores.attach_wait_s` (files up to
        `attach_wait_max_bytes`), else at once with status `in_progress` while indexing goes on.
        """
        ...

    async def list_vector_store_files(
        self,
        vector_store_id: str,
        after: str | None = None,
        before: str | None = None,
        limit: int = 20,
        order: Order = "desc",
        filter: str | None = None,
    ) -> VectorStoreFileListResponse:
        """The store's files; `filter` is a status (completed, in_progress, failed, cancelled)."""
        ...

    async def retrieve_vector_store_file(
        self, vector_store_id: str, file_id: str
    ) -> VectorStoreFileObject:
        """One file of a store, with its status and last error."""
        ...

    async def retrieve_vector_store_file_contents(
        self,
        vector_store_id: str,
        file_id: str,
        include_embeddings: bool = False,
        include_metadata: bool = False,
    ) -> VectorStoreFileContentResponse:
        """The file's chunks, in document order; their embeddings and metadata (chunk_metadata
        and metadata) only when asked for, as in Llama Stack 0.7.3."""
        ...

    async def update_vector_store_file(
        self, vector_store_id: str, file_id: str, attributes: Attributes
    ) -> VectorStoreFileObject:
        """Replace the file's attributes (what search filters match)."""
        ...

    async def delete_vector_store_file(
        self, vector_store_id: str, file_id: str
    ) -> VectorStoreFileDeleteResponse:
        """Remove a file's chunks from the store."""
        ...

    async def create_file_batch(
        self,
        vector_store_id: str,
        file_ids: list[str],
        attributes: Attributes | None = None,
        chunking_strategy: dict[str, Any] | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> VectorStoreFileBatchObject:
        """Attach many files in the background; poll retrieve_file_batch for the counts."""
        ...

    async def retrieve_file_batch(
        self, vector_store_id: str, batch_id: str
    ) -> VectorStoreFileBatchObject:
        """A batch's status and file counts."""
        ...

    async def list_files_in_file_batch(
        self,
        vector_store_id: str,
        batch_id: str,
        after: str | None = None,
        before: str | None = None,
        limit: int = 20,
        order: Order = "desc",
        filter: str | None = None,
    ) -> VectorStoreFileListResponse:
        """The files of one batch."""
        ...

    async def cancel_file_batch(
        self, vector_store_id: str, batch_id: str
    ) -> VectorStoreFileBatchObject:
        """Stop a batch: files not yet indexed are marked cancelled."""
        ...

    async def insert_chunks(
        self,
        vector_store_id: str,
        chunks: list[Chunk | EmbeddedChunk | dict[str, Any]],
        ttl_seconds: int | None = None,
    ) -> None:
        """Insert chunks directly (those without an embedding are embedded with the store's model)."""
        ...

    async def query_chunks(
        self, vector_store_id: str, query: str, params: dict[str, Any] | None = None
    ) -> QueryChunksResponse:
        """Nearest chunks; params: max_chunks, mode, score_threshold, ranker."""
        ...


@runtime_checkable
class VectorIOProvider(Protocol):
    """A vector index backend: stores embedded chunks per store and finds them again.

    The router above it does the rest (files, chunking, embedding, filters, hybrid ranking).
    Scores are higher-is-better: cosine similarity for vectors, BM25 for keywords.
    """

    async def create_index(self, store: VectorStoreRecord) -> None: ...

    async def delete_index(self, store_id: str) -> None: ...

    async def add_chunks(self, store_id: str, chunks: list[EmbeddedChunk]) -> None:
        """Insert or replace (by chunk_id), durably: all of them or none."""
        ...

    async def delete_chunks(self, store_id: str, chunk_ids: list[str]) -> None: ...

    async def delete_file_chunks(self, store_id: str, file_id: str) -> None: ...

    async def file_chunks(self, store_id: str, file_id: str) -> list[EmbeddedChunk]:
        """A file's chunks in document order."""
        ...

    async def query_vector(
        self, store_id: str, embedding: list[float], k: int
    ) -> list[ScoredChunk]: ...

    async def query_keyword(self, store_id: str, query: str, k: int) -> list[ScoredChunk]: ...

    async def shutdown(self) -> None: ...
