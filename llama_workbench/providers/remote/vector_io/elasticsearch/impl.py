"""Elasticsearch: an index per store; kNN over a cosine dense_vector, BM25 over the text."""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from llama_workbench.apis.vector_io.models import EmbeddedChunk, ScoredChunk, VectorStoreRecord
from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.core.errors import (
    ConflictError,
    LlamaWorkbenchError,
    MissingDependencyError,
    NotFoundError,
    ProviderError,
    ProviderUnavailableError,
)
from llama_workbench.providers.remote.vector_io.elasticsearch.config import (
    ElasticsearchVectorIOConfig,
)
from llama_workbench.providers.utils.vector_io import (
    check_chunks,
    check_vector,
    chunk_from_json,
    chunk_json,
    hashed_name,
    in_file_order,
    query_terms,
)
from llama_workbench.storage.kv import redact

_PREFIX = "llw_"  # index names are lowercase: the prefix and a hex hash
_PAGE = 1000
_SOURCE = ["chunk", "embedding"]
# Elasticsearch's kNN candidates per shard: at least this many, for recall on small k.
_MIN_CANDIDATES = 100


def _es() -> Any:
    try:
        import elasticsearch
    except ImportError:
        raise MissingDependencyError(
            "elasticsearch", "elasticsearch", needed_by="remote::elasticsearch"
        ) from None
    return elasticsearch


def _doc_id(chunk_id: str) -> str:
    # Document ids are at most 512 bytes; chunk ids are free text.
    return hashlib.sha256(chunk_id.encode()).hexdigest()


def _mappings(dimension: int) -> dict[str, Any]:
    return {
        "dynamic": "strict",
        "properties": {
            "embedding": {
                "type": "dense_vector", "dims": dimension, "index": True, "similarity": "cosine",
            },
            "content": {"type": "text"},  # the standard analyzer: lowercased words
            "chunk": {"type": "text", "index": False},  # kept in _source only
            "chunk_id": {"type": "keyword"},
            "doc_key": {"type": "keyword"},  # the document id again, to page in a stable order
            "file_id": {"type": "keyword"},
        },
    }  # fmt: skip


