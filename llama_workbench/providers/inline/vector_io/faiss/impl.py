"""faiss indexes over a SQLite chunk store: SQLite is the truth, each index file a rebuildable cache."""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import json
import os
import re
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llama_workbench.apis.vector_io.models import EmbeddedChunk, ScoredChunk, VectorStoreRecord
from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.core.errors import MissingDependencyError
from llama_workbench.providers.inline.vector_io.faiss.config import FaissVectorIOConfig
from llama_workbench.providers.utils.sqlite_chunks import SqliteChunksMixin, SqliteChunkStore

if TYPE_CHECKING:
    import numpy as np  # imported where vectors are first handled: ~0.1 s at start-up

SAVE_INTERVAL_S = 2.0


def _faiss() -> Any:
    try:
        import faiss
    except ImportError:
        raise MissingDependencyError("faiss-cpu", "rag", needed_by="inline::faiss") from None
    return faiss


class _StoreIndex:
    """One store's faiss index, keyed by the chunk rows' SQLite rowids."""

    def __init__(self, index: Any, dimension: int, generation: int) -> None:
        self.index = index
        self.dimension = dimension
        self.generation = generation
        self.saved_generation = generation
        self.saved_at = time.monotonic()
        self.lock = threading.Lock()


class FaissVectorIO(SqliteChunksMixin):
    """inline::faiss: exact (flat, inner product on unit vectors) or HNSW indexes."""

    provider_type = "inline::faiss"

    def __init__(self, config: FaissVectorIOConfig, deps: ProviderDeps) -> None:
        self._config = config
        self._db_path = _under(deps.data_dir, config.db_path)
        self._index_dir = _under(deps.data_dir, config.index_dir)
        self._chunks: SqliteChunkStore | None = None
        self._indexes: dict[str, _StoreIndex] = {}
        self._dimensions: dict[str, int] = {}

    async def initialize(self) -> None:
        # Fail at start-up if faiss is missing, without paying for its import until first use.
        if importlib.util.find_spec("faiss") is None:
            raise MissingDependencyError("faiss-cpu", "rag", needed_by="inline::faiss")
        self._index_dir.mkdir(parents=True, exist_ok=True)
        self._chunks = await asyncio.to_thread(SqliteChunkStore, self._db_path)

    # -- the provider protocol

    async def create_index(self, store: VectorStoreRecord) -> None:
        # Opening is cheap: the index is loaded (or rebuilt) on the store's first use.
        await asyncio.to_thread(self.chunks.open_store, store.identifier, store.embedding_dimension)
        self._dimensions[store.identifier] = store.embedding_dimension

    async def delete_index(self, store_id: str) -> None:
        await asyncio.to_thread(self.chunks.delete_store, store_id)
        self._indexes.pop(store_id, None)
        self._dimensions.pop(store_id, None)
        for path in self._files(store_id):
            path.unlink(missing_ok=True)

    async def add_chunks(self, store_id: str, chunks: list[EmbeddedChunk]) -> None:
        if chunks:
            vectors = self._checked(store_id, chunks)
            await asyncio.to_thread(self._add, store_id, chunks, vectors)

    async def delete_chunks(self, store_id: str, chunk_ids: list[str]) -> None:
        await asyncio.to_thread(self._remove, store_id, self.chunks.delete_chunks, chunk_ids)

    async def delete_file_chunks(self, store_id: str, file_id: str) -> None:
        await asyncio.to_thread(self._remove, store_id, self.chunks.delete_file, file_id)

    async def query_vector(
        self, store_id: str, embedding: list[float], k: int
    ) -> list[ScoredChunk]:
        query = self._query(store_id, embedding)
        if k <= 0:
            return []
        return await asyncio.to_thread(self._search, store_id, query, k)

    async def shutdown(self) -> None:
        for store_id in list(self._indexes):
            await asyncio.to_thread(self._save, store_id, force=True)
        if self._chunks is not None:
            self._chunks.close()
            self._chunks = None

    # -- index upkeep (worker threads)

    def _index(self, store_id: str) -> _StoreIndex:
        found = self._indexes.get(store_id)
        if found is not None:
            return found
        dimension = self._dimension(store_id)
        loaded = self._load(store_id, dimension) or self._rebuild(store_id, dimension)
        return self._indexes.setdefault(store_id, loaded)

    def _new_index(self, dimension: int) -> Any:
        faiss = _faiss()
        if self._config.index_type == "hnsw":
            inner = faiss.IndexHNSWFlat(dimension, self._config.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            inner.hnsw.efConstruction = self._config.hnsw_ef_construction
            inner.hnsw.efSearch = self._config.hnsw_ef_search
            return faiss.IndexIDMap(inner)
        return faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))

    def _rebuild(self, store_id: str, dimension: int) -> _StoreIndex:
        """Build the index from the chunk rows (first use, stale file, or HNSW after deletes)."""
        generation = self.chunks.generation(store_id)
        ids, matrix = self.chunks.vectors(store_id, dimension)
        index = self._new_index(dimension)
        if len(ids):
            index.add_with_ids(_unit(matrix), ids)
        entry = _StoreIndex(index, dimension, generation)
        entry.saved_generation = -1
        return entry

    def _load(self, store_id: str, dimension: int) -> _StoreIndex | None:
        index_path, meta_path = self._files(store_id)
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, ValueError):
            return None
        generation = self.chunks.generation(store_id)
        if (
            meta.get("generation") != generation
            or meta.get("dimension") != dimension
            or meta.get("index_type") != self._config.index_type
        ):
            return None  # written before the last change reached it: rebuild from the rows
        try:
            index = _faiss().read_index(str(index_path))
        except RuntimeError:
            return None
        return _StoreIndex(index, dimension, generation)

    def _save(self, store_id: str, force: bool = False) -> None:
        entry = self._indexes.get(store_id)
        if entry is None or entry.saved_generation == entry.generation:
            return
        if not force and time.monotonic() - entry.saved_at < SAVE_INTERVAL_S:
            return
        index_path, meta_path = self._files(store_id)
        with entry.lock:
            generation = entry.generation
            tmp = index_path.with_suffix(".tmp")
            _faiss().write_index(entry.index, str(tmp))
        os.replace(tmp, index_path)
        meta = {
            "generation": generation,
            "dimension": entry.dimension,
            "index_type": self._config.index_type,
        }
        meta_tmp = meta_path.with_suffix(".tmp")
        meta_tmp.write_text(json.dumps(meta))
        os.replace(meta_tmp, meta_path)
        entry.saved_generation = generation
        entry.saved_at = time.monotonic()

    def _add(self, store_id: str, chunks: list[EmbeddedChunk], vectors: np.ndarray) -> None:
        import numpy as np

        entry = self._index(store_id)
        with entry.lock:
            # The rows keep the embeddings as given; the index holds them at unit length.
            new, removed = self.chunks.upsert(store_id, chunks, vectors)
            if len(new) < len(chunks):  # a chunk id repeated in the batch: its last copy counts
                vectors = self.chunks.vectors_of(new, entry.dimension)
            if removed and self._config.index_type == "hnsw":
                # HNSW graphs can't delete: rebuild from the rows (which now hold the new ones).
                entry.index = self._rebuild(store_id, entry.dimension).index
            else:
                if removed:
                    entry.index.remove_ids(np.asarray(removed, dtype=np.int64))
                entry.index.add_with_ids(_unit(vectors), np.asarray(new, dtype=np.int64))
            entry.generation = self.chunks.generation(store_id)
        self._save(store_id)

    def _remove(self, store_id: str, delete: Any, what: Any) -> None:
        import numpy as np

        entry = self._index(store_id)
        with entry.lock:
            removed = delete(store_id, what)
            if removed and self._config.index_type == "hnsw":
                entry.index = self._rebuild(store_id, entry.dimension).index
            elif removed:
                entry.index.remove_ids(np.asarray(removed, dtype=np.int64))
            entry.generation = self.chunks.generation(store_id)
        self._save(store_id)

    def _search(self, store_id: str, embedding: np.ndarray, k: int) -> list[ScoredChunk]:
        entry = self._index(store_id)
        query = _unit(embedding.reshape(1, -1))
        with entry.lock:
            if entry.index.ntotal == 0:
                return []
            scores, ids = entry.index.search(query, min(k, entry.index.ntotal))
        hits = [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]
        found = self.chunks.get(i for i, _ in hits)
        return [ScoredChunk(chunk=found[i], score=s) for i, s in hits if i in found]

    def _files(self, store_id: str) -> tuple[Path, Path]:
        name = (
            store_id
            if re.fullmatch(r"[A-Za-z0-9_\-]{1,100}", store_id)
            else (hashlib.sha256(store_id.encode()).hexdigest())
        )
        return self._index_dir / f"{name}.faiss", self._index_dir / f"{name}.json"


def _unit(matrix: np.ndarray) -> np.ndarray:
    import numpy as np

    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(matrix / norms, dtype=np.float32)


def _under(data_dir: Path, path: str) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else data_dir / p
