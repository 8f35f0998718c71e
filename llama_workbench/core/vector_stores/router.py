"""The Vector IO API: vector stores as routed resources over vector index providers."""

from __future__ import annotations

import builtins
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, cast, overload

from pydantic import ValidationError

from llama_workbench.apis.models.models import ModelType
from llama_workbench.apis.vector_io.api import Order, VectorIOProvider
from llama_workbench.apis.vector_io.models import (
    Chunk,
    EmbeddedChunk,
    ExpiresAfter,
    QueryChunksResponse,
    RankingOptions,
    SearchMode,
    SearchResultsPage,
    VectorStoreDeleteResponse,
    VectorStoreListResponse,
    VectorStoreObject,
    VectorStoreRecord,
)
from llama_workbench.core.access import VECTOR_STORE, check_create, owner_for_new_resource
from llama_workbench.core.errors import BadRequestError, NotFoundError, UnprocessableError
from llama_workbench.core.inference_router import InferenceRouter, ModelsRoutingTable
from llama_workbench.core.vector_stores.catalog import DAY_S, StoreCatalog, expired, visible
from llama_workbench.core.vector_stores.files import FileIngestion
from llama_workbench.core.vector_stores.records import counts, paginate
from llama_workbench.core.vector_stores.search import (
    QueryParams,
    check_filter,
    parsed_ranking,
    search_result,
    search_store,
)
from llama_workbench.core.vector_stores_config import VectorStoresConfig
from llama_workbench.execution.engine import ExecutionEngine
from llama_workbench.storage.kv import KVStore

logger = logging.getLogger(__name__)


P = ParamSpec("P")
R = TypeVar("R")


class _FileIngestionMethod(Generic[P, R]):
    """A method of the router that is its FileIngestion's method of the same name (bound to
    the router's service): one delegation instead of a copy of each signature."""

    def __init__(self, method: Callable[Concatenate[FileIngestion, P], R]) -> None:
        self._name = method.__name__

    @overload
    def __get__(self, router: None, owner: type) -> Callable[Concatenate[FileIngestion, P], R]: ...

    @overload
    def __get__(self, router: VectorStoresRouter, owner: type) -> Callable[P, R]: ...

    def __get__(self, router: VectorStoresRouter | None, owner: type) -> Callable[..., R]:
        if router is None:
            return cast("Callable[..., R]", getattr(FileIngestion, self._name))
        return cast("Callable[P, R]", getattr(router._files, self._name))