class ElasticsearchVectorIO:
    """remote::elasticsearch through the official client (AsyncElasticsearch)."""

    def __init__(self, config: ElasticsearchVectorIOConfig, deps: ProviderDeps) -> None:
        if importlib.util.find_spec("elasticsearch") is None:  # imported on first use
            raise MissingDependencyError(
                "elasticsearch", "elasticsearch", needed_by="remote::elasticsearch"
            )
        self._es: Any = None
        self._config = config
        self._provider_id = deps.provider_id
        self._where = f"Elasticsearch at {config.elasticsearch_url}"
        self._client: Any = None
        self._closed = False
        self._lock = asyncio.Lock()
        self._dimensions: dict[str, int] = {}

    # -- connection and errors

    def _secret(self) -> str | None:
        key = self._config.elasticsearch_api_key
        return (key.get_secret_value() or None) if key is not None else None

    async def _get_client(self) -> Any:
        async with self._lock:
            if self._closed:
                raise ProviderUnavailableError(self._provider_id, "the provider was shut down")
            if self._client is None:
                self._es = _es()
                self._client = self._es.AsyncElasticsearch(
                    hosts=[self._config.elasticsearch_url], api_key=self._secret(),
                    request_timeout=self._config.timeout, max_retries=2, retry_on_timeout=True,
                )  # fmt: skip
        return self._client

    @asynccontextmanager
    async def _calls(self, operation: str, store_id: str | None = None) -> AsyncIterator[Any]:
        """The client, with its errors turned into the package's errors."""
        client = await self._get_client()
        es = self._es
        try:
            yield client
        except LlamaWorkbenchError:
            raise
        except es.NotFoundError as exc:
            if store_id is not None and exc.error == "index_not_found_exception":
                raise NotFoundError("Vector index", store_id, hint="(elasticsearch)") from None
            raise self._fail(ProviderError, f"{operation} failed: {exc}", 404) from exc
        except es.ApiError as exc:
            status = exc.status_code
            if status in (401, 403):  # a HEAD request has no body to say why: say it here
                what = "refused the API key" if status == 401 else "does not allow this API key"
                text = f"{operation} failed: {status}: the cluster {what} (elasticsearch_api_key)"
                raise self._fail(ProviderError, text, status) from exc
            cls = ProviderUnavailableError if status in (502, 503, 504) else ProviderError
            raise self._fail(cls, f"{operation} failed: {exc}", status) from exc
        except (es.TransportError, OSError, TimeoutError) as exc:
            text = f"cannot reach {self._where}: {operation} failed: {exc}"
            raise ProviderUnavailableError(self._provider_id, redact(text, self._secret())) from exc

    def _fail(self, cls: type[ProviderError], text: str, status: int | None) -> ProviderError:
        message = redact(f"{self._where}: {text}", self._secret())
        return cls(self._provider_id, message, upstream_status=status)

    # -- the provider protocol

    async def create_index(self, store: VectorStoreRecord) -> None:
        index, dimension = self._name(store.identifier), store.embedding_dimension
        async with self._calls("create index", store.identifier) as es:
            # This runs at every start for every store: create only what is missing.
            if not await es.indices.exists(index=index):
                try:
                    await es.indices.create(index=index, mappings=_mappings(dimension))
                except self._es.BadRequestError as exc:
                    if exc.error != "resource_already_exists_exception":  # a racing start
                        raise
            found = await es.indices.get_mapping(index=index)
        vector = _vector_mapping(found.body, index)
        dims, similarity = vector.get("dims"), vector.get("similarity")
        if dims != dimension or similarity != "cosine":
            raise ConflictError(
                f"Vector index '{store.identifier}' already exists in {self._where} as index "
                f"'{index}' with {dims} dimensions ({similarity}); the store takes {dimension}, "
                "cosine."
            )
        self._dimensions[store.identifier] = dimension

    async def delete_index(self, store_id: str) -> None:
        async with self._calls("delete index") as es:
            await es.indices.delete(index=self._name(store_id), ignore_unavailable=True)
        self._dimensions.pop(store_id, None)

    async def add_chunks(self, store_id: str, chunks: list[EmbeddedChunk]) -> None:
        if not chunks:
            return
        dimension = await self._dimension(store_id)
        check_chunks(store_id, chunks, dimension)
        index = self._name(store_id)
        operations: list[dict[str, Any]] = []
        for chunk in chunks:  # applied in order: a repeated id keeps the last
            key = _doc_id(chunk.chunk_id)
            operations.append({"index": {"_index": index, "_id": key}})
            operations.append(
                {
                    "embedding": list(chunk.embedding), "content": chunk.content,
                    "chunk": chunk_json(chunk), "chunk_id": chunk.chunk_id, "doc_key": key,
                    "file_id": chunk.chunk_metadata.file_id,
                }
            )  # fmt: skip
        await self._bulk(store_id, operations, "add chunks")

    async def _bulk(self, store_id: str, operations: list[dict[str, Any]], what: str) -> None:
        # refresh=wait_for: the next search sees the change, as every provider's reads do.
        async with self._calls(what, store_id) as es:
            result = await es.bulk(operations=operations, refresh="wait_for")
        if result.get("errors"):
            failed = [
                item for entry in result["items"] for item in entry.values()
                if item.get("error") and item.get("status") != 404  # deleting a missing id is fine
            ]  # fmt: skip
            if failed:
                reason = json.dumps(failed[0].get("error"))[:500]
                raise self._fail(ProviderError, f"{what}: {len(failed)} failed: {reason}", 400)

    async def delete_chunks(self, store_id: str, chunk_ids: list[str]) -> None:
        if not chunk_ids:
            return
        await self._dimension(store_id)  # a clear 404 for an unknown store
        index = self._name(store_id)
        operations = [{"delete": {"_index": index, "_id": _doc_id(c)}} for c in chunk_ids]
        await self._bulk(store_id, operations, "delete chunks")

    async def delete_file_chunks(self, store_id: str, file_id: str) -> None:
        async with self._calls("delete file chunks", store_id) as es:
            await es.delete_by_query(
                index=self._name(store_id), query={"term": {"file_id": file_id}},
                refresh=True, conflicts="proceed",
            )  # fmt: skip

    async def file_chunks(self, store_id: str, file_id: str) -> list[EmbeddedChunk]:
        hits: list[dict[str, Any]] = []
        after: list[Any] | None = None
        async with self._calls("read file chunks", store_id) as es:
            while True:  # search_after pages, in doc_key order
                page = await es.search(
                    index=self._name(store_id), query={"term": {"file_id": file_id}},
                    size=_PAGE, sort=[{"doc_key": "asc"}], search_after=after, source=_SOURCE,
                )  # fmt: skip
                found = page["hits"]["hits"]
                hits.extend(found)
                if len(found) < _PAGE:
                    break
                after = found[-1]["sort"]
        return in_file_order([_chunk(h) for h in hits])

    async def query_vector(
        self, store_id: str, embedding: list[float], k: int
    ) -> list[ScoredChunk]:
        dimension = await self._dimension(store_id)
        check_vector(store_id, embedding, dimension, "The query embedding")
        if k <= 0:
            return []
        knn = {
            "field": "embedding", "query_vector": list(embedding), "k": k,
            "num_candidates": max(k, _MIN_CANDIDATES),
        }  # fmt: skip
        async with self._calls("vector query", store_id) as es:
            found = await es.search(index=self._name(store_id), knn=knn, size=k, source=_SOURCE)
        # A cosine dense_vector scores (1 + cosine) / 2; the cosine is the provider's score.
        return [
            ScoredChunk(chunk=_chunk(h), score=2.0 * float(h["_score"]) - 1.0)
            for h in found["hits"]["hits"]
        ]

    async def query_keyword(self, store_id: str, query: str, k: int) -> list[ScoredChunk]:
        await self._dimension(store_id)  # a clear 404 for an unknown store
        terms = query_terms(query)
        if not terms or k <= 0:
            return []
        # The words alone in a match query (no query syntax exists in it); BM25 by the cluster.
        match = {"match": {"content": {"query": " ".join(terms), "operator": "or"}}}
        async with self._calls("keyword query", store_id) as es:
            found = await es.search(index=self._name(store_id), query=match, size=k, source=_SOURCE)
        return [
            ScoredChunk(chunk=_chunk(h), score=float(h["_score"])) for h in found["hits"]["hits"]
        ]

    async def shutdown(self) -> None:
        async with self._lock:
            self._closed = True
            client, self._client = self._client, None
        if client is not None:
            await client.close()

    # -- helpers

    def _name(self, store_id: str) -> str:
        return hashed_name(_PREFIX, store_id)

    async def _dimension(self, store_id: str) -> int:
        """The store's dimension; read from the index mapping when another process made it."""
        if store_id not in self._dimensions:
            index = self._name(store_id)
            async with self._calls("look up index", store_id) as es:
                found = await es.indices.get_mapping(index=index)
            dims = _vector_mapping(found.body, index).get("dims")
            if dims is None:
                raise NotFoundError("Vector index", store_id, hint="(elasticsearch)")
            self._dimensions[store_id] = int(dims)
        return self._dimensions[store_id]


def _vector_mapping(body: dict[str, Any], index: str) -> dict[str, Any]:
    properties = body.get(index, {}).get("mappings", {}).get("properties", {})
    return dict(properties.get("embedding", {}))


def _chunk(hit: dict[str, Any]) -> EmbeddedChunk:
    source = hit["_source"]
    return chunk_from_json(source["chunk"], [float(v) for v in source["embedding"]])
