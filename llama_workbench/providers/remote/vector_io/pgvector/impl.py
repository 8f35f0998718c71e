"""pgvector: a table per store with cosine (HNSW) and full-text (GIN) indexes, over asyncpg."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from llama_workbench.apis.vector_io.models import EmbeddedChunk, ScoredChunk, VectorStoreRecord
from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.core.errors import (
    BadRequestError,
    ConflictError,
    NotFoundError,
    ProviderError,
    ProviderUnavailableError,
)
from llama_workbench.providers.remote.vector_io.pgvector.config import PGVectorVectorIOConfig
from llama_workbench.providers.utils.vector_io import (
    check_chunks,
    check_vector,
    chunk_from_json,
    chunk_json,
    hashed_name,
    query_terms,
)
from llama_workbench.storage.kv import redact
from llama_workbench.storage.postgres import PostgresPool, password

MAX_DIMENSION = 16_000  # pgvector's limit for the vector type
HNSW_MAX_DIMENSION = 2_000  # ... and for an HNSW index on it
# HNSW returns at most ef_search rows (default 40), so it is raised to k; past its maximum the
# search falls back to an exact scan rather than return fewer than k.
EF_SEARCH_DEFAULT = 40
EF_SEARCH_MAX = 1_000


def vector_literal(values: Sequence[float]) -> str:
    """pgvector's text form, '[1.0,2.5]', sent as a parameter and cast with ::vector."""
    return "[" + ",".join(repr(float(v)) for v in values) + "]"


def tsquery_text(query: str) -> str | None:
    """`to_tsquery` input where any word of `query` may match ('a' | 'b'); None: no words.

    Letters and digits only: nothing else of the user's text reaches the tsquery parser.
    """
    words = query_terms(query)
    return " | ".join(f"'{w}'" for w in words) if words else None


def _chunk(data: str, embedding: str) -> EmbeddedChunk:
    return chunk_from_json(data, json.loads(embedding))