class VectorStoresRouter:
    """The Vector IO API: stores (a StoreCatalog), their files (a FileIngestion service it
    owns), search and chunks."""

    def __init__(
        self,
        providers: Mapping[str, VectorIOProvider],
        kv: KVStore,
        inference: InferenceRouter,
        models: ModelsRoutingTable,
        files: Any,
        config: VectorStoresConfig,
        engine: ExecutionEngine | None = None,
    ) -> None:
        self._stores = StoreCatalog(providers, kv, inference, models, config)
        self._files = FileIngestion(self._stores, files, engine)
        self._records = self._stores.records  # files and batches of every store
        self._config = config

    async def initialize(self) -> None:
        await self._stores.load()
        await self._files.recover_interrupted()

    async def shutdown(self) -> None:
        await self._files.shutdown()

    # -- stores

    async def create_vector_store(
        self,
        name: str | None = None,
        file_ids: builtins.list[str] | None = None,
        expires_after: ExpiresAfter | dict[str, Any] | None = None,
        chunking_strategy: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        embedding_model: str | None = None,
        embedding_dimension: int | None = None,
        provider_id: str | None = None,
    ) -> VectorStoreObject:
        provider_id = self._provider_id(provider_id)
        model_id, dimension = await self._embedding_model(embedding_model, embedding_dimension)
        strategy = self._stores.strategy(chunking_strategy)
        expires = _expires(expires_after)
        now = int(time.time())
        store = VectorStoreObject(
            id=f"vs_{uuid.uuid4().hex}",
            created_at=now,
            name=name,
            expires_after=expires,
            expires_at=now + expires.days * DAY_S if expires else None,
            last_active_at=now,
            metadata={
                **(metadata or {}),
                "provider_id": provider_id,
                "embedding_model": model_id,
                "embedding_dimension": dimension,
            },
        )
        check_create(VECTOR_STORE, store.id)
        record = VectorStoreRecord(
            identifier=store.id,
            provider_id=provider_id,
            embedding_model=model_id,
            embedding_dimension=dimension,
            owner=owner_for_new_resource(),
            object=store,
        )
        await self._stores.providers[provider_id].create_index(record)
        await self._stores.table.put(record, persist=True)
        for file_id in file_ids or []:
            await self._files.attach_file(
                store.id, file_id, chunking_strategy=strategy.model_dump()
            )
        return await self.retrieve_vector_store(store.id)

    async def list_vector_stores(
        self,
        after: str | None = None,
        before: str | None = None,
        limit: int = 20,
        order: Order = "desc",
    ) -> VectorStoreListResponse:
        records = [r for r in self._stores.table.all() if visible(r) and not expired(r)]
        page, more = paginate(
            records, lambda r: (r.object.created_at, r.identifier), after, before, limit, order
        )
        data = [await self._public(r) for r in page]
        return VectorStoreListResponse(
            data=data,
            has_more=more,
            first_id=data[0].id if data else None,
            last_id=data[-1].id if data else None,
        )

    async def retrieve_vector_store(self, vector_store_id: str) -> VectorStoreObject:
        return await self._public(self._stores.store(vector_store_id))

    async def update_vector_store(
        self,
        vector_store_id: str,
        name: str | None = None,
        expires_after: ExpiresAfter | dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> VectorStoreObject:
        record = self._stores.store(vector_store_id, "update")
        store = record.object.model_copy(deep=True)
        if name is not None:
            store.name = name
        if metadata is not None:
            keep = {k: store.metadata[k] for k in _SYSTEM_KEYS if k in store.metadata}
            store.metadata = {**metadata, **keep}
        if expires_after is not None:
            store.expires_after = _expires(expires_after)
        store.last_active_at = int(time.time())  # an update is a use (as in Llama Stack 0.7.3)
        if store.expires_after is not None:
            store.expires_at = store.last_active_at + store.expires_after.days * DAY_S
        await self._stores.table.put(record.model_copy(update={"object": store}), persist=True)
        return await self.retrieve_vector_store(vector_store_id)

    async def delete_vector_store(self, vector_store_id: str) -> VectorStoreDeleteResponse:
        record = self._stores.store(vector_store_id, "delete")
        self._files.cancel(vector_store_id)
        await self._stores.provider(record).delete_index(record.identifier)
        await self._records.delete_store(record.identifier)
        await self._stores.table.remove(record.identifier)
        return VectorStoreDeleteResponse(id=vector_store_id)

    # -- search

    async def search_vector_store(
        self,
        vector_store_id: str,
        query: str | builtins.list[str],
        filters: dict[str, Any] | None = None,
        max_num_results: int | None = 10,
        ranking_options: RankingOptions | dict[str, Any] | None = None,
        rewrite_query: bool = False,
        search_mode: SearchMode | None = None,
    ) -> SearchResultsPage:
        record = self._stores.store(vector_store_id)
        queries = [query] if isinstance(query, str) else list(query)
        if not queries or not all(isinstance(q, str) and q.strip() for q in queries):
            raise BadRequestError("query must be a non-empty string or list of strings.")
        if rewrite_query:
            raise BadRequestError(
                "rewrite_query is not supported by this stack; send the query as you want it searched."
            )
        if max_num_results is None:
            max_num_results = 10  # null means the default, as in OpenAI's and 0.7.3's API
        if not 1 <= max_num_results <= 50:
            raise BadRequestError(
                f"max_num_results must be between 1 and 50, got {max_num_results}."
            )
        if filters is not None:
            check_filter(filters)
        options = parsed_ranking(ranking_options)
        mode = search_mode or self._config.default_search_mode
        hits = await search_store(
            self._stores, record, " ".join(queries), mode, max_num_results, options, filters
        )
        attributes = await self._records.attributes(record.identifier)
        data = [search_result(hit, attributes) for hit in hits]
        await self._stores.touch(record)
        return SearchResultsPage(search_query=queries, data=data)

    async def query_chunks(
        self, vector_store_id: str, query: str, params: dict[str, Any] | None = None
    ) -> QueryChunksResponse:
        record = self._stores.store(vector_store_id)
        query_params = QueryParams.parse(
            params, self._config.default_search_mode, record.embedding_dimension
        )
        hits = await search_store(
            self._stores,
            record,
            query,
            query_params.mode,
            query_params.k,
            query_params.options,
            query_params.filters,
        )
        await self._stores.touch(record)
        return QueryChunksResponse(chunks=[h.chunk for h in hits], scores=[h.score for h in hits])

    # -- files: answered by the FileIngestion service the router owns, methods as they are there

    attach_file = _FileIngestionMethod(FileIngestion.attach_file)
    list_vector_store_files = _FileIngestionMethod(FileIngestion.list_vector_store_files)
    retrieve_vector_store_file = _FileIngestionMethod(FileIngestion.retrieve_vector_store_file)
    retrieve_vector_store_file_contents = _FileIngestionMethod(
        FileIngestion.retrieve_vector_store_file_contents
    )
    update_vector_store_file = _FileIngestionMethod(FileIngestion.update_vector_store_file)
    delete_vector_store_file = _FileIngestionMethod(FileIngestion.delete_vector_store_file)
    create_file_batch = _FileIngestionMethod(FileIngestion.create_file_batch)
    retrieve_file_batch = _FileIngestionMethod(FileIngestion.retrieve_file_batch)
    list_files_in_file_batch = _FileIngestionMethod(FileIngestion.list_files_in_file_batch)
    cancel_file_batch = _FileIngestionMethod(FileIngestion.cancel_file_batch)

    # -- chunks

    async def insert_chunks(
        self,
        vector_store_id: str,
        chunks: builtins.list[Chunk | EmbeddedChunk | dict[str, Any]],
        ttl_seconds: int | None = None,
    ) -> None:
        record = self._stores.store(vector_store_id, "update")
        if ttl_seconds is not None:
            raise BadRequestError(
                "ttl_seconds is not supported: chunks stay until deleted (delete_vector_store_file "
                "or delete_vector_store)."
            )
        parsed = [_as_chunk(c, i) for i, c in enumerate(chunks)]
        missing = [c for c in parsed if not isinstance(c, EmbeddedChunk)]
        vectors = iter(
            await self._stores.embed(record.embedding_model, [c.content for c in missing])
        )
        embedded = [
            c
            if isinstance(c, EmbeddedChunk)
            else EmbeddedChunk(
                **c.model_dump(),
                embedding=next(vectors),
                embedding_model=record.embedding_model,
                embedding_dimension=record.embedding_dimension,
            )
            for c in parsed
        ]
        for c in embedded:
            if len(c.embedding) != record.embedding_dimension:
                raise BadRequestError(
                    f"Chunk '{c.chunk_id}' has a {len(c.embedding)}-dimensional embedding; store "
                    f"'{vector_store_id}' takes {record.embedding_dimension}."
                )
        await self._stores.provider(record).add_chunks(record.identifier, embedded)
        await self._stores.touch(record)

    async def _public(self, record: VectorStoreRecord) -> VectorStoreObject:
        files = [f.file for f in await self._records.files(record.identifier)]
        status = "in_progress" if any(f.status == "in_progress" for f in files) else "completed"
        return record.object.model_copy(
            update={
                "file_counts": counts(files),
                "usage_bytes": sum(f.usage_bytes for f in files),
                "status": status,
            }
        )

    def _provider_id(self, requested: str | None) -> str:
        if not self._stores.providers:
            raise BadRequestError("This stack has no vector_io provider.")
        chosen = requested or self._config.default_provider_id or next(iter(self._stores.providers))
        if chosen not in self._stores.providers:
            raise NotFoundError("Vector IO provider", chosen, self._stores.providers)
        return chosen

    async def _embedding_model(
        self, requested: str | None, dimension: int | None
    ) -> tuple[str, int]:
        default = self._config.default_embedding_model
        if requested is None and default is not None:
            requested = (
                f"{default.provider_id}/{default.model_id}"
                if default.provider_id
                else default.model_id
            )
        if requested is None:
            embedding = [
                m for m in await self._stores.models.list() if m.model_type == ModelType.embedding
            ]
            if not embedding:
                raise BadRequestError(
                    "No embedding model is served by this stack: register one, or pass embedding_model."
                )
            requested = embedding[0].identifier
        model = await self._stores.models.resolve(requested)
        if model.model_type != ModelType.embedding:
            raise BadRequestError(f"Model '{requested}' is not an embedding model.")
        known = model.metadata.get("embedding_dimension")
        if dimension is None:
            dimension = (
                int(known) if known else len((await self._stores.embed(requested, ["probe"]))[0])
            )
        elif known and int(known) != dimension:
            raise BadRequestError(
                f"Model '{requested}' makes {known}-dimensional embeddings, not {dimension}."
            )
        return model.identifier, dimension


_SYSTEM_KEYS = ("provider_id", "embedding_model", "embedding_dimension")


def _expires(value: ExpiresAfter | dict[str, Any] | None) -> ExpiresAfter | None:
    if value is None or isinstance(value, ExpiresAfter):
        return value
    try:
        return ExpiresAfter.model_validate(value)
    except ValidationError as exc:
        raise UnprocessableError(f"Invalid expires_after: {exc.errors()[0]['msg']}") from None


def _as_chunk(value: Any, index: int) -> Chunk | EmbeddedChunk:
    if isinstance(value, Chunk):
        return value
    if not isinstance(value, Mapping):
        raise BadRequestError(f"chunks[{index}] must be a chunk object.")
    try:
        if value.get("embedding") is not None:
            return EmbeddedChunk.model_validate(value)
        return Chunk.model_validate({k: v for k, v in value.items() if k != "embedding"})
    except ValidationError as exc:
        raise UnprocessableError(f"chunks[{index}]: {exc.errors()[0]['msg']}") from None
