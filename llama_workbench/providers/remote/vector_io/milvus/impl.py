"""Milvus: a cosine collection per store; keyword search by Milvus's own BM25 (full-text search)."""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from llama_workbench.apis.vector_io.models import EmbeddedChunk, ScoredChunk, VectorStoreRecord
from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.core.errors import (
    BadRequestError,
    ConflictError,
    LlamaWorkbenchError,
    MissingDependencyError,
    NotFoundError,
    ProviderError,
    ProviderUnavailableError,
)
from llama_workbench.providers.inline.vector_io.milvus.config import MilvusLiteVectorIOConfig
from llama_workbench.providers.remote.vector_io.milvus.config import MilvusVectorIOConfig
from llama_workbench.providers.utils.vector_io import (
    check_chunks,
    check_vector,
    hashed_name,
    in_file_order,
    query_terms,
)
from llama_workbench.storage.kv import redact

T = TypeVar("T")
# Milvus's limits: a VARCHAR holds at most 65,535 bytes; a search or query returns at most
# 16,384 rows (topk, and offset + limit).
MAX_VARCHAR = 65_535
MAX_ROWS = 16_384
_PREFIX = "llw_"
_FIELDS = ["content", "meta", "vector"]
# Milvus's "collection not found" status code (common.proto ErrorCode 100).
_NOT_FOUND = 100


def _key(text: str) -> str:
    """A chunk's primary key (or a file's key): ids are free text, filter literals must not be."""
    return hashlib.sha256(text.encode()).hexdigest()


def _file_key(file_id: str | None) -> str:
    return _key(file_id) if file_id is not None else ""


def _check_installed(lite: bool) -> None:
    """MissingDependencyError at build when pymilvus (or Milvus Lite) is absent; no import."""
    kind = "inline::milvus" if lite else "remote::milvus"
    if importlib.util.find_spec("pymilvus") is None:
        raise MissingDependencyError("pymilvus", "milvus", needed_by=kind)
    if lite and importlib.util.find_spec("milvus_lite") is None:
        raise MissingDependencyError("milvus-lite", "milvus", needed_by=kind)


