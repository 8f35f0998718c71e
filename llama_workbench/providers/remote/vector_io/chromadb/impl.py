"""Chroma over its v2 REST API: a cosine collection per store; keyword hits ranked by BM25 here."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

import httpx

from llama_workbench.apis.vector_io.models import EmbeddedChunk, ScoredChunk, VectorStoreRecord
from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.core.errors import (
    ConflictError,
    NotFoundError,
    ProviderError,
    ProviderUnavailableError,
)
from llama_workbench.providers.remote.vector_io.chromadb.config import ChromaVectorIOConfig
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

_PAGE = 500
_CHUNK_FIELDS = ["metadatas", "embeddings"]


def _chunk(metadata: dict[str, Any], embedding: list[float]) -> EmbeddedChunk:
    return chunk_from_json(metadata["chunk"], [float(v) for v in embedding])


def _metadata(chunk: EmbeddedChunk) -> dict[str, Any]:
    # Chroma metadata values are scalars and never null: absent fields are left out.
    meta: dict[str, Any] = {
        "chunk_id": chunk.chunk_id,
        "chunk": chunk_json(chunk),
    }
    if chunk.chunk_metadata.file_id is not None:
        meta["file_id"] = chunk.chunk_metadata.file_id
    if chunk.chunk_metadata.chunk_index is not None:
        meta["chunk_index"] = chunk.chunk_metadata.chunk_index
    return meta


def _space(collection: dict[str, Any]) -> str | None:
    """The collection's distance, from its legacy metadata or its configuration."""
    space = (collection.get("metadata") or {}).get("hnsw:space")
    config = collection.get("configuration_json") or {}
    for index in ("hnsw", "spann"):
        space = space or (config.get(index) or {}).get("space")
    return space


def _known_dimension(collection: dict[str, Any]) -> int | None:
    # Ours carry it in their metadata; Chroma itself learns it from the first record only.
    value = (collection.get("metadata") or {}).get("llw_dimension") or collection.get("dimension")
    return int(value) if value is not None else None


