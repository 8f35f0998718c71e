"""Qdrant: a cosine collection per store; keyword search by full-text filters, ranked by BM25 here."""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
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
from llama_workbench.providers.remote.vector_io.qdrant.config import QdrantVectorIOConfig
from llama_workbench.providers.utils.vector_io import (
    KEYWORD_CANDIDATES,
    best_bm25,
    check_chunks,
    check_vector,
    chunk_from_json,
    chunk_json,
    hashed_name,
    in_file_order,
    query_terms,
    words,
)
from llama_workbench.storage.kv import redact

# Point ids must be UUIDs or integers; chunk ids are free text.
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/llama-workbench/qdrant")
_PAGE = 256


def point_id(store_id: str, chunk_id: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{store_id}\x00{chunk_id}"))


def _qdrant() -> Any:
    try:
        import qdrant_client
        from qdrant_client import models  # noqa: F401  (loaded here, used as qdrant_client.models)
    except ImportError:
        raise MissingDependencyError(
            "qdrant-client", "qdrant", needed_by="remote::qdrant"
        ) from None
    return qdrant_client


def _vector_size(vectors: Any) -> int | None:
    """The size of a collection's unnamed vector (None: named vectors, not ours)."""
    size = getattr(vectors, "size", None)
    return int(size) if size is not None else None


class QdrantVectorIO:
    """remote::qdrant: cosine search by Qdrant, keyword search by its full-text match + BM25."""

    def __init__(self, config: QdrantVectorIOConfig, deps: ProviderDeps) -> None:
        self._qc = _qdrant()
        self._m = self._qc.models
        self._config = config
        self._provider_id = deps.provider_id
        self._path: Path | None = None
        if config.path is not None:
            path = Path(config.path).expanduser()
            self._path = path if path.is_absolute() else deps.data_dir / path
        self._where = (
            f"Qdrant at {config.url}" if config.url else f"Qdrant (local mode) in {self._path}"
        )
        self._client: Any = None
        self._closed = False
        self._lock = asyncio.Lock()
        self._dimensions: dict[str, int] = {}

    # -- connection and errors

    def _secret(self) -> str | None:
        key = self._config.api_key
        return (key.get_secret_value() or None) if key is not None else None

    def _fail(
        self, cls: type[ProviderError], text: str, status: int | None = None
    ) -> ProviderError:
        return cls(self._provider_id, redact(text, self._secret()), upstream_status=status)

    async def _get_client(self) -> Any:
        async with self._lock:
            if self._closed:
                raise ProviderUnavailableError(self._provider_id, "the provider was shut down")
            if self._client is None:
                self._client = self._open()
        return self._client

    def _open(self) -> Any:
        cfg = self._config
        if self._path is not None:
            self._path.mkdir(parents=True, exist_ok=True)
            try:
                return self._qc.AsyncQdrantClient(path=str(self._path))
            except RuntimeError as exc:  # the folder is locked by another client
                raise self._fail(ProviderUnavailableError, f"{self._where}: {exc}") from exc
        # No compatibility check: it would call the server from the constructor, in a thread.
        return self._qc.AsyncQdrantClient(
            url=cfg.url, api_key=self._secret(), prefer_grpc=cfg.prefer_grpc,
            grpc_port=cfg.grpc_port, timeout=cfg.timeout, check_compatibility=False,
        )  # fmt: skip

    @asynccontextmanager
    async def _calls(self, operation: str, store_id: str | None = None) -> AsyncIterator[Any]:
        """The client, with its errors turned into the package's errors."""
        from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

        try:
            yield await self._get_client()
        except LlamaWorkbenchError:
            raise
        except UnexpectedResponse as exc:
            raise self._http_error(exc, operation, store_id) from exc
        except (ResponseHandlingException, OSError, TimeoutError) as exc:
            text = f"cannot reach {self._where}: {operation} failed: {exc}"
            raise self._fail(ProviderUnavailableError, text) from exc
        except ValueError as exc:  # local mode reports everything as ValueError
            if "not found" in str(exc) and store_id is not None:
                raise NotFoundError("Vector index", store_id, hint="(remote::qdrant)") from None
            raise self._fail(ProviderError, f"{self._where}: {operation} failed: {exc}") from exc
        except Exception as exc:
            mapped = self._grpc_error(exc, operation, store_id)
            if mapped is None:
                raise
            raise mapped from exc

    def _http_error(self, exc: Any, operation: str, store_id: str | None) -> LlamaWorkbenchError:
        status = exc.status_code
        if status == 404 and store_id is not None:
            return NotFoundError("Vector index", store_id, hint="(remote::qdrant)")
        body = exc.content.decode(errors="replace")[:500] if exc.content else exc.reason_phrase
        text = f"{self._where}: {operation} failed: {status} {body}"
        cls = ProviderUnavailableError if status in (502, 503, 504) else ProviderError
        return self._fail(cls, text, status)

    def _grpc_error(
        self, exc: Exception, operation: str, store_id: str | None
    ) -> LlamaWorkbenchError | None:
        """The error for a gRPC failure (prefer_grpc); None for anything else."""
        import grpc

        if not isinstance(exc, grpc.RpcError):
            return None
        code = exc.code() if hasattr(exc, "code") else None
        if code == grpc.StatusCode.NOT_FOUND and store_id is not None:
            return NotFoundError("Vector index", store_id, hint="(remote::qdrant)")
        details = exc.details() if hasattr(exc, "details") else str(exc)
        if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
            text = f"cannot reach {self._where} (gRPC): {operation} failed: {code}: {details}"
            return self._fail(ProviderUnavailableError, text)
        return self._fail(ProviderError, f"{self._where}: {operation} failed: {code}: {details}")

    # -- the provider protocol

    async def create_index(self, store: VectorStoreRecord) -> None:
        dimension = store.embedding_dimension
        name = self._name(store.identifier)
        m = self._m
        async with self._calls("create index", store.identifier) as client:
            # This runs at every start for every store: create only what is missing.
            if not await client.collection_exists(name):
                params = m.VectorParams(size=dimension, distance=m.Distance.COSINE)
                try:
                    await client.create_collection(name, vectors_config=params)
                except Exception:
                    if not await client.collection_exists(name):  # else: a racing start made it
                        raise
            if self._path is None:  # local mode has no payload indexes (and warns about them)
                await self._ensure_payload_indexes(client, name)
            info = await client.get_collection(name)
        vectors = info.config.params.vectors
        existing = _vector_size(vectors)
        distance = getattr(vectors, "distance", None)
        if existing != dimension or distance != m.Distance.COSINE:
            raise ConflictError(
                f"Vector index '{store.identifier}' already exists in {self._where} as collection "
                f"'{name}' with {existing} dimensions ({distance}); the store takes {dimension}, "
                "cosine."
            )
        self._dimensions[store.identifier] = dimension

    async def _ensure_payload_indexes(self, client: Any, name: str) -> None:
        m = self._m
        text = m.TextIndexParams(
            type=m.TextIndexType.TEXT, tokenizer=m.TokenizerType.WORD, lowercase=True
        )
        # Creating an index that exists is a no-op for Qdrant.
        await client.create_payload_index(name, "content", field_schema=text, wait=True)
        keyword = m.PayloadSchemaType.KEYWORD
        await client.create_payload_index(name, "file_id", field_schema=keyword, wait=True)
        await client.create_payload_index(name, "chunk_id", field_schema=keyword, wait=True)

    async def delete_index(self, store_id: str) -> None:
        try:
            async with self._calls("delete index", store_id) as client:
                await client.delete_collection(self._name(store_id))
        except NotFoundError:
            pass  # already gone: deleting is idempotent
        self._dimensions.pop(store_id, None)

    async def add_chunks(self, store_id: str, chunks: list[EmbeddedChunk]) -> None:
        if not chunks:
            return
        dimension = await self._dimension(store_id)
        check_chunks(store_id, chunks, dimension)
        points = [self._point(store_id, c) for c in chunks]
        async with self._calls("add chunks", store_id) as client:
            # One request: Qdrant applies a batch as one update operation.
            await client.upsert(self._name(store_id), points=points, wait=True)

    def _point(self, store_id: str, chunk: EmbeddedChunk) -> Any:
        # Cosine collections keep vectors normalized; the norm restores the chunk's own vector.
        norm = math.sqrt(sum(v * v for v in chunk.embedding))
        payload = {
            "chunk_id": chunk.chunk_id,
            "file_id": chunk.chunk_metadata.file_id,
            "chunk_index": chunk.chunk_metadata.chunk_index,
            "content": chunk.content,
            "norm": norm,
            "chunk": chunk_json(chunk),
        }
        return self._m.PointStruct(
            id=point_id(store_id, chunk.chunk_id), vector=list(chunk.embedding), payload=payload
        )

    async def delete_chunks(self, store_id: str, chunk_ids: list[str]) -> None:
        if not chunk_ids:
            return
        selector = self._m.PointIdsList(points=[point_id(store_id, c) for c in chunk_ids])
        async with self._calls("delete chunks", store_id) as client:
            await client.delete(self._name(store_id), points_selector=selector, wait=True)

    async def delete_file_chunks(self, store_id: str, file_id: str) -> None:
        selector = self._m.FilterSelector(filter=self._file_filter(file_id))
        async with self._calls("delete file chunks", store_id) as client:
            await client.delete(self._name(store_id), points_selector=selector, wait=True)

    async def file_chunks(self, store_id: str, file_id: str) -> list[EmbeddedChunk]:
        async with self._calls("read file chunks", store_id) as client:
            records = await self._scroll(client, store_id, self._file_filter(file_id), None, True)
        return in_file_order([self._chunk(r) for r in records])

    async def query_vector(
        self, store_id: str, embedding: list[float], k: int
    ) -> list[ScoredChunk]:
        dimension = await self._dimension(store_id)
        check_vector(store_id, embedding, dimension, "The query embedding")
        if k <= 0:
            return []
        async with self._calls("vector query", store_id) as client:
            found = await client.query_points(
                self._name(store_id), query=list(embedding), limit=k,
                with_payload=True, with_vectors=True,
            )  # fmt: skip
        # A cosine collection's score is the cosine similarity.
        return [ScoredChunk(chunk=self._chunk(p), score=float(p.score)) for p in found.points]

    async def query_keyword(self, store_id: str, query: str, k: int) -> list[ScoredChunk]:
        terms = query_terms(query)
        if not terms or k <= 0:
            return []
        m = self._m
        # Full-text match filters (any word, via `should`) find the candidates; Qdrant does
        # not rank them, so BM25 is computed here over their text.
        any_word = m.Filter(
            should=[m.FieldCondition(key="content", match=m.MatchText(text=t)) for t in terms]
        )
        name = self._name(store_id)
        async with self._calls("keyword query", store_id) as client:
            candidates = await self._scroll(
                client, store_id, any_word, ["content"], False, limit=KEYWORD_CANDIDATES
            )
            if not candidates:
                return []
            n_docs = (await client.count(name, exact=True)).count
            docs = {str(r.id): words(r.payload.get("content", "")) for r in candidates}
            best = best_bm25(terms, docs, n_docs, k)
            if not best:
                return []
            ids = [key for key, _ in best]
            records = await client.retrieve(name, ids=ids, with_payload=True, with_vectors=True)
        by_id = {str(r.id): r for r in records}
        return [
            ScoredChunk(chunk=self._chunk(by_id[key]), score=score)
            for key, score in best
            if key in by_id
        ]

    async def shutdown(self) -> None:
        async with self._lock:
            self._closed = True
            client, self._client = self._client, None
        if client is not None:
            await client.close()

    # -- helpers

    def _name(self, store_id: str) -> str:
        return hashed_name(self._config.collection_prefix, store_id)

    def _file_filter(self, file_id: str) -> Any:
        m = self._m
        return m.Filter(must=[m.FieldCondition(key="file_id", match=m.MatchValue(value=file_id))])

    async def _scroll(
        self,
        client: Any,
        store_id: str,
        where: Any,
        payload: list[str] | None,
        vectors: bool,
        limit: int | None = None,
    ) -> list[Any]:
        """Every point matching `where` (at most `limit`), page by page."""
        records: list[Any] = []
        offset = None
        while limit is None or len(records) < limit:
            page = _PAGE if limit is None else min(_PAGE, limit - len(records))
            found, offset = await client.scroll(
                self._name(store_id), scroll_filter=where, limit=page, offset=offset,
                with_payload=payload if payload is not None else True, with_vectors=vectors,
            )  # fmt: skip
            records.extend(found)
            if offset is None:
                break
        return records

    def _chunk(self, point: Any) -> EmbeddedChunk:
        payload = point.payload or {}
        norm = float(payload.get("norm") or 1.0)
        vector = point.vector if isinstance(point.vector, list) else []
        return chunk_from_json(payload["chunk"], [float(v) * norm for v in vector])

    async def _dimension(self, store_id: str) -> int:
        """The store's dimension; read from the collection when another process created it."""
        if store_id not in self._dimensions:
            async with self._calls("look up index", store_id) as client:
                info = await client.get_collection(self._name(store_id))
            size = _vector_size(info.config.params.vectors)
            if size is None:
                raise NotFoundError("Vector index", store_id, hint="(remote::qdrant)")
            self._dimensions[store_id] = size
        return self._dimensions[store_id]