class MilvusVectorIO:
    """remote::milvus and inline::milvus (Milvus Lite): the same client, the same collections."""

    def __init__(
        self, config: MilvusVectorIOConfig | MilvusLiteVectorIOConfig, deps: ProviderDeps
    ) -> None:
        _check_installed(isinstance(config, MilvusLiteVectorIOConfig))
        self._pm: Any = None  # pymilvus, imported on first use (about a second)
        self._config = config
        self._provider_id = deps.provider_id
        self._consistency = config.consistency_level
        if isinstance(config, MilvusLiteVectorIOConfig):
            path = Path(config.db_path).expanduser()
            self._path: Path | None = path if path.is_absolute() else deps.data_dir / path
            self._uri = str(self._path)
            self._where = f"Milvus Lite in {self._path}"
        else:
            self._path = None
            self._uri = config.uri
            self._where = f"Milvus at {config.uri}"
        self._client: Any = None
        self._closed = False
        self._lock = asyncio.Lock()
        self._dimensions: dict[str, int] = {}

    # -- connection and errors

    def _secret(self) -> str | None:
        token = getattr(self._config, "token", None)
        return (token.get_secret_value() or None) if token is not None else None

    def _connect(self) -> Any:
        import pymilvus  # in the worker thread: the import does not hold up the event loop

        self._pm = pymilvus
        if self._path is not None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            return self._pm.MilvusClient(uri=self._uri)
        assert isinstance(self._config, MilvusVectorIOConfig)
        settings = self._config.client_settings()
        return self._pm.MilvusClient(uri=self._uri, token=self._secret() or "", **settings)

    async def _get_client(self) -> Any:
        async with self._lock:
            if self._closed:
                raise ProviderUnavailableError(self._provider_id, "the provider was shut down")
            if self._client is None:
                self._client = await self._call_raw("connect", None, lambda _: self._connect())
        return self._client

    async def _call(self, operation: str, store_id: str | None, fn: Callable[[Any], T]) -> T:
        """`fn(client)` in a worker thread (the client is synchronous), errors mapped."""
        client = await self._get_client()
        return await self._call_raw(operation, store_id, lambda _: fn(client))

    async def _call_raw(self, operation: str, store_id: str | None, fn: Callable[[Any], T]) -> T:
        try:
            return await asyncio.to_thread(fn, None)
        except LlamaWorkbenchError:
            raise
        except (OSError, TimeoutError) as exc:
            text = f"cannot reach {self._where}: {operation} failed: {exc}"
            raise ProviderUnavailableError(self._provider_id, redact(text, self._secret())) from exc
        except Exception as exc:
            if self._pm is None or not isinstance(exc, self._pm.MilvusException):
                raise
            raise self._error(exc, operation, store_id) from exc

    def _error(self, exc: Any, operation: str, store_id: str | None) -> LlamaWorkbenchError:
        code = getattr(exc, "code", None)
        message = str(getattr(exc, "message", "") or exc)
        missing = code == _NOT_FOUND or re.search(
            r"collection .* (does not exist|not found)", message
        )
        if store_id is not None and missing:
            return NotFoundError("Vector index", store_id, hint="(milvus)")
        text = redact(f"{self._where}: {operation} failed: {message}", self._secret())
        if code == 2 or "Fail connecting" in message or "server unavailable" in message:
            return ProviderUnavailableError(self._provider_id, f"cannot reach {text}")
        return ProviderError(self._provider_id, text, upstream_status=code)

    # -- the provider protocol

    async def create_index(self, store: VectorStoreRecord) -> None:
        name = self._name(store.identifier)
        dimension = store.embedding_dimension

        def create(client: Any) -> tuple[int | None, str | None, set[str]]:
            # This runs at every start for every store: create only what is missing.
            if not client.has_collection(name):
                schema, index = self._schema(client, dimension)
                try:
                    client.create_collection(
                        name, schema=schema, consistency_level=self._consistency
                    )
                    # Indexes of an empty collection are built at once: not waiting saves
                    # pymilvus's 0.5 s polls per index; loading waits for them if need be.
                    client.create_index(name, index, sync=False)
                except self._pm.MilvusException:
                    if not client.has_collection(name):  # else: a racing start made it
                        raise
            existing, fields = _vector_dim(client.describe_collection(name))
            metric = client.describe_index(name, "vector").get("metric_type")
            client.load_collection(name)
            return existing, metric, fields

        existing, metric, fields = await self._call("create index", store.identifier, create)
        if existing != dimension or metric != "COSINE" or not {"content", "meta"} <= fields:
            raise ConflictError(
                f"Vector index '{store.identifier}' already exists in {self._where} as collection "
                f"'{name}' with {existing} dimensions ({metric}, fields {sorted(fields)}); the "
                f"store takes {dimension}, COSINE, with this provider's fields."
            )
        self._dimensions[store.identifier] = dimension

    def _schema(self, client: Any, dimension: int) -> tuple[Any, Any]:
        """Vectors (cosine), the text with Milvus's analyzer, and its BM25 sparse vector."""
        pm = self._pm
        schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", pm.DataType.VARCHAR, is_primary=True, max_length=64)
        schema.add_field("vector", pm.DataType.FLOAT_VECTOR, dim=dimension)
        schema.add_field(
            "content", pm.DataType.VARCHAR, max_length=MAX_VARCHAR, enable_analyzer=True
        )
        schema.add_field("sparse", pm.DataType.SPARSE_FLOAT_VECTOR)
        schema.add_field("meta", pm.DataType.VARCHAR, max_length=MAX_VARCHAR)
        schema.add_field("file_key", pm.DataType.VARCHAR, max_length=64)
        schema.add_function(
            pm.Function(
                name="bm25", function_type=pm.FunctionType.BM25,
                input_field_names=["content"], output_field_names=["sparse"],
            )
        )  # fmt: skip
        index = client.prepare_index_params()
        index.add_index("vector", index_type="AUTOINDEX", metric_type="COSINE")
        index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
        return schema, index

    async def delete_index(self, store_id: str) -> None:
        name = self._name(store_id)

        def drop(client: Any) -> None:
            if client.has_collection(name):  # deleting is idempotent
                client.drop_collection(name)

        await self._call("delete index", None, drop)
        self._dimensions.pop(store_id, None)

    async def add_chunks(self, store_id: str, chunks: list[EmbeddedChunk]) -> None:
        if not chunks:
            return
        dimension = await self._dimension(store_id)
        check_chunks(store_id, chunks, dimension)
        # One row per chunk id: a repeated id keeps the last, as an upsert one by one would.
        rows = {row["id"]: row for row in (self._row(c) for c in chunks)}
        name = self._name(store_id)
        await self._call("add chunks", store_id, lambda c: c.upsert(name, list(rows.values())))

    def _row(self, chunk: EmbeddedChunk) -> dict[str, Any]:
        meta = chunk.model_dump_json(exclude={"embedding", "content"})
        for field, text in (("content", chunk.content), ("metadata", meta)):
            size = len(text.encode())
            if size > MAX_VARCHAR:
                raise BadRequestError(
                    f"Chunk '{chunk.chunk_id}': its {field} is {size} bytes; Milvus holds at "
                    f"most {MAX_VARCHAR} per text field. Use smaller chunks."
                )
        return {
            "id": _key(chunk.chunk_id),
            "vector": list(chunk.embedding),
            "content": chunk.content,
            "meta": meta,
            "file_key": _file_key(chunk.chunk_metadata.file_id),
        }

    async def delete_chunks(self, store_id: str, chunk_ids: list[str]) -> None:
        if not chunk_ids:
            return
        ids, name = [_key(c) for c in chunk_ids], self._name(store_id)
        await self._call("delete chunks", store_id, lambda c: c.delete(name, ids=ids))

    async def delete_file_chunks(self, store_id: str, file_id: str) -> None:
        where, name = f'file_key == "{_file_key(file_id)}"', self._name(store_id)
        await self._call("delete file chunks", store_id, lambda c: c.delete(name, filter=where))

    async def file_chunks(self, store_id: str, file_id: str) -> list[EmbeddedChunk]:
        await self._dimension(store_id)  # a clear 404, and the collection loaded
        where, name = f'file_key == "{_file_key(file_id)}"', self._name(store_id)

        def read(client: Any) -> list[dict[str, Any]]:
            kwargs = {"filter": where, "output_fields": _FIELDS}
            rows = client.query(name, limit=MAX_ROWS, **kwargs, **self._read())
            if len(rows) < MAX_ROWS:
                return list(rows)
            rows, pages = [], client.query_iterator(name, batch_size=1000, **kwargs)
            try:  # past Milvus's one-query limit: page through them all
                while batch := pages.next():
                    rows.extend(batch)
            finally:
                pages.close()
            return rows

        rows = await self._call("read file chunks", store_id, read)
        return in_file_order([_chunk(r) for r in rows])

    async def query_vector(
        self, store_id: str, embedding: list[float], k: int
    ) -> list[ScoredChunk]:
        dimension = await self._dimension(store_id)
        check_vector(store_id, embedding, dimension, "The query embedding")
        if k <= 0:
            return []
        hits = await self._search(store_id, "vector", list(embedding), k, "COSINE")
        # A COSINE search's distance is the cosine similarity.
        return [ScoredChunk(chunk=_chunk(h["entity"]), score=float(h["distance"])) for h in hits]

    async def query_keyword(self, store_id: str, query: str, k: int) -> list[ScoredChunk]:
        await self._dimension(store_id)
        terms = query_terms(query)
        if not terms or k <= 0:
            return []
        # The words alone, so the query is tokenized as the chunks were (no operators exist).
        hits = await self._search(store_id, "sparse", " ".join(terms), k, "BM25")
        # BM25 scores are positive; Milvus Lite reports them negated (smaller is better there).
        scored = [(h, abs(float(h["distance"]))) for h in hits]
        return [ScoredChunk(chunk=_chunk(h["entity"]), score=s) for h, s in scored if s > 0]

    async def _search(
        self, store_id: str, field: str, query: Any, k: int, metric: str
    ) -> list[dict[str, Any]]:
        name = self._name(store_id)

        def search(client: Any) -> list[dict[str, Any]]:
            found = client.search(
                name, data=[query], anns_field=field, limit=min(k, MAX_ROWS),
                output_fields=_FIELDS, search_params={"metric_type": metric}, **self._read(),
            )  # fmt: skip
            return list(found[0]) if found else []

        return await self._call(f"{metric} search", store_id, search)

    async def shutdown(self) -> None:
        async with self._lock:
            self._closed = True
            client, self._client = self._client, None
        if client is not None:
            await asyncio.to_thread(client.close)

    # -- helpers

    def _name(self, store_id: str) -> str:
        return hashed_name(_PREFIX, store_id)

    def _read(self) -> dict[str, Any]:
        return {"consistency_level": self._consistency}

    async def _dimension(self, store_id: str) -> int:
        """The store's dimension, its collection loaded; read when another process created it."""
        if store_id not in self._dimensions:
            name = self._name(store_id)

            def look_up(client: Any) -> int | None:
                if not client.has_collection(name):
                    return None
                dimension, _ = _vector_dim(client.describe_collection(name))
                client.load_collection(name)  # after a server restart collections are released
                return dimension

            size = await self._call("look up index", store_id, look_up)
            if size is None:
                raise NotFoundError("Vector index", store_id, hint="(milvus)")
            self._dimensions[store_id] = size
        return self._dimensions[store_id]


def _vector_dim(info: dict[str, Any]) -> tuple[int | None, set[str]]:
    """The `vector` field's dimension (None: not ours) and the collection's field names."""
    fields = {f["name"]: f for f in info.get("fields", [])}
    dim = fields.get("vector", {}).get("params", {}).get("dim")
    return (int(dim) if dim is not None else None), set(fields)


def _chunk(row: dict[str, Any]) -> EmbeddedChunk:
    fields = json.loads(row["meta"])
    fields["content"] = row["content"]
    fields["embedding"] = [float(v) for v in row["vector"]]
    return EmbeddedChunk.model_validate(fields)
