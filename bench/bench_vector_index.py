"""Vector index providers: flat vs HNSW recall on real MiniLM embeddings, and speed at 100k x 384.

Baselines in the same run: raw faiss (IndexFlatIP / IndexHNSWFlat) on the same vectors.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench._common import summary  # noqa: E402
from llama_workbench.apis.vector_io.models import (  # noqa: E402
    ChunkMetadata,
    EmbeddedChunk,
    VectorStoreObject,
    VectorStoreRecord,
)
from llama_workbench.core.datatypes import ProviderDeps  # noqa: E402
from llama_workbench.storage.config import StorageConfig  # noqa: E402
from llama_workbench.storage.manager import StorageManager  # noqa: E402

SCALE = int(os.environ.get("BENCH_INDEX_SIZE", "100000"))
QUERIES = 200


def _texts() -> tuple[list[str], list[str]]:
    """(documents, queries): 12-word windows of the corpus every 3 words, and its sentences."""
    from tests.support.rag import corpus_files

    text = "\n".join(
        p.read_text(errors="ignore") for p in corpus_files() if p.suffix in (".md", ".txt")
    )
    words = text.split()
    windows = [" ".join(words[i : i + 12]) for i in range(0, len(words) - 12, 3)]
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", text) if len(s.strip()) > 30]
    return windows, sentences


def _embed(texts: list[str]) -> np.ndarray:
    from sentence_transformers import SentenceTransformer

    from llama_workbench.providers.inline.inference.sentence_transformers.impl import (
        default_model_path,
    )

    model = SentenceTransformer(str(default_model_path()), device="cpu", local_files_only=True)
    return model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)


async def _provider(kind: str, data_dir: Path, dimension: int) -> Any:
    from llama_workbench.providers.inline.vector_io.faiss import create
    from llama_workbench.providers.inline.vector_io.faiss.config import FaissVectorIOConfig

    deps = ProviderDeps("bench", {}, StorageManager(StorageConfig(), data_dir), data_dir)
    impl = await create(FaissVectorIOConfig(index_type=kind), deps)
    record = VectorStoreRecord(
        identifier="vs_bench",
        provider_id="bench",
        embedding_model="m",
        embedding_dimension=dimension,
        object=VectorStoreObject(id="vs_bench", created_at=0),
    )
    await impl.create_index(record)
    return impl


def _chunks(texts: list[str], vectors: np.ndarray, start: int = 0) -> list[EmbeddedChunk]:
    return [
        EmbeddedChunk(
            content=t,
            chunk_id=f"c{start + i}",
            chunk_metadata=ChunkMetadata(file_id="f", chunk_index=start + i),
            embedding=v.tolist(),
            embedding_model="m",
            embedding_dimension=vectors.shape[1],
        )
        for i, (t, v) in enumerate(zip(texts, vectors, strict=True))
    ]


async def _fill(impl: Any, texts: list[str], vectors: np.ndarray, batch: int = 5000) -> float:
    t0 = time.perf_counter()
    for s in range(0, len(texts), batch):
        await impl.add_chunks("vs_bench", _chunks(texts[s : s + batch], vectors[s : s + batch], s))
    return time.perf_counter() - t0


async def _query_times(
    impl: Any, queries: np.ndarray, k: int = 10
) -> tuple[list[float], list[list[str]]]:
    times, ids = [], []
    for q in queries:
        t0 = time.perf_counter()
        hits = await impl.query_vector("vs_bench", q.tolist(), k)
        times.append(time.perf_counter() - t0)
        ids.append([h.chunk.chunk_id for h in hits])
    return times, ids


def _raw_times(index: Any, queries: np.ndarray, k: int = 10) -> list[float]:
    times = []
    for q in queries:
        t0 = time.perf_counter()
        index.search(q.reshape(1, -1), k)
        times.append(time.perf_counter() - t0)
    return times


async def real_embeddings() -> None:
    windows, sentences = _texts()
    vectors = _embed(windows + sentences)
    docs, queries = vectors[: len(windows)], vectors[len(windows) :]
    results = {}
    for kind in ("flat", "hnsw"):
        with tempfile.TemporaryDirectory() as tmp:
            impl = await _provider(kind, Path(tmp), docs.shape[1])
            await _fill(impl, windows, docs)
            times, ids = await _query_times(impl, queries)
            results[kind] = (times, ids)
            await impl.shutdown()
    exact = results["flat"][1]
    recall = np.mean(
        [len(set(a) & set(b)) / 10 for a, b in zip(results["hnsw"][1], exact, strict=True)]
    )
    print(
        f"real MiniLM embeddings: {len(windows)} overlapping 12-word windows of the corpus, "
        f"queried with its {len(sentences)} sentences"
    )
    print(f"  HNSW recall@10 against exact flat search: {recall:.3f}")
    for kind in ("flat", "hnsw"):
        p50, p99 = summary(results[kind][0])
        print(f"  {kind:<5} query p50 {p50:.2f} ms  p99 {p99:.2f} ms")


async def scale() -> None:
    import faiss

    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(SCALE, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = vectors[rng.choice(SCALE, QUERIES, replace=False)] + 0.05 * rng.normal(
        size=(QUERIES, 384)
    ).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    texts = [f"synthetic chunk {i}" for i in range(SCALE)]
    print(
        f"synthetic unit vectors: {SCALE} x 384 (speed only; recall is data-dependent, see above)"
    )
    raw_flat = faiss.IndexFlatIP(384)
    t0 = time.perf_counter()
    raw_flat.add(vectors)
    raw_add = time.perf_counter() - t0
    raw_p50, _ = summary(_raw_times(raw_flat, queries))
    t0 = time.perf_counter()
    raw_flat.search(queries, 10)
    batched = (time.perf_counter() - t0) / QUERIES * 1000
    with tempfile.TemporaryDirectory() as tmp:
        impl = await _provider("flat", Path(tmp), 384)
        took = await _fill(impl, texts, vectors)
        times, _ = await _query_times(impl, queries)
        await impl.shutdown()
    p50, p99 = summary(times)
    print(
        f"  inline::faiss (flat) insert {SCALE / took:,.0f} chunks/s ({took:.1f} s; rows, FTS5 and index, durable)"
    )
    print(f"  raw faiss IndexFlatIP add: {raw_add:.2f} s (memory only)")
    print(
        f"  flat top-10 query p50: ours {p50:.2f} ms (p99 {p99:.2f}) vs raw faiss "
        f"{raw_p50:.2f} ms -> {p50 / raw_p50:.2f}x"
    )
    print(f"  raw faiss flat, {QUERIES} queries batched: {batched:.3f} ms each")
    hnsw = faiss.IndexHNSWFlat(384, 32, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = 200
    t0 = time.perf_counter()
    hnsw.add(vectors)
    build = time.perf_counter() - t0
    hnsw.hnsw.efSearch = 128
    h50, _ = summary(_raw_times(hnsw, queries))
    print(f"  raw faiss HNSW (M=32, efSearch=128): build {build:.1f} s, query p50 {h50:.2f} ms")


if __name__ == "__main__":
    asyncio.run(real_embeddings())
    asyncio.run(scale())
