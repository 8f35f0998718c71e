"""inline::faiss (flat and HNSW) and inline::sqlite-vec against the VectorIOProvider contract."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from llama_workbench.apis.vector_io.models import (
    ChunkMetadata,
    EmbeddedChunk,
    VectorStoreObject,
    VectorStoreRecord,
)
from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.core.errors import BadRequestError
from llama_workbench.providers.inline.vector_io.faiss import create as create_faiss
from llama_workbench.providers.inline.vector_io.faiss.config import FaissVectorIOConfig
from llama_workbench.providers.inline.vector_io.sqlite_vec import create as create_sqlite_vec
from llama_workbench.providers.inline.vector_io.sqlite_vec.config import SqliteVecVectorIOConfig
from llama_workbench.storage.config import StorageConfig
from llama_workbench.storage.manager import StorageManager

DIM = 8
KINDS = ["faiss-flat", "faiss-hnsw", "sqlite-vec"]


async def _open(kind: str, data_dir: Path) -> Any:
    deps = ProviderDeps("p", {}, StorageManager(StorageConfig(), data_dir), data_dir)
    if kind == "sqlite-vec":
        return await create_sqlite_vec(SqliteVecVectorIOConfig(), deps)
    index_type = "hnsw" if kind == "faiss-hnsw" else "flat"
    return await create_faiss(FaissVectorIOConfig(index_type=index_type), deps)


def _record(store_id: str = "vs_1") -> VectorStoreRecord:
    obj = VectorStoreObject(id=store_id, created_at=int(time.time()))
    return VectorStoreRecord(
        identifier=store_id,
        provider_id="p",
        embedding_model="m",
        embedding_dimension=DIM,
        object=obj,
    )


def _chunks(texts: list[str], file_id: str = "file-a", seed: int = 0) -> list[EmbeddedChunk]:
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(len(texts), DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return [
        EmbeddedChunk(
            content=text,
            chunk_id=f"{file_id}-{i}",
            metadata={"n": i},
            chunk_metadata=ChunkMetadata(file_id=file_id, chunk_index=i),
            embedding=vectors[i].tolist(),
            embedding_model="m",
            embedding_dimension=DIM,
        )
        for i, text in enumerate(texts)
    ]


TEXTS = [
    "The harbour lighthouse was lit in 1794.",
    "Bees gather nectar from heather in August.",
    "The railway climbs to Tarrock summit.",
    "Keepers trimmed the lighthouse wicks nightly.",
]


@pytest.fixture(params=KINDS)
async def provider(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    impl = await _open(request.param, tmp_path)
    await impl.create_index(_record())
    yield impl
    await impl.shutdown()


async def test_vector_and_keyword_queries(provider: Any) -> None:
    chunks = _chunks(TEXTS)
    await provider.add_chunks("vs_1", chunks)
    hits = await provider.query_vector("vs_1", chunks[2].embedding, 2)
    assert hits[0].chunk.chunk_id == "file-a-2" and hits[0].score == pytest.approx(1.0, abs=1e-4)
    assert hits[0].chunk.metadata == {"n": 2} and len(hits[0].chunk.embedding) == DIM
    words = await provider.query_keyword("vs_1", "Lighthouse keepers?", 10)
    assert {h.chunk.chunk_id for h in words} == {"file-a-0", "file-a-3"}
    assert words[0].chunk.chunk_id == "file-a-3"  # matches both words
    assert await provider.query_keyword("vs_1", "zeppelin", 10) == []
    assert await provider.query_keyword("vs_1", '" OR 1=1; DROP TABLE chunks; --', 10) == []
    assert await provider.query_keyword("vs_1", "?!", 10) == []


async def test_upsert_delete_and_file_order(provider: Any) -> None:
    await provider.add_chunks("vs_1", _chunks(TEXTS))
    await provider.add_chunks("vs_1", _chunks(["Other file text."], file_id="file-b"))
    replaced = _chunks(["The lighthouse now runs on electricity."], seed=5)
    await provider.add_chunks("vs_1", replaced)  # same chunk_id as file-a-0
    hits = await provider.query_vector("vs_1", replaced[0].embedding, 10)
    assert len(hits) == 5 and hits[0].chunk.content.startswith("The lighthouse now")
    ordered = await provider.file_chunks("vs_1", "file-a")
    assert [c.chunk_metadata.chunk_index for c in ordered] == [0, 1, 2, 3]
    await provider.delete_chunks("vs_1", ["file-a-1"])
    await provider.delete_file_chunks("vs_1", "file-b")
    left = {
        h.chunk.chunk_id for h in await provider.query_vector("vs_1", replaced[0].embedding, 10)
    }
    assert left == {"file-a-0", "file-a-2", "file-a-3"}
    assert {
        h.chunk.chunk_id for h in await provider.query_keyword("vs_1", "text heather", 10)
    } == set()


async def test_stores_are_separate_and_deletable(provider: Any) -> None:
    await provider.create_index(_record("vs_2"))
    await provider.add_chunks("vs_1", _chunks(TEXTS))
    await provider.add_chunks("vs_2", _chunks(["Bees again."], file_id="file-z"))
    assert [h.chunk.chunk_id for h in await provider.query_keyword("vs_2", "bees", 5)] == [
        "file-z-0"
    ]
    await provider.delete_index("vs_2")
    assert len(await provider.query_keyword("vs_1", "bees", 5)) == 1


async def test_wrong_dimension_is_refused(provider: Any) -> None:
    bad = _chunks(TEXTS[:1])[0].model_copy(update={"embedding": [0.1] * (DIM + 1)})
    with pytest.raises(BadRequestError, match=str(DIM)):
        await provider.add_chunks("vs_1", [bad])
    with pytest.raises(BadRequestError):
        await provider.query_vector("vs_1", [0.1] * 3, 1)


@pytest.mark.parametrize("kind", KINDS)
async def test_reopened_provider_finds_the_same(kind: str, tmp_path: Path) -> None:
    chunks = _chunks(TEXTS)
    first = await _open(kind, tmp_path)
    await first.create_index(_record())
    await first.add_chunks("vs_1", chunks)
    await first.delete_chunks("vs_1", ["file-a-1"])
    await first.shutdown()
    again = await _open(kind, tmp_path)
    await again.create_index(_record())  # what the router does at every start: must keep data
    hits = await again.query_vector("vs_1", chunks[3].embedding, 10)
    assert hits[0].chunk.chunk_id == "file-a-3" and len(hits) == 3
    await again.shutdown()


def _remove_index(index_dir: Path) -> None:
    for path in index_dir.iterdir():
        path.unlink()


@pytest.mark.parametrize(
    "damage",
    [
        _remove_index,  # as if the process died before the index was first saved
        lambda d: next(d.glob("*.faiss")).write_bytes(b"garbage"),
        lambda d: next(d.glob("*.json")).write_text('{"generation": 1}'),
    ],
    ids=["missing-index", "corrupt-index", "stale-index"],
)
async def test_faiss_rebuilds_a_lost_or_stale_index(
    tmp_path: Path, damage: Callable[[Path], Any]
) -> None:
    chunks = _chunks(TEXTS)
    first = await _open("faiss-flat", tmp_path)
    await first.create_index(_record())
    await first.add_chunks("vs_1", chunks)
    await first.shutdown()
    damage(tmp_path / "vector_io" / "faiss")
    again = await _open("faiss-flat", tmp_path)
    await again.create_index(_record())
    hits = await again.query_vector("vs_1", chunks[1].embedding, 1)
    assert hits[0].chunk.chunk_id == "file-a-1"
    assert len(await again.query_vector("vs_1", chunks[1].embedding, 10)) == len(TEXTS)
    await again.shutdown()
