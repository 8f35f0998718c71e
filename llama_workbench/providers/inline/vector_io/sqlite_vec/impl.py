"""sqlite-vec: a vec0 table per store beside the shared chunk tables, all in one SQLite transaction."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llama_workbench.apis.vector_io.models import EmbeddedChunk, ScoredChunk, VectorStoreRecord
from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.core.errors import MissingDependencyError
from llama_workbench.providers.inline.vector_io.sqlite_vec.config import SqliteVecVectorIOConfig
from llama_workbench.providers.utils.installed import require_installed
from llama_workbench.providers.utils.sqlite_chunks import SqliteChunksMixin, SqliteChunkStore
from llama_workbench.providers.utils.vector_io import hashed_name

if TYPE_CHECKING:
    import numpy as np  # imported where vectors are first handled: ~0.1 s at start-up


def _connect(path: str) -> Any:
    """A connection that can load extensions (the stdlib sqlite3 here is built without that)."""
    try:
        import sqlite_vec
    except ImportError:
        raise MissingDependencyError("sqlite-vec", "rag", needed_by="inline::sqlite-vec") from None
    try:
        from pysqlite3 import dbapi2 as sqlite3
    except ImportError:
        import sqlite3
    conn = sqlite3.connect(path, check_same_thread=False)
    if not hasattr(conn, "enable_load_extension"):
        raise MissingDependencyError("pysqlite3-binary", "rag", needed_by="inline::sqlite-vec")
    conn.enable_load_extension(True)
    sqlite_vec.load(conn)
    conn.enable_load_extension(False)
    return conn


def _table(store_id: str) -> str:
    return hashed_name("vec_", store_id)


class SqliteVecVectorIO(SqliteChunksMixin):
    """inline::sqlite-vec: exact cosine search by sqlite-vec, BM25 by FTS5, one database file."""

    provider_type = "inline::sqlite-vec"

    def __init__(self, config: SqliteVecVectorIOConfig, deps: ProviderDeps) -> None:
        path = Path(config.db_path).expanduser()
        self._path = path if path.is_absolute() else deps.data_dir / path
        self._chunks: SqliteChunkStore | None = None
        self._dimensions: dict[str, int] = {}
        self._open_lock = threading.Lock()
        self._shut_down = False

    async def initialize(self) -> None:
        # Checked now, opened on first use: sqlite_vec's import brings numpy (~0.1 s of start-up).
        require_installed("sqlite_vec", "rag", needed_by=self.provider_type, package="sqlite-vec")

    @property
    def chunks(self) -> SqliteChunkStore:
        with self._open_lock:
            if self._chunks is None and not self._shut_down:
                self._chunks = SqliteChunkStore(self._path, _connect)
        return super().chunks

    async def create_index(self, store: VectorStoreRecord) -> None:
        sql = (
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {_table(store.identifier)} USING vec0("
            f"embedding float[{store.embedding_dimension}] distance_metric=cosine)"
        )
        await asyncio.to_thread(
            self.chunks.open_store,
            store.identifier,
            store.embedding_dimension,
            lambda conn: conn.execute(sql),
        )
        self._dimensions[store.identifier] = store.embedding_dimension

    async def delete_index(self, store_id: str) -> None:

        def drop(conn: Any, new: list[int], vectors: np.ndarray, removed: list[int]) -> None:
            conn.execute(f"DROP TABLE IF EXISTS {_table(store_id)}")

        await asyncio.to_thread(self.chunks.delete_store, store_id, drop)
        self._dimensions.pop(store_id, None)

    async def add_chunks(self, store_id: str, chunks: list[EmbeddedChunk]) -> None:
        if not chunks:
            return
        vectors = self._checked(store_id, chunks)
        await asyncio.to_thread(self.chunks.upsert, store_id, chunks, vectors, self._sync(store_id))

    async def delete_chunks(self, store_id: str, chunk_ids: list[str]) -> None:
        await asyncio.to_thread(
            self.chunks.delete_chunks, store_id, chunk_ids, self._sync(store_id)
        )

    async def delete_file_chunks(self, store_id: str, file_id: str) -> None:
        await asyncio.to_thread(self.chunks.delete_file, store_id, file_id, self._sync(store_id))

    async def query_vector(
        self, store_id: str, embedding: list[float], k: int
    ) -> list[ScoredChunk]:
        query = self._query(store_id, embedding)
        if k <= 0:
            return []
        sql = (
            f"SELECT rowid, distance FROM {_table(store_id)} WHERE embedding MATCH ? AND k = ? "
            "ORDER BY distance"
        )

        def run() -> list[ScoredChunk]:
            with self.chunks._lock:
                rows = self.chunks.conn.execute(sql, (query.tobytes(), k)).fetchall()
            found = self.chunks.get(r[0] for r in rows)
            # Cosine distance is 1 - cosine similarity.
            return [ScoredChunk(chunk=found[r[0]], score=1.0 - r[1]) for r in rows if r[0] in found]

        return await asyncio.to_thread(run)

    async def shutdown(self) -> None:
        with self._open_lock:
            self._shut_down = True
        if self._chunks is not None:
            self._chunks.close()
            self._chunks = None

    @staticmethod
    def _sync(store_id: str) -> Any:
        table = _table(store_id)

        def hook(conn: Any, new: list[int], vectors: np.ndarray, removed: list[int]) -> None:
            import numpy as np

            if removed:
                conn.executemany(f"DELETE FROM {table} WHERE rowid = ?", [(r,) for r in removed])
            if new:
                conn.executemany(
                    f"INSERT INTO {table} (rowid, embedding) VALUES (?, ?)",
                    [
                        (r, np.asarray(v, dtype=np.float32).tobytes())
                        for r, v in zip(new, vectors, strict=True)
                    ],
                )

        return hook
