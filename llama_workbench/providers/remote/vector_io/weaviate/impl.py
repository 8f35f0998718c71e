"""Weaviate over its REST and GraphQL API: a cosine class per store; BM25 by Weaviate.

httpx, not weaviate-client: the v4 client runs every query and batch import over gRPC and pins
httpx < 0.29, grpcio < 1.80 and protobuf < 7, which this package's other providers outgrew; the
REST/GraphQL API serves all this provider needs, and an API key is a plain bearer header.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import uuid
from typing import Any

import httpx

from llama_workbench.apis.vector_io.models import EmbeddedChunk, ScoredChunk, VectorStoreRecord
from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.core.errors import (
    ConflictError,
    NotFoundError,
    ProviderError,
    ProviderUnavailableError,
)
from llama_workbench.providers.remote.vector_io.weaviate.config import WeaviateVectorIOConfig
from llama_workbench.providers.utils.http_transport import fast_transport
from llama_workbench.providers.utils.recording import transport_for
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

# Object ids must be UUIDs; chunk ids are free text.
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/llama-workbench/weaviate")
_PREFIX = "Llw_"  # class names start with a capital letter
_PAGE = 1000
_FIELDS = "chunk norm _additional { id vector %s }"
_DIMENSION = re.compile(r"(\d+) dimensions")
# Weaviate's default cap on offset + limit (QUERY_MAXIMUM_RESULTS).
MAX_RESULTS = 10_000


def object_id(store_id: str, chunk_id: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{store_id}\x00{chunk_id}"))


def _text(prop: str, tokenization: str, searchable: bool) -> dict[str, Any]:
    return {
        "name": prop, "dataType": ["text"], "tokenization": tokenization,
        "indexFilterable": not searchable, "indexSearchable": searchable,
    }  # fmt: skip


def class_definition(name: str, dimension: int) -> dict[str, Any]:
    """Vectors we bring (cosine); the text's words for BM25 with no stop words dropped."""
    return {
        "class": name,
        "description": f"llama_workbench vector store, {dimension} dimensions",
        "vectorizer": "none",
        "vectorIndexConfig": {"distance": "cosine"},
        "invertedIndexConfig": {"stopwords": {"preset": "none"}},
        "properties": [
            _text("content", "word", True),
            {"name": "chunk", "dataType": ["text"], "indexFilterable": False,
             "indexSearchable": False},
            _text("chunk_id", "field", False),
            _text("file_id", "field", False),
            {"name": "norm", "dataType": ["number"], "indexFilterable": False},
        ],
    }  # fmt: skip


