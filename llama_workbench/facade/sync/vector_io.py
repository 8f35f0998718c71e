"""`stack.vector_io`: the VectorIO API as calls that return results.

Generated from llama_workbench/apis/vector_io/api.py by `python -m llama_workbench.facade._codegen`;
edit the Protocol (or its request models) and run it again, never this file."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from llama_workbench.facade._runtime import SyncFace

if TYPE_CHECKING:
    from typing import Any

    from llama_workbench.apis.vector_io.api import Order, ProgressCallback
    from llama_workbench.apis.vector_io.models import (
        Attributes,
        Chunk,
        EmbeddedChunk,
        ExpiresAfter,
        QueryChunksResponse,
        RankingOptions,
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
    )


class VectorIOApi(SyncFace):
    """OpenAI-compatible vector stores (files are chunked, embedded and indexed), and chunks."""

    __slots__ = ()

    def create_vector_store(
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
        return cast("VectorStoreObject", self._call("create_vector_store", locals()))

    def list_vector_stores(
        self,
        after: str | None = None,
        before: str | None = None,
        limit: int = 20,
        order: Order = "desc",
    ) -> VectorStoreListResponse:
        """Stores, newest first by default."""
        return cast("VectorStoreListResponse", self._call("list_vector_stores", locals()))

    def retrieve_vector_store(self, vector_store_id: str) -> VectorStoreObject:
        """One store, with its file counts."""
        return cast("VectorStoreObject", self._call("retrieve_vector_store", locals()))

    def update_vector_store(
        self,
        vector_store_id: str,
        name: str | None = None,
        expires_after: ExpiresAfter | dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> VectorStoreObject:
        """Rename a store, or change its metadata or expiry."""
        return cast("VectorStoreObject", self._call("update_vector_store", locals()))

    def delete_vector_store(self, vector_store_id: str) -> VectorStoreDeleteResponse:
        """Delete a store and its index (the files themselves stay in the Files API)."""
        return cast("VectorStoreDeleteResponse", self._call("delete_vector_store", locals()))

    def search_vector_store(
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
        return cast("SearchResultsPage", self._call("search_vector_store", locals()))

    def attach_file(
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
        return cast("VectorStoreFileObject", self._call("attach_file", locals()))

    def list_vector_store_files(
        self,
        vector_store_id: str,
        after: str | None = None,
        before: str | None = None,
        limit: int = 20,
        order: Order = "desc",
        filter: str | None = None,
    ) -> VectorStoreFileListResponse:
        """The store's files; `filter` is a status (completed, in_progress, failed, cancelled)."""
        return cast("VectorStoreFileListResponse", self._call("list_vector_store_files", locals()))

    def retrieve_vector_store_file(
        self, vector_store_id: str, file_id: str
    ) -> VectorStoreFileObject:
        """One file of a store, with its status and last error."""
        return cast("VectorStoreFileObject", self._call("retrieve_vector_store_file", locals()))

    def retrieve_vector_store_file_contents(
        self,
        vector_store_id: str,
        file_id: str,
        include_embeddings: bool = False,
        include_metadata: bool = False,
    ) -> VectorStoreFileContentResponse:
        """The file's chunks, in document order; their embeddings and metadata (chunk_metadata
        and metadata) only when asked for, as in Llama Stack 0.7.3.
        """
        return cast(
            "VectorStoreFileContentResponse",
            self._call("retrieve_vector_store_file_contents", locals()),
        )

    def update_vector_store_file(
        self, vector_store_id: str, file_id: str, attributes: Attributes
    ) -> VectorStoreFileObject:
        """Replace the file's attributes (what search filters match)."""
        return cast("VectorStoreFileObject", self._call("update_vector_store_file", locals()))

    def delete_vector_store_file(
        self, vector_store_id: str, file_id: str
    ) -> VectorStoreFileDeleteResponse:
        """Remove a file's chunks from the store."""
        return cast(
            "VectorStoreFileDeleteResponse", self._call("delete_vector_store_file", locals())
        )

    def create_file_batch(
        self,
        vector_store_id: str,
        file_ids: list[str],
        attributes: Attributes | None = None,
        chunking_strategy: dict[str, Any] | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> VectorStoreFileBatchObject:
        """Attach many files in the background; poll retrieve_file_batch for the counts."""
        return cast("VectorStoreFileBatchObject", self._call("create_file_batch", locals()))

    def retrieve_file_batch(
        self, vector_store_id: str, batch_id: str
    ) -> VectorStoreFileBatchObject:
        """A batch's status and file counts."""
        return cast("VectorStoreFileBatchObject", self._call("retrieve_file_batch", locals()))

    def list_files_in_file_batch(
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
        return cast("VectorStoreFileListResponse", self._call("list_files_in_file_batch", locals()))

    def cancel_file_batch(self, vector_store_id: str, batch_id: str) -> VectorStoreFileBatchObject:
        """Stop a batch: files not yet indexed are marked cancelled."""
        return cast("VectorStoreFileBatchObject", self._call("cancel_file_batch", locals()))

    def insert_chunks(
        self,
        vector_store_id: str,
        chunks: list[Chunk | EmbeddedChunk | dict[str, Any]],
        ttl_seconds: int | None = None,
    ) -> None:
        """Insert chunks directly (those without an embedding are embedded with the store's model)."""
        self._call("insert_chunks", locals())

    def query_chunks(
        self, vector_store_id: str, query: str, params: dict[str, Any] | None = None
    ) -> QueryChunksResponse:
        """Nearest chunks; params: max_chunks, mode, score_threshold, ranker."""
        return cast("QueryChunksResponse", self._call("query_chunks", locals()))
