"""Chunks of every vector store in one SQLite file: text, metadata, embedding, and an FTS5 BM25 index.

The faiss and sqlite-vec providers keep their chunks here. Each mutation is one transaction and
bumps the store's generation, so an index kept beside the file (faiss) can tell it is stale.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llama_workbench.apis.vector_io.models import EmbeddedChunk, ScoredChunk
from llama_workbench.core.errors import (
    ConflictError,
    NotFoundError,
    ProviderUnavailableError,
    StorageError,
)
from llama_workbench.providers.utils.vector_io import (
    check_chunks,
    check_vector,
    chunk_from_json,
    chunk_json,
)

if TYPE_CHECKING:
    import numpy as np  # imported where vectors are first handled: ~0.1 s at start-up

RowHook = Callable[[Any, list[int], "np.ndarray", list[int]], None]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS chunks (
    rowid INTEGER PRIMARY KEY,
    store_id TEXT NOT NULL,
    chunk_id TEXT NOT NULL,
    file_id TEXT,
    chunk_index INTEGER,
    content TEXT NOT NULL,
    data TEXT NOT NULL,
    embedding BLOB NOT NULL,
    UNIQUE (store_id, chunk_id)
);
CREATE INDEX IF NOT EXISTS chunks_by_file ON chunks (store_id, file_id, chunk_index);
CREATE TABLE IF NOT EXISTS generations (store_id TEXT PRIMARY KEY, generation INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS stores (store_id TEXT PRIMARY KEY, dimension INTEGER NOT NULL);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    content, content='chunks', content_rowid='rowid', tokenize='porter unicode61'
);
CREATE TRIGGER IF NOT EXISTS chunks_ai AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts (rowid, content) VALUES (new.rowid, new.content);
END;
CREATE TRIGGER IF NOT EXISTS chunks_ad AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts (chunks_fts, rowid, content) VALUES ('delete', old.rowid, old.content);
END;
"""

_WORD = re.compile(r"\w+", re.UNICODE)