class WeaviateVectorIO:
    """remote::weaviate: nearVector and bm25 queries in GraphQL, writes by the batch REST API."""

    def __init__(self, config: WeaviateVectorIOConfig, deps: ProviderDeps) -> None:
        self._config = config
        self._provider_id = deps.provider_id
        self._where = f"Weaviate at {config.weaviate_cluster_url}"
        self._client: httpx.AsyncClient | None = None
        self._closed = False
        self._lock = asyncio.Lock()
        self._dimensions: dict[str, int] = {}

    # -- HTTP and errors

    def _secret(self) -> str | None:
        key = self._config.weaviate_api_key
        return (key.get_secret_value() or None) if key is not None else None

    def _fail(
        self, cls: type[ProviderError], text: str, status: int | None = None
    ) -> ProviderError:
        message = redact(f"{self._where}: {text}", self._secret())
        return cls(self._provider_id, message, upstream_status=status)

    async def _http(self) -> httpx.AsyncClient:
        async with self._lock:
            if self._closed:
                raise ProviderUnavailableError(self._provider_id, "the provider was shut down")
            if self._client is None:
                secret = self._secret()
                self._client = httpx.AsyncClient(
                    base_url=self._config.weaviate_cluster_url, timeout=self._config.timeout,
                    headers={"Authorization": f"Bearer {secret}"} if secret else {},
                    # Record-replay when asked, else aiohttp's wire, as the other remote providers.
                    transport=transport_for() or fast_transport(),
                )  # fmt: skip
        return self._client

    async def _request(
        self, method: str, path: str, operation: str, body: Any = None, missing_ok: bool = False
    ) -> Any:
        """The decoded answer (None for a 404 when `missing_ok`); errors mapped."""
        client = await self._http()
        try:
            response = await client.request(method, path, json=body)
        except httpx.TransportError as exc:
            text = f"cannot reach {self._where}: {operation} failed: {exc}"
            raise ProviderUnavailableError(self._provider_id, redact(text, self._secret())) from exc
        status = response.status_code
        if status == 404 and missing_ok:
            return None
        if status in (401, 403):
            what = "refused the API key" if status == 401 else "does not allow this API key"
            raise self._fail(
                ProviderError,
                f"{operation} failed: {status}: Weaviate {what} (weaviate_api_key)",
                status,
            )
        if status >= 400:
            cls = ProviderUnavailableError if status in (502, 503, 504) else ProviderError
            raise self._fail(cls, f"{operation} failed: {status} {response.text[:500]}", status)
        return response.json() if response.content else None

    async def _graphql(self, store_id: str, query: str, operation: str) -> list[dict[str, Any]]:
        answer = await self._request("POST", "/v1/graphql", operation, {"query": query})
        if answer.get("errors"):
            messages = "; ".join(str(e.get("message")) for e in answer["errors"])
            raise self._fail(ProviderError, f"{operation} failed: {messages[:500]}")
        return list((answer.get("data") or {}).get("Get", {}).get(self._name(store_id)) or [])

    # -- the provider protocol

    async def create_index(self, store: VectorStoreRecord) -> None:
        name, dimension = self._name(store.identifier), store.embedding_dimension
        found = await self._request("GET", f"/v1/schema/{name}", "look up class", missing_ok=True)
        if found is None:  # created once; this runs at every start for every store
            definition = class_definition(name, dimension)
            try:
                await self._request("POST", "/v1/schema", "create class", definition)
            except ProviderError as exc:
                found = await self._request(
                    "GET", f"/v1/schema/{name}", "look up class", missing_ok=True
                )
                if found is None:  # else: a racing start made it
                    raise exc from None
            found = found or definition
        existing = _dimension(found)
        distance = (found.get("vectorIndexConfig") or {}).get("distance")
        if existing != dimension or distance != "cosine":
            raise ConflictError(
                f"Vector index '{store.identifier}' already exists in {self._where} as class "
                f"'{name}' with {existing} dimensions ({distance}); the store takes {dimension}, "
                "cosine."
            )
        self._dimensions[store.identifier] = dimension

    async def delete_index(self, store_id: str) -> None:
        await self._request(
            "DELETE", f"/v1/schema/{self._name(store_id)}", "delete class", missing_ok=True
        )
        self._dimensions.pop(store_id, None)

    async def add_chunks(self, store_id: str, chunks: list[EmbeddedChunk]) -> None:
        if not chunks:
            return
        dimension = await self._dimension(store_id)
        check_chunks(store_id, chunks, dimension)
        # One object per id: a repeated chunk id keeps the last, as one-by-one upserts would.
        objects = {o["id"]: o for o in (self._object(store_id, c) for c in chunks)}
        answer = await self._request(
            "POST", "/v1/batch/objects", "add chunks", {"objects": list(objects.values())}
        )
        failed = [o for o in answer or [] if (o.get("result") or {}).get("errors")]
        if failed:
            reason = json.dumps(failed[0]["result"]["errors"])[:500]
            raise self._fail(ProviderError, f"add chunks: {len(failed)} failed: {reason}")

    def _object(self, store_id: str, chunk: EmbeddedChunk) -> dict[str, Any]:
        # Weaviate normalizes vectors of cosine classes; the norm restores the chunk's own vector.
        properties: dict[str, Any] = {
            "content": chunk.content, "chunk": chunk_json(chunk), "chunk_id": chunk.chunk_id,
            "norm": math.sqrt(sum(v * v for v in chunk.embedding)),
        }  # fmt: skip
        if chunk.chunk_metadata.file_id is not None:
            properties["file_id"] = chunk.chunk_metadata.file_id
        return {
            "class": self._name(store_id), "id": object_id(store_id, chunk.chunk_id),
            "properties": properties, "vector": list(chunk.embedding),
        }  # fmt: skip

    async def delete_chunks(self, store_id: str, chunk_ids: list[str]) -> None:
        if not chunk_ids:
            return
        await self._dimension(store_id)  # a clear 404 for an unknown store
        ids = [object_id(store_id, c) for c in chunk_ids]
        for start in range(0, len(ids), MAX_RESULTS):
            where = {
                "path": ["id"],
                "operator": "ContainsAny",
                "valueTextArray": ids[start : start + MAX_RESULTS],
            }
            await self._delete_where(store_id, where, "delete chunks")

    async def delete_file_chunks(self, store_id: str, file_id: str) -> None:
        await self._dimension(store_id)
        where = {"path": ["file_id"], "operator": "Equal", "valueText": file_id}
        while await self._delete_where(store_id, where, "delete file chunks") >= MAX_RESULTS:
            pass  # one batch delete removes at most MAX_RESULTS objects

    async def _delete_where(self, store_id: str, where: dict[str, Any], operation: str) -> int:
        body = {"match": {"class": self._name(store_id), "where": where}, "output": "minimal"}
        answer = await self._request("DELETE", "/v1/batch/objects", operation, body)
        results = (answer or {}).get("results") or {}
        if results.get("failed"):
            raise self._fail(ProviderError, f"{operation}: {results['failed']} objects not deleted")
        return int(results.get("matches") or 0)

    async def file_chunks(self, store_id: str, file_id: str) -> list[EmbeddedChunk]:
        await self._dimension(store_id)
        where = f'{{path: ["file_id"], operator: Equal, valueText: {json.dumps(file_id)}}}'
        found: list[dict[str, Any]] = []
        while True:  # offset pages, up to Weaviate's cap on offset + limit
            args = f"where: {where}, limit: {_PAGE}, offset: {len(found)}"
            page = await self._graphql(store_id, self._get(store_id, args, ""), "read file chunks")
            found.extend(page)
            if len(page) < _PAGE:
                break
        return in_file_order([_chunk(o) for o in found])

    async def query_vector(
        self, store_id: str, embedding: list[float], k: int
    ) -> list[ScoredChunk]:
        dimension = await self._dimension(store_id)
        check_vector(store_id, embedding, dimension, "The query embedding")
        if k <= 0:
            return []
        args = (
            f"nearVector: {{vector: {json.dumps(list(embedding))}}}, limit: {min(k, MAX_RESULTS)}"
        )
        found = await self._graphql(store_id, self._get(store_id, args, "distance"), "vector query")
        # A cosine class's distance is 1 - cosine similarity.
        return [
            ScoredChunk(chunk=_chunk(o), score=1.0 - float(o["_additional"]["distance"]))
            for o in found
        ]

    async def query_keyword(self, store_id: str, query: str, k: int) -> list[ScoredChunk]:
        await self._dimension(store_id)
        terms = query_terms(query)
        if not terms or k <= 0:
            return []
        # The words alone, as a JSON string literal (GraphQL's string syntax): nothing to inject.
        text = json.dumps(" ".join(terms))
        args = f'bm25: {{query: {text}, properties: ["content"]}}, limit: {min(k, MAX_RESULTS)}'
        found = await self._graphql(store_id, self._get(store_id, args, "score"), "keyword query")
        scored = [(o, float(o["_additional"]["score"])) for o in found]  # a string in GraphQL
        return [ScoredChunk(chunk=_chunk(o), score=s) for o, s in scored if s > 0]

    async def shutdown(self) -> None:
        async with self._lock:
            self._closed = True
            client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    # -- helpers

    def _name(self, store_id: str) -> str:
        return hashed_name(_PREFIX, store_id)

    def _get(self, store_id: str, args: str, extra: str) -> str:
        return f"{{ Get {{ {self._name(store_id)}({args}) {{ {_FIELDS % extra} }} }} }}"

    async def _dimension(self, store_id: str) -> int:
        """The store's dimension, from its class's description when another process made it."""
        if store_id not in self._dimensions:
            path = f"/v1/schema/{self._name(store_id)}"
            found = await self._request("GET", path, "look up class", missing_ok=True)
            size = _dimension(found) if found is not None else None
            if size is None:
                raise NotFoundError("Vector index", store_id, hint="(weaviate)")
            self._dimensions[store_id] = size
        return self._dimensions[store_id]


def _dimension(definition: dict[str, Any]) -> int | None:
    match = _DIMENSION.search(definition.get("description") or "")
    return int(match.group(1)) if match else None


def _chunk(obj: dict[str, Any]) -> EmbeddedChunk:
    norm = float(obj.get("norm") or 1.0)
    vector = obj["_additional"].get("vector") or []
    return chunk_from_json(obj["chunk"], [float(v) * norm for v in vector])
