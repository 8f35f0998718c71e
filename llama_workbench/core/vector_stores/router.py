"""The Vector IO API: vector stores as routed resources over vector index providers."""

from __future__ import annotations

import asyncio
import builtins
import logging
import time
import uuid
from collections.abc import Mapping
from typing import Any

from pydantic import TypeAdapter, ValidationError

from llama_workbench.apis.inference.models import EmbeddingsRequest
from llama_workbench.apis.models.models import ModelType
from llama_workbench.apis.vector_io.api import Order, VectorIOProvider
from llama_workbench.apis.vector_io.models import (
    Chunk,
    ChunkingStrategy,
    ChunkingStrategyAuto,
    EmbeddedChunk,
    ExpiresAfter,
    QueryChunksResponse,
    RankingOptions,
    ScoredChunk,
    SearchContent,
    SearchMode,
    SearchResult,
    SearchResultsPage,
    VectorStoreDeleteResponse,
    VectorStoreListResponse,
    VectorStoreObject,
    VectorStoreRecord,
)
from llama_workbench.core.access import (
    VECTOR_STORE,
    can_access,
    check_access,
    check_create,
    owner_for_new_resource,
)
from llama_workbench.core.config import VectorStoresConfig
from llama_workbench.core.errors import BadRequestError, NotFoundError, UnprocessableError
from llama_workbench.core.policy import Action
from llama_workbench.core.routing import InferenceRouter, ModelsRoutingTable, ResourceTable
from llama_workbench.core.vector_stores.files import StoreFiles
from llama_workbench.core.vector_stores.ingest import TextLimits
from llama_workbench.core.vector_stores.records import StoreRecords, counts, paginate
from llama_workbench.core.vector_stores.search import (
    RERANK_CANDIDATES,
    QueryParams,
    check_filter,
    fuse,
    matches,
    rerank_hits,
    rerank_model,
    unit_scores,
)
from llama_workbench.execution.engine import ExecutionEngine
from llama_workbench.storage.kv import KVStore

logger = logging.getLogger(__name__)

_STRATEGY: TypeAdapter[Any] = TypeAdapter(ChunkingStrategy)
DAY_S = 86_400