class PGVectorVectorIO:
    """remote::pgvector: cosine search by pgvector, keyword search by Postgres full text."""

    def __init__(self, config: PGVectorVectorIOConfig, deps: ProviderDeps) -> None:
        self._config = config
        self._provider_id = deps.provider_id
        self._where = f"PostgreSQL at {config.host}:{config.port} (database '{config.db}')"
        self._pool = PostgresPool(
            config, self._ensure_extension, needed_by="remote::pgvector",
            closed=lambda: ProviderUnavailableError(self._provider_id, "the provider was shut down"),
        )  # fmt: skip
        self._asyncpg = self._pool.asyncpg
        self._dimensions: dict[str, int] = {}

    # -- connection and errors

    def _fail(self, cls: type[ProviderError], text: str) -> ProviderError:
        return cls(self._provider_id, redact(text, password(self._config)))

    @asynccontextmanager
    async def _connection(self, operation: str, store_id: str | None = None) -> AsyncIterator[Any]:
        """A pooled connection, with driver errors turned into the package's errors."""
        pg = self._asyncpg
        unreachable = (
            OSError, TimeoutError, pg.InterfaceError, pg.PostgresConnectionError,
            pg.CannotConnectNowError,
        )  # fmt: skip
        try:
            pool = await self._pool.get()
            async with pool.acquire() as conn:
                yield conn
        except pg.UndefinedTableError:
            raise NotFoundError(
                "Vector index", store_id or "?", hint="(remote::pgvector)"
            ) from None
        except unreachable as exc:
            text = f"cannot reach {self._where}: {operation} failed: {exc}"
            raise self._fail(ProviderUnavailableError, text) from exc
        except pg.PostgresError as exc:
            text = f"{self._where}: {operation} failed: {type(exc).__name__}: {exc}"
            raise self._fail(ProviderError, text) from exc

    async def _ensure_extension(self, conn: Any) -> None:
        present = "SELECT 1 FROM pg_extension WHERE extname = 'vector'"
        if await conn.fetchval(present):
            return
        try:
            # Concurrent CREATE EXTENSION IF NOT EXISTS can collide; the lock makes them queue.
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext('llw_pgvector'))")
                await conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        except (self._asyncpg.UndefinedFileError, self._asyncpg.FeatureNotSupportedError) as exc:
            raise self._fail(
                ProviderError,
                f"the pgvector extension is not installed in database '{self._config.db}' "
                f"({self._where}); install pgvector on the server ({exc})",
            ) from exc
        except self._asyncpg.InsufficientPrivilegeError as exc:
            raise self._fail(
                ProviderError,
                f"the pgvector extension is not enabled in database '{self._config.db}' and user "
                f"'{self._config.user}' may not enable it: run CREATE EXTENSION vector as a "
                f"superuser ({exc})",
            ) from exc

    # -- the provider protocol

    async def create_index(self, store: VectorStoreRecord) -> None:
        dimension = store.embedding_dimension
        if not 1 <= dimension <= MAX_DIMENSION:
            raise BadRequestError(
                f"pgvector takes 1 to {MAX_DIMENSION} dimensions, not {dimension}."
            )
        table = self._table(store.identifier)
        async with self._connection("create index", store.identifier) as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", table)
            for sql in self._schema(table, dimension):
                await conn.execute(sql)
            existing = await self._column_dimension(conn, table)
        if existing != dimension:
            raise ConflictError(
                f"Vector index '{store.identifier}' already exists with {existing} dimensions; "
                f"the store takes {dimension}."
            )
        self._dimensions[store.identifier] = dimension

    def _schema(self, table: str, dimension: int) -> list[str]:
        # `IF NOT EXISTS` throughout: this runs at every start, and must never lose data.
        # `data` is TEXT, not JSONB: JSONB rejects \u0000, which extracted documents may hold.
        statements = [
            f"CREATE TABLE IF NOT EXISTS {table} ("
            "seq BIGINT GENERATED ALWAYS AS IDENTITY, chunk_id TEXT PRIMARY KEY, file_id TEXT, "
            "chunk_index INTEGER, content TEXT NOT NULL, data TEXT NOT NULL, "
            f"embedding vector({dimension}) NOT NULL, "
            "tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', content)) STORED)",
            f"CREATE INDEX IF NOT EXISTS {table}_file ON {table} (file_id, chunk_index, seq)",
            f"CREATE INDEX IF NOT EXISTS {table}_tsv ON {table} USING gin (tsv)",
        ]
        if self._config.hnsw and dimension <= HNSW_MAX_DIMENSION:
            statements.append(
                f"CREATE INDEX IF NOT EXISTS {table}_hnsw ON {table} "
                "USING hnsw (embedding vector_cosine_ops)"
            )
        return statements

    async def delete_index(self, store_id: str) -> None:
        async with self._connection("delete index", store_id) as conn:
            await conn.execute(f"DROP TABLE IF EXISTS {self._table(store_id)}")
        self._dimensions.pop(store_id, None)

    async def add_chunks(self, store_id: str, chunks: list[EmbeddedChunk]) -> None:
        if not chunks:
            return
        dimension = await self._dimension(store_id)
        check_chunks(store_id, chunks, dimension)
        table = self._table(store_id)
        sql = (
            f"INSERT INTO {table} (chunk_id, file_id, chunk_index, content, data, embedding) "
            "VALUES ($1, $2, $3, $4, $5, $6::vector) ON CONFLICT (chunk_id) DO UPDATE SET "
            "file_id = EXCLUDED.file_id, chunk_index = EXCLUDED.chunk_index, "
            "content = EXCLUDED.content, data = EXCLUDED.data, embedding = EXCLUDED.embedding"
        )
        rows = [
            (
                c.chunk_id,
                c.chunk_metadata.file_id,
                c.chunk_metadata.chunk_index,
                c.content.replace("\x00", ""),  # Postgres text cannot hold NUL; `data` keeps it
                chunk_json(c),
                vector_literal(c.embedding),
            )
            for c in chunks
        ]
        async with self._connection("add chunks", store_id) as conn, conn.transaction():
            await conn.executemany(sql, rows)

    async def delete_chunks(self, store_id: str, chunk_ids: list[str]) -> None:
        sql = f"DELETE FROM {self._table(store_id)} WHERE chunk_id = ANY($1::text[])"
        async with self._connection("delete chunks", store_id) as conn:
            await conn.execute(sql, list(chunk_ids))

    async def delete_file_chunks(self, store_id: str, file_id: str) -> None:
        sql = f"DELETE FROM {self._table(store_id)} WHERE file_id = $1"
        async with self._connection("delete file chunks", store_id) as conn:
            await conn.execute(sql, file_id)

    async def file_chunks(self, store_id: str, file_id: str) -> list[EmbeddedChunk]:
        sql = (
            f"SELECT data, embedding::text AS embedding FROM {self._table(store_id)} "
            "WHERE file_id = $1 ORDER BY chunk_index, seq"
        )
        async with self._connection("read file chunks", store_id) as conn:
            rows = await conn.fetch(sql, file_id)
        return [_chunk(r["data"], r["embedding"]) for r in rows]

    async def query_vector(
        self, store_id: str, embedding: list[float], k: int
    ) -> list[ScoredChunk]:
        dimension = await self._dimension(store_id)
        check_vector(store_id, embedding, dimension, "The query embedding")
        if k <= 0:
            return []
        # <=> is cosine distance, 1 - cosine similarity.
        sql = (
            f"SELECT data, embedding::text AS embedding, 1 - (embedding <=> $1::vector) AS score "
            f"FROM {self._table(store_id)} ORDER BY embedding <=> $1::vector LIMIT $2"
        )
        async with self._connection("vector query", store_id) as conn, conn.transaction():
            if k > EF_SEARCH_MAX:
                await conn.execute("SET LOCAL enable_indexscan = off")
            elif k > EF_SEARCH_DEFAULT:
                await conn.execute(f"SET LOCAL hnsw.ef_search = {int(k)}")
            rows = await conn.fetch(sql, vector_literal(embedding), k)
        return [self._scored(r) for r in rows]

    async def query_keyword(self, store_id: str, query: str, k: int) -> list[ScoredChunk]:
        text = tsquery_text(query)
        if text is None or k <= 0:
            return []
        sql = (
            "SELECT data, embedding::text AS embedding, ts_rank_cd(tsv, q) AS score "
            f"FROM {self._table(store_id)}, to_tsquery('english', $1) AS q "
            "WHERE tsv @@ q ORDER BY score DESC, seq LIMIT $2"
        )
        async with self._connection("keyword query", store_id) as conn:
            rows = await conn.fetch(sql, text, k)
        return [self._scored(r) for r in rows]

    async def shutdown(self) -> None:
        await self._pool.close()

    # -- helpers

    def _table(self, store_id: str) -> str:
        return hashed_name(self._config.table_prefix, store_id)

    @staticmethod
    def _scored(row: Any) -> ScoredChunk:
        return ScoredChunk(chunk=_chunk(row["data"], row["embedding"]), score=float(row["score"]))

    @staticmethod
    async def _column_dimension(conn: Any, table: str) -> int | None:
        # A vector column's type modifier is its dimension.
        return await conn.fetchval(
            "SELECT atttypmod FROM pg_attribute WHERE attrelid = to_regclass($1) "
            "AND attname = 'embedding'",
            table,
        )

    async def _dimension(self, store_id: str) -> int:
        """The store's dimension; read from the table when another process created it."""
        if store_id not in self._dimensions:
            async with self._connection("look up index", store_id) as conn:
                found = await self._column_dimension(conn, self._table(store_id))
            if found is None:
                raise NotFoundError("Vector index", store_id, hint="(remote::pgvector)")
            self._dimensions[store_id] = found
        return self._dimensions[store_id]
