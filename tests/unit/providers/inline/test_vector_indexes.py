"""inline::faiss (flat and HNSW) and inline::sqlite-vec against the VectorIOProvider contract."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.inline.vector_io.faiss import create as create_faiss
from llama_workbench.providers.inline.vector_io.faiss.config import FaissVectorIOConfig
from llama_workbench.providers.inline.vector_io.sqlite_vec import create as create_sqlite_vec
from llama_workbench.providers.inline.vector_io.sqlite_vec.config import SqliteVecVectorIOConfig
from llama_workbench.storage.config import StorageConfig
from llama_workbench.storage.manager import StorageManager
from tests.support.vector_contract import (
    STORE,
    Opener,
    VectorIOContract,
    corpus,
    ids,
    record,
    unit_vectors,
)

KINDS = ["faiss-flat", "faiss-hnsw", "sqlite-vec"]


async def _open(kind: str, data_dir: Path) -> Any:
    deps = ProviderDeps("p", {}, StorageManager(StorageConfig(), data_dir), data_dir)
    if kind == "sqlite-vec":
        return await create_sqlite_vec(SqliteVecVectorIOConfig(), deps)
    index_type = "hnsw" if kind == "faiss-hnsw" else "flat"
    return await create_faiss(FaissVectorIOConfig(index_type=index_type), deps)


class TestInlineIndexes(VectorIOContract):
    @pytest.fixture(params=KINDS)
    def open_provider(self, request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
        return lambda: _open(request.param, tmp_path)


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
    vectors = unit_vectors(4)
    first = await _open("faiss-flat", tmp_path)
    await first.create_index(record())
    await first.add_chunks(STORE, corpus(vectors))
    await first.shutdown()
    damage(tmp_path / "vector_io" / "faiss")
    again = await _open("faiss-flat", tmp_path)
    await again.create_index(record())
    assert ids(await again.query_vector(STORE, vectors[1].tolist(), 1)) == ["c1"]
    assert len(await again.query_vector(STORE, vectors[1].tolist(), 10)) == 4
    await again.shutdown()