class VectorStoresRouter(StoreFiles):
    """Stores live in the kv registry; their chunks in the provider that holds each store."""

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
        self._providers = dict(providers)
        self._engine = engine  # Ray runs file batches (parse, chunk, embed) when it is Ray
        self._table: ResourceTable[VectorStoreRecord] = ResourceTable(
            "vector_store", VectorStoreRecord, kv
        )
        self._records = StoreRecords(kv)
        self._inference = inference
        self._models = models
        self._files_api = files
        self._config = config
        self._limits: dict[str, TextLimits] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    async def initialize(self) -> None:
        await self._table.load()
        for record in self._table.all():
            provider = self._providers.get(record.provider_id)
            if provider is None:
                logger.warning(
                    "vector store %s is held by provider %s, which this config lacks",
                    record.identifier,
                    record.provider_id,
                )
                continue
            await provider.create_index(record)
        await self._recover_interrupted()

    async def shutdown(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

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
        strategy = self.strategy(chunking_strategy)
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
        await self._providers[provider_id].create_index(record)
        await self._table.put(record, persist=True)
        for file_id in file_ids or []:
            await self.attach_file(store.id, file_id, chunking_strategy=strategy.model_dump())
        return await self.retrieve_vector_store(store.id)

    async def list_vector_stores(
        self,
        after: str | None = None,
        before: str | None = None,
        limit: int = 20,
        order: Order = "desc",
    ) -> VectorStoreListResponse:
        records = [r for r in self._table.all() if self._visible(r) and not _expired(r)]
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
        return await self._public(self.store(vector_store_id))

    async def update_vector_store(
        self,
        vector_store_id: str,
        name: str | None = None,
        expires_after: ExpiresAfter | dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> VectorStoreObject:
        record = self.store(vector_store_id, "update")
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
        await self._table.put(record.model_copy(update={"object": store}), persist=True)
        return await self.retrieve_vector_store(vector_store_id)

    async def delete_vector_store(self, vector_store_id: str) -> VectorStoreDeleteResponse:
        record = self.store(vector_store_id, "delete")
        for task in list(self._tasks):
            if task.get_name().startswith(f"{vector_store_id}:"):
                task.cancel()
        await self._provider(record).delete_index(record.identifier)
        await self._records.delete_store(record.identifier)
        await self._table.remove(record.identifier)
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
        record = self.store(vector_store_id)
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
        options = _ranking(ranking_options)
        mode = search_mode or self._config.default_search_mode
        hits = await self._search(
            record, " ".join(queries), mode, max_num_results, options, filters
        )
        attributes = await self._records.attributes(record.identifier)
        data = [_result(hit, attributes) for hit in hits]
        await self._touch(record)
        return SearchResultsPage(search_query=queries, data=data)

    async def query_chunks(
        self, vector_store_id: str, query: str, params: dict[str, Any] | None = None
    ) -> QueryChunksResponse:
        record = self.store(vector_store_id)
        query_params = QueryParams.parse(
            params, self._config.default_search_mode, record.embedding_dimension
        )
        hits = await self._search(
            record,
            query,
            query_params.mode,
            query_params.k,
            query_params.options,
            query_params.filters,
        )
        await self._touch(record)
        return QueryChunksResponse(chunks=[h.chunk for h in hits], scores=[h.score for h in hits])

    async def _search(
        self,
        record: VectorStoreRecord,
        query: str,
        mode: str,
        k: int,
        options: RankingOptions | None,
        filters: dict[str, Any] | None,
    ) -> builtins.list[ScoredChunk]:
        if mode not in ("vector", "keyword", "hybrid"):
            raise BadRequestError(
                f"search_mode '{mode}' is unknown; use vector, keyword or hybrid."
            )
        provider = self._provider(record)
        embedding = None
        if mode != "keyword":
            (embedding,) = await self.embed(record.embedding_model, [query])
        attributes = None
        if filters is not None:
            attributes = await self._records.attributes(record.identifier)
        threshold = options.score_threshold if options and options.score_threshold else None
        reranker = rerank_model(options, self._config)
        if reranker is not None:  # the reranker picks the best k of more candidates
            final_k, k = k, k * RERANK_CANDIDATES
        fetch = k * (4 if filters else 1) * (2 if mode == "hybrid" else 1)
        while True:
            vector = (
                unit_scores(await provider.query_vector(record.identifier, embedding, fetch))
                if embedding
                else []
            )
            keyword = (
                await provider.query_keyword(record.identifier, query, fetch)
                if mode != "vector"
                else []
            )
            hits = fuse(vector, keyword, options) if mode == "hybrid" else vector or keyword
            exhausted = len(vector) < fetch and len(keyword) < fetch
            if filters is not None and attributes is not None:
                hits = [h for h in hits if matches(filters, _attributes_of(h, attributes))]
            if threshold is not None:
                hits = [h for h in hits if h.score >= threshold]
            if len(hits) >= k or exhausted or filters is None:
                if reranker is not None:
                    return await rerank_hits(self._inference, reranker, query, hits[:k], final_k)
                return hits[:k]
            fetch *= 4  # filters removed too many: look further down the ranking

    # -- chunks

    async def insert_chunks(
        self,
        vector_store_id: str,
        chunks: builtins.list[Chunk | EmbeddedChunk | dict[str, Any]],
        ttl_seconds: int | None = None,
    ) -> None:
        record = self.store(vector_store_id, "update")
        if ttl_seconds is not None:
            raise BadRequestError(
                "ttl_seconds is not supported: chunks stay until deleted (delete_vector_store_file "
                "or delete_vector_store)."
            )
        parsed = [_as_chunk(c, i) for i, c in enumerate(chunks)]
        missing = [c for c in parsed if not isinstance(c, EmbeddedChunk)]
        vectors = iter(await self.embed(record.embedding_model, [c.content for c in missing]))
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
        await self._provider(record).add_chunks(record.identifier, embedded)
        await self._touch(record)

    # -- shared with StoreFiles

    def store(self, vector_store_id: str, action: Action = "read") -> VectorStoreRecord:
        """The store: a 404 when the caller may not read it, a 403 when not `action` it."""
        record = self._table.get(vector_store_id)
        if record is None or not self._visible(record) or _expired(record):
            visible = [r.identifier for r in self._table.all() if self._visible(r)]
            raise NotFoundError("Vector store", vector_store_id, visible)
        check_access(record.owner, VECTOR_STORE, record.identifier, action)
        return record

    @staticmethod
    def _visible(record: VectorStoreRecord) -> bool:
        return can_access(record.owner, VECTOR_STORE, record.identifier)

    def _provider(self, record: VectorStoreRecord) -> VectorIOProvider:
        provider = self._providers.get(record.provider_id)
        if provider is None:
            raise BadRequestError(
                f"Vector store '{record.identifier}' lives in provider '{record.provider_id}', "
                f"which this stack does not configure (have: {', '.join(self._providers)})."
            )
        return provider

    async def embed(
        self, model_id: str, texts: builtins.list[str]
    ) -> builtins.list[builtins.list[float]]:
        if not texts:
            return []
        response = await self._inference.embeddings(EmbeddingsRequest(model=model_id, input=texts))
        return [d.embedding for d in sorted(response.data, key=lambda d: d.index)]  # type: ignore[misc]

    async def text_limits(self, model_id: str) -> TextLimits:
        if model_id not in self._limits:
            from llama_workbench.providers.utils.chunking import hf_token_spans, word_token_spans

            tokenizer, limit = await self._inference.tokenizer_info(model_id)
            if tokenizer is None:
                self._limits[model_id] = TextLimits(word_token_spans, "words", None)
            else:
                # Named by the model it belongs to (its name_or_path is a local folder).
                self._limits[model_id] = TextLimits(hf_token_spans(tokenizer), model_id, limit)
        return self._limits[model_id]

    def strategy(self, value: Any) -> Any:
        if value is None:
            return ChunkingStrategyAuto()
        try:
            return _STRATEGY.validate_python(value)
        except ValidationError as exc:
            raise UnprocessableError(
                f"Invalid chunking_strategy: {exc.errors()[0]['msg']}"
            ) from None

    async def _touch(self, record: VectorStoreRecord) -> None:
        store = record.object
        now = int(time.time())
        if store.last_active_at == now:
            return  # to the second, as the field is
        update: dict[str, Any] = {"last_active_at": now}
        if store.expires_after:
            update["expires_at"] = now + store.expires_after.days * DAY_S
        await self._table.put(
            record.model_copy(update={"object": store.model_copy(update=update)}), persist=True
        )

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
        if not self._providers:
            raise BadRequestError("This stack has no vector_io provider.")
        chosen = requested or self._config.default_provider_id or next(iter(self._providers))
        if chosen not in self._providers:
            raise NotFoundError("Vector IO provider", chosen, self._providers)
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
                m for m in await self._models.list() if m.model_type == ModelType.embedding
            ]
            if not embedding:
                raise BadRequestError(
                    "No embedding model is served by this stack: register one, or pass embedding_model."
                )
            requested = embedding[0].identifier
        model = await self._models.resolve(requested)
        if model.model_type != ModelType.embedding:
            raise BadRequestError(f"Model '{requested}' is not an embedding model.")
        known = model.metadata.get("embedding_dimension")
        if dimension is None:
            dimension = int(known) if known else len((await self.embed(requested, ["probe"]))[0])
        elif known and int(known) != dimension:
            raise BadRequestError(
                f"Model '{requested}' makes {known}-dimensional embeddings, not {dimension}."
            )
        return model.identifier, dimension


_SYSTEM_KEYS = ("provider_id", "embedding_model", "embedding_dimension")


def _expired(record: VectorStoreRecord) -> bool:
    expires_at = record.object.expires_at
    return expires_at is not None and expires_at <= time.time()


def _expires(value: ExpiresAfter | dict[str, Any] | None) -> ExpiresAfter | None:
    if value is None or isinstance(value, ExpiresAfter):
        return value
    try:
        return ExpiresAfter.model_validate(value)
    except ValidationError as exc:
        raise UnprocessableError(f"Invalid expires_after: {exc.errors()[0]['msg']}") from None


def _ranking(value: RankingOptions | dict[str, Any] | None) -> RankingOptions | None:
    if value is None or isinstance(value, RankingOptions):
        return value
    try:
        return RankingOptions.model_validate(value)
    except ValidationError as exc:
        raise UnprocessableError(f"Invalid ranking_options: {exc.errors()[0]['msg']}") from None


def _attributes_of(hit: ScoredChunk, by_file: Mapping[str, Any]) -> Mapping[str, Any]:
    file_id = hit.chunk.chunk_metadata.file_id
    return by_file.get(file_id, {}) if file_id else hit.chunk.metadata


def _result(hit: ScoredChunk, by_file: Mapping[str, Any]) -> SearchResult:
    chunk = hit.chunk
    meta = chunk.chunk_metadata
    file_id = meta.file_id or str(chunk.metadata.get("document_id") or chunk.chunk_id)
    filename = meta.filename or str(chunk.metadata.get("filename") or meta.source or file_id)
    attributes = (
        by_file.get(file_id)
        if meta.file_id
        else {k: v for k, v in chunk.metadata.items() if isinstance(v, str | int | float | bool)}
    )
    return SearchResult(
        file_id=file_id,
        filename=filename,
        score=hit.score,
        attributes=attributes or None,
        content=[SearchContent(text=chunk.content, chunk_metadata=meta, metadata=chunk.metadata)],
    )


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