class SqliteChunkStore:
    """Thread-safe (one connection, one lock); call its methods from worker threads."""

    def __init__(self, path: Path, connect: Callable[[str], Any] | None = None) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            opener = connect or (lambda p: sqlite3.connect(p, check_same_thread=False))
            self.conn = opener(str(path))
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.executescript(_SCHEMA)
            self.conn.commit()
        except sqlite3.Error as exc:
            raise StorageError(f"Cannot open the chunk database {path}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self.conn.close()

    # -- stores

    def open_store(
        self, store_id: str, dimension: int, hook: Callable[[Any], None] | None = None
    ) -> None:
        """Record a store's dimension (idempotent); another dimension for the same id conflicts."""
        with self._lock, self._transaction() as conn:
            row = conn.execute(
                "SELECT dimension FROM stores WHERE store_id = ?", (store_id,)
            ).fetchone()
            if row is not None and int(row[0]) != dimension:
                raise ConflictError(
                    f"Vector index '{store_id}' exists with {row[0]} dimensions, not {dimension}."
                )
            if row is None:
                conn.execute("INSERT INTO stores VALUES (?, ?)", (store_id, dimension))
            if hook is not None:
                hook(conn)

    def dimension(self, store_id: str) -> int | None:
        with self._lock:
            row = self.conn.execute(
                "SELECT dimension FROM stores WHERE store_id = ?", (store_id,)
            ).fetchone()
        return int(row[0]) if row else None

    # -- writes (each one transaction)

    def upsert(
        self,
        store_id: str,
        chunks: Sequence[EmbeddedChunk],
        vectors: np.ndarray,
        hook: RowHook | None = None,
    ) -> tuple[list[int], list[int]]:
        """Insert chunks (replacing same chunk_id); returns (new rowids, replaced rowids).

        A chunk id repeated within `chunks` is written once: the last one wins.
        """
        import numpy as np

        last = {c.chunk_id: i for i, c in enumerate(chunks)}
        if len(last) < len(chunks):
            keep = sorted(last.values())
            chunks, vectors = [chunks[i] for i in keep], vectors[keep]
        with self._lock, self._transaction() as conn:
            ids = [c.chunk_id for c in chunks]
            removed = self._rowids_where(conn, store_id, "chunk_id", ids)
            self._delete_rows(conn, removed)
            new: list[int] = []
            for chunk, vector in zip(chunks, vectors, strict=True):
                cur = conn.execute(
                    "INSERT INTO chunks (store_id, chunk_id, file_id, chunk_index, content, data,"
                    " embedding) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        store_id,
                        chunk.chunk_id,
                        chunk.chunk_metadata.file_id,
                        chunk.chunk_metadata.chunk_index,
                        chunk.content,
                        chunk_json(chunk),
                        np.asarray(vector, dtype=np.float32).tobytes(),
                    ),
                )
                new.append(int(cur.lastrowid))
            if hook is not None:
                hook(conn, new, vectors, removed)
            self._bump(conn, store_id)
        return new, removed

    def delete_chunks(
        self, store_id: str, chunk_ids: Sequence[str], hook: RowHook | None = None
    ) -> list[int]:
        return self._delete(store_id, "chunk_id", list(chunk_ids), hook)

    def delete_file(self, store_id: str, file_id: str, hook: RowHook | None = None) -> list[int]:
        return self._delete(store_id, "file_id", [file_id], hook)

    def delete_store(self, store_id: str, hook: RowHook | None = None) -> list[int]:
        import numpy as np

        with self._lock, self._transaction() as conn:
            rows = [
                r[0]
                for r in conn.execute("SELECT rowid FROM chunks WHERE store_id = ?", (store_id,))
            ]
            self._delete_rows(conn, rows)
            if hook is not None:
                hook(conn, [], np.empty((0, 0), np.float32), rows)
            conn.execute("DELETE FROM generations WHERE store_id = ?", (store_id,))
            conn.execute("DELETE FROM stores WHERE store_id = ?", (store_id,))
        return rows

    def _delete(
        self, store_id: str, column: str, values: list[str], hook: RowHook | None
    ) -> list[int]:
        import numpy as np

        with self._lock, self._transaction() as conn:
            rows = self._rowids_where(conn, store_id, column, values)
            self._delete_rows(conn, rows)
            if hook is not None:
                hook(conn, [], np.empty((0, 0), np.float32), rows)
            self._bump(conn, store_id)
        return rows

    # -- reads

    def generation(self, store_id: str) -> int:
        with self._lock:
            row = self.conn.execute(
                "SELECT generation FROM generations WHERE store_id = ?", (store_id,)
            ).fetchone()
        return int(row[0]) if row else 0

    def vectors(self, store_id: str, dimension: int) -> tuple[np.ndarray, np.ndarray]:
        """(rowids, float32 matrix) of every chunk of a store, to rebuild an index."""
        import numpy as np

        with self._lock:
            rows = self.conn.execute(
                "SELECT rowid, embedding FROM chunks WHERE store_id = ? ORDER BY rowid", (store_id,)
            ).fetchall()
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32)
        return ids, matrix.reshape(len(rows), dimension)

    def vectors_of(self, rowids: list[int], dimension: int) -> np.ndarray:
        """The embeddings of these rows, in this order."""
        import numpy as np

        marks = ",".join("?" * len(rowids))
        with self._lock:
            rows = dict(
                self.conn.execute(
                    f"SELECT rowid, embedding FROM chunks WHERE rowid IN ({marks})", rowids
                ).fetchall()
            )
        matrix = np.frombuffer(b"".join(rows[r] for r in rowids), dtype=np.float32)
        return matrix.reshape(len(rowids), dimension)

    def get(self, rowids: Iterable[int]) -> dict[int, EmbeddedChunk]:
        ids = list(rowids)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        with self._lock:
            rows = self.conn.execute(
                f"SELECT rowid, data, embedding FROM chunks WHERE rowid IN ({marks})", ids
            ).fetchall()
        return {r[0]: _chunk(r[1], r[2]) for r in rows}

    def file_chunks(self, store_id: str, file_id: str) -> list[EmbeddedChunk]:
        with self._lock:
            rows = self.conn.execute(
                "SELECT data, embedding FROM chunks WHERE store_id = ? AND file_id = ? "
                "ORDER BY chunk_index, rowid",
                (store_id, file_id),
            ).fetchall()
        return [_chunk(r[0], r[1]) for r in rows]

    def keyword(self, store_id: str, query: str, k: int) -> list[tuple[int, float]]:
        """BM25 over the chunk texts (any query word may match); (rowid, score), best first."""
        words = list(dict.fromkeys(w.lower() for w in _WORD.findall(query)))
        if not words:
            return []
        match = " OR ".join('"' + w.replace('"', '""') + '"' for w in words)
        with self._lock:
            rows = self.conn.execute(
                "SELECT chunks.rowid, bm25(chunks_fts) AS rank FROM chunks_fts "
                "JOIN chunks ON chunks.rowid = chunks_fts.rowid "
                "WHERE chunks_fts MATCH ? AND chunks.store_id = ? ORDER BY rank LIMIT ?",
                (match, store_id, k),
            ).fetchall()
        # FTS5's bm25() is lower-is-better (negative); scores here are higher-is-better.
        return [(int(r[0]), -float(r[1])) for r in rows]

    # -- internals

    def _transaction(self) -> Any:
        conn = self.conn

        class _Tx:
            def __enter__(self) -> Any:
                conn.execute("BEGIN IMMEDIATE")
                return conn

            def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
                if exc_type is None:
                    conn.commit()
                else:
                    conn.rollback()

        return _Tx()

    @staticmethod
    def _rowids_where(conn: Any, store_id: str, column: str, values: list[str]) -> list[int]:
        found: list[int] = []
        for start in range(0, len(values), 500):
            part = values[start : start + 500]
            marks = ",".join("?" * len(part))
            found.extend(
                r[0]
                for r in conn.execute(
                    f"SELECT rowid FROM chunks WHERE store_id = ? AND {column} IN ({marks})",
                    (store_id, *part),
                )
            )
        return found

    @staticmethod
    def _delete_rows(conn: Any, rowids: list[int]) -> None:
        conn.executemany("DELETE FROM chunks WHERE rowid = ?", [(r,) for r in rowids])

    @staticmethod
    def _bump(conn: Any, store_id: str) -> None:
        conn.execute(
            "INSERT INTO generations (store_id, generation) VALUES (?, 1) "
            "ON CONFLICT (store_id) DO UPDATE SET generation = generation + 1",
            (store_id,),
        )