class ChromaVectorIO:
    """remote::chromadb: cosine search by Chroma, keyword search by `$contains` + BM25."""

    def __init__(self, config: ChromaVectorIOConfig, deps: ProviderDeps) -> None:
        self._config = config
        self._provider_id = deps.provider_id
        self._where = f"Chroma at {config.url}"
        tenant = f"/api/v2/tenants/{quote(config.tenant, safe='')}"
        self._tenant = tenant
        self._db = f"{tenant}/databases/{quote(config.database, safe='')}"
        self._client: httpx.AsyncClient | None = None
        self._closed = False
        self._lock = asyncio.Lock()
        # store id -> (collection id, dimension or None when the collection does not say)
        self._collections: dict[str, tuple[str, int | None]] = {}

    # -- HTTP and errors

    def _secret(self) -> str | None:
        key = self._config.api_key
        return (key.get_secret_value() or None) if key is not None else None

    def _fail(
        self, cls: type[ProviderError], text: str, status: int | None = None
    ) -> ProviderError:
        return cls(self._provider_id, redact(text, self._secret()), upstream_status=status)

    def _headers(self) -> dict[str, str]:
        secret, header = self._secret(), self._config.api_key_header
        if secret is None:
            return {}
        return {header: f"Bearer {secret}" if header.lower() == "authorization" else secret}

    async def _http(self) -> httpx.AsyncClient:
        """The client; the first call makes sure the configured database exists."""
        async with self._lock:
            if self._closed:
                raise ProviderUnavailableError(self._provider_id, "the provider was shut down")
            if self._client is None:
                client = httpx.AsyncClient(
                    base_url=self._config.url, headers=self._headers(),
                    timeout=self._config.timeout,
                )  # fmt: skip
                try:
                    await self._ensure_database(client)
                except BaseException:
                    await client.aclose()
                    raise
                self._client = client
        return self._client

    async def _ensure_database(self, client: httpx.AsyncClient) -> None:
        found = await self._send(client, "GET", self._db, "look up database", missing_ok=True)
        if found is None:
            body = {"name": self._config.database}
            await self._send(client, "POST", f"{self._tenant}/databases", "create database", body)

    async def _request(
        self, method: str, path: str, operation: str, body: Any = None, store_id: str | None = None
    ) -> Any:
        return await self._send(await self._http(), method, path, operation, body, store_id)

    async def _send(
        self,
        client: httpx.AsyncClient,
        method: str,
        path: str,
        operation: str,
        body: Any = None,
        store_id: str | None = None,
        *,
        missing_ok: bool = False,
    ) -> Any:
        """One call; a 404 is None with `missing_ok`, NotFoundError with a store id."""
        try:
            response = await client.request(method, path, json=body)
        except httpx.TransportError as exc:
            text = f"cannot reach {self._where}: {operation} failed: {type(exc).__name__}: {exc}"
            raise self._fail(ProviderUnavailableError, text) from exc
        status = response.status_code
        if status < 400:
            return response.json() if response.content else None
        if status == 404 and missing_ok:
            return None
        if status == 404 and store_id is not None:
            self._collections.pop(store_id, None)  # it may have been recreated under a new id
            raise NotFoundError("Vector index", store_id, hint="(remote::chromadb)")
        try:
            message = response.json().get("message") or response.text
        except ValueError:
            message = response.text
        text = f"{self._where}: {operation} failed: {status} {str(message)[:500]}"
        cls = ProviderUnavailableError if status in (502, 503, 504) else ProviderError
        raise self._fail(cls, text, status)

    # -- the provider protocol

    async def create_index(self, store: VectorStoreRecord) -> None:
        dimension = store.embedding_dimension
        name = self._name(store.identifier)
        # get_or_create: this runs at every start for every store, and must never lose data.
        body = {
            "name": name,
            "get_or_create": True,
            "metadata": {"hnsw:space": "cosine", "llw_dimension": dimension},
        }
        found = await self._request("POST", f"{self._db}/collections", "create index", body)
        existing, space = _known_dimension(found), _space(found)
        if existing not in (None, dimension) or space not in (None, "cosine"):
            raise ConflictError(
                f"Vector index '{store.identifier}' already exists in {self._where} as collection "
                f"'{name}' with {existing} dimensions ({space}); the store takes {dimension}, "
                "cosine."
            )
        self._collections[store.identifier] = (str(found["id"]), dimension)

    async def delete_index(self, store_id: str) -> None:
        path = f"{self._db}/collections/{self._name(store_id)}"
        client = await self._http()
        await self._send(client, "DELETE", path, "delete index", missing_ok=True)
        self._collections.pop(store_id, None)

    async def add_chunks(self, store_id: str, chunks: list[EmbeddedChunk]) -> None:
        if not chunks:
            return
        # Chroma refuses repeated ids in one batch; the last one wins, as in a sequence of upserts.
        latest = list({c.chunk_id: c for c in chunks}.values())
        dimension = await self._dimension(store_id)
        check_chunks(store_id, latest, dimension)
        body = {
            "ids": [c.chunk_id for c in latest],
            "embeddings": [list(c.embedding) for c in latest],
            # Lowercased: `$contains` is case-sensitive, and the chunk itself is in the metadata.
            "documents": [c.content.lower() for c in latest],
            "metadatas": [_metadata(c) for c in latest],
        }
        await self._on(store_id, "upsert", "add chunks", body)

    async def delete_chunks(self, store_id: str, chunk_ids: list[str]) -> None:
        if chunk_ids:
            await self._on(store_id, "delete", "delete chunks", {"ids": list(chunk_ids)})

    async def delete_file_chunks(self, store_id: str, file_id: str) -> None:
        await self._on(store_id, "delete", "delete file chunks", {"where": {"file_id": file_id}})

    async def file_chunks(self, store_id: str, file_id: str) -> list[EmbeddedChunk]:
        found = await self._get_all(store_id, {"where": {"file_id": file_id}}, _CHUNK_FIELDS)
        rows = zip(found["metadatas"], found["embeddings"], strict=True)
        return in_file_order([_chunk(m, e) for m, e in rows])

    async def query_vector(
        self, store_id: str, embedding: list[float], k: int
    ) -> list[ScoredChunk]:
        dimension = await self._dimension(store_id)
        check_vector(store_id, embedding, dimension, "The query embedding")
        if k <= 0:
            return []
        body = {
            "query_embeddings": [list(embedding)],
            "n_results": k,
            "include": ["metadatas", "embeddings", "distances"],
        }
        found = await self._on(store_id, "query", "vector query", body)
        rows = zip(
            found["metadatas"][0], found["embeddings"][0], found["distances"][0], strict=True
        )
        # Chroma's cosine distance is 1 - cosine similarity.
        return [ScoredChunk(chunk=_chunk(m, e), score=1.0 - float(d)) for m, e, d in rows]

    async def query_keyword(self, store_id: str, query: str, k: int) -> list[ScoredChunk]:
        terms = query_terms(query)
        if not terms or k <= 0:
            return []
        # `$contains` is a substring filter (documents are stored lowercased) that finds the
        # candidates; Chroma does not rank them, so BM25 is computed here over whole words.
        contains = [{"$contains": t} for t in terms]
        where = {"where_document": contains[0] if len(contains) == 1 else {"$or": contains}}
        found = await self._get_all(store_id, where, ["documents"], KEYWORD_CANDIDATES)
        if not found["ids"]:
            return []
        docs = {i: words(d or "") for i, d in zip(found["ids"], found["documents"], strict=True)}
        collection_id, _ = await self._collection(store_id)
        path = f"{self._db}/collections/{collection_id}/count"
        n_docs = int(await self._request("GET", path, "count", store_id=store_id))
        best = best_bm25(terms, docs, n_docs, k)
        if not best:
            return []
        ids = [i for i, _ in best]
        hits = await self._on(
            store_id, "get", "keyword query", {"ids": ids, "include": _CHUNK_FIELDS}
        )
        by_id = {
            i: _chunk(m, e)
            for i, m, e in zip(hits["ids"], hits["metadatas"], hits["embeddings"], strict=True)
        }
        return [ScoredChunk(chunk=by_id[i], score=score) for i, score in best if i in by_id]

    async def shutdown(self) -> None:
        async with self._lock:
            self._closed = True
            client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    # -- helpers

    def _name(self, store_id: str) -> str:
        return hashed_name(self._config.collection_prefix, store_id)

    async def _collection(self, store_id: str) -> tuple[str, int | None]:
        """(collection id, dimension); looked up when another process created the collection."""
        if store_id not in self._collections:
            path = f"{self._db}/collections/{self._name(store_id)}"
            found = await self._request("GET", path, "look up index", store_id=store_id)
            self._collections[store_id] = (str(found["id"]), _known_dimension(found))
        return self._collections[store_id]

    async def _dimension(self, store_id: str) -> int | None:
        return (await self._collection(store_id))[1]

    async def _on(self, store_id: str, action: str, operation: str, body: Any) -> Any:
        """POST to one of the store's collection endpoints (add, upsert, query, get, delete)."""
        collection_id, _ = await self._collection(store_id)
        path = f"{self._db}/collections/{collection_id}/{action}"
        return await self._request("POST", path, operation, body, store_id)

    async def _get_all(
        self, store_id: str, where: dict[str, Any], include: list[str], limit: int | None = None
    ) -> dict[str, list[Any]]:
        """Every record matching `where` (at most `limit`), page by page."""
        out: dict[str, list[Any]] = {"ids": [], **{field: [] for field in include}}
        while limit is None or len(out["ids"]) < limit:
            page = _PAGE if limit is None else min(_PAGE, limit - len(out["ids"]))
            body = {**where, "include": include, "limit": page, "offset": len(out["ids"])}
            found = await self._on(store_id, "get", "read chunks", body)
            for field in out:
                out[field].extend(found.get(field) or [])
            if len(found["ids"]) < page:
                break
        return out