class SqliteChunksMixin:
    """What the providers keeping their chunks in a SqliteChunkStore share: stores, checks, reads."""

    _chunks: SqliteChunkStore | None
    _dimensions: dict[str, int]
    provider_type = "inline"

    @property
    def chunks(self) -> SqliteChunkStore:
        if self._chunks is None:
            raise ProviderUnavailableError(self.provider_type, "the provider is shut down")
        return self._chunks

    def _dimension(self, store_id: str) -> int:
        """The store's dimension (known from create_index, or from an earlier run's record)."""
        if store_id not in self._dimensions:
            found = self.chunks.dimension(store_id)
            if found is None:
                raise NotFoundError("Vector index", store_id, hint=f"({self.provider_type})")
            self._dimensions[store_id] = found
        return self._dimensions[store_id]

    def _checked(self, store_id: str, chunks: list[EmbeddedChunk]) -> np.ndarray:
        """The chunks' embeddings as a matrix, once each has the store's size and finite values."""
        import numpy as np

        check_chunks(store_id, chunks, self._dimension(store_id))
        return np.asarray([c.embedding for c in chunks], dtype=np.float32)

    def _query(self, store_id: str, embedding: list[float]) -> np.ndarray:
        import numpy as np

        check_vector(store_id, embedding, self._dimension(store_id), "The query embedding")
        return np.asarray(embedding, dtype=np.float32)

    async def file_chunks(self, store_id: str, file_id: str) -> list[EmbeddedChunk]:
        self._dimension(store_id)
        return await asyncio.to_thread(self.chunks.file_chunks, store_id, file_id)

    async def query_keyword(self, store_id: str, query: str, k: int) -> list[ScoredChunk]:
        self._dimension(store_id)
        if k <= 0:
            return []

        def run() -> list[ScoredChunk]:
            hits = self.chunks.keyword(store_id, query, k)
            found = self.chunks.get(r for r, _ in hits)
            return [ScoredChunk(chunk=found[r], score=s) for r, s in hits if r in found]

        return await asyncio.to_thread(run)


def _chunk(data: str, embedding: bytes) -> EmbeddedChunk:
    import numpy as np

    return chunk_from_json(data, np.frombuffer(embedding, dtype=np.float32).tolist())
