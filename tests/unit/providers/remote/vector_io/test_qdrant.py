"""remote::qdrant in qdrant-client's local mode (the same client API, in-process), and its errors."""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from llama_workbench import Stack
from llama_workbench.apis.vector_io.api import VectorIOProvider
from llama_workbench.apis.vector_io.models import (
    ChunkMetadata,
    EmbeddedChunk,
    VectorStoreObject,
    VectorStoreRecord,
)
from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.core.errors import (
    BadRequestError,
    ConflictError,
    MissingDependencyError,
    NotFoundError,
    ProviderUnavailableError,
)
from llama_workbench.providers.remote.vector_io.qdrant import create
from llama_workbench.providers.remote.vector_io.qdrant.config import QdrantVectorIOConfig
from llama_workbench.providers.remote.vector_io.qdrant.impl import QdrantVectorIO, bm25, words
from tests.support.rag import CORPUS_DIR, answered, questions, rag_config

DIM = 8
STORE = "vs_test"
TEXTS = [
    "The lighthouse keepers climbed 148 steps to the lamp.",
    "Herring fishers founded the town at the river mouth.",
    "Bees make honey from the nectar of heather flowers.",
    'The keepers\' logbook: "lamp lit" at dusk, every night.',
]


def _deps(data_dir: Path) -> ProviderDeps:
    return ProviderDeps(provider_id="qdrant", apis={}, storage=None, data_dir=data_dir)  # type: ignore[arg-type]


async def _provider(data_dir: Path, **config: Any) -> QdrantVectorIO:
    config = config or {"path": "qdrant"}
    impl = await create(QdrantVectorIOConfig.model_validate(config), _deps(data_dir))
    assert isinstance(impl, QdrantVectorIO) and isinstance(impl, VectorIOProvider)
    return impl


def _record(store_id: str = STORE, dimension: int = DIM) -> VectorStoreRecord:
    store = VectorStoreObject(id=store_id, created_at=int(time.time()))
    return VectorStoreRecord(
        identifier=store_id, provider_id="qdrant", embedding_model="m",
        embedding_dimension=dimension, object=store,
    )  # fmt: skip


def _unit_vectors(n: int, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(n, DIM))
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _chunk(chunk_id: str, text: str, vector: np.ndarray, file_id: str, index: int) -> EmbeddedChunk:
    return EmbeddedChunk(
        content=text, chunk_id=chunk_id, metadata={"source": file_id, "n": index},
        chunk_metadata=ChunkMetadata(file_id=file_id, chunk_index=index),
        embedding=vector.tolist(), embedding_model="m", embedding_dimension=DIM,
    )  # fmt: skip


def _corpus(vectors: np.ndarray) -> list[EmbeddedChunk]:
    """c1, c0 of file f1 (out of order), then c2, c3 of file f2."""
    return [
        _chunk("c1", TEXTS[1], vectors[1], "f1", 1),
        _chunk("c0", TEXTS[0], vectors[0], "f1", 0),
        _chunk("c2", TEXTS[2], vectors[2], "f2", 0),
        _chunk("c3", TEXTS[3], vectors[3], "f2", 1),
    ]


@pytest.fixture
async def filled(tmp_path: Path) -> AsyncIterator[tuple[QdrantVectorIO, np.ndarray]]:
    impl = await _provider(tmp_path)
    await impl.create_index(_record())
    vectors = _unit_vectors(4)
    await impl.add_chunks(STORE, _corpus(vectors))
    yield impl, vectors
    await impl.shutdown()


async def test_vector_query_returns_whole_chunks(filled: tuple[QdrantVectorIO, np.ndarray]) -> None:
    impl, vectors = filled
    hits = await impl.query_vector(STORE, vectors[2].tolist(), 2)
    assert len(hits) == 2 and hits[0].chunk.chunk_id == "c2"
    assert hits[0].score == pytest.approx(1.0, abs=1e-5) and hits[0].score >= hits[1].score
    chunk = hits[0].chunk
    assert chunk.content == TEXTS[2] and chunk.metadata == {"source": "f2", "n": 0}
    assert chunk.chunk_metadata.file_id == "f2" and chunk.embedding_model == "m"
    assert chunk.embedding == pytest.approx(vectors[2].tolist(), abs=1e-5)
    assert len(await impl.query_vector(STORE, vectors[0].tolist(), 10)) == 4
    assert await impl.query_vector(STORE, vectors[0].tolist(), 0) == []


async def test_embeddings_keep_their_length(tmp_path: Path) -> None:
    # Qdrant normalizes vectors of cosine collections; the chunk must come back as it went in.
    impl = await _provider(tmp_path)
    await impl.create_index(_record())
    vector = _unit_vectors(1)[0] * 7.5
    await impl.add_chunks(STORE, [_chunk("big", "long vector", vector, "f", 0)])
    (hit,) = await impl.query_vector(STORE, vector.tolist(), 1)
    assert hit.score == pytest.approx(1.0, abs=1e-5)
    assert hit.chunk.embedding == pytest.approx(vector.tolist(), rel=1e-5)
    await impl.shutdown()


async def test_keyword_query(filled: tuple[QdrantVectorIO, np.ndarray]) -> None:
    impl, _ = filled
    hits = await impl.query_keyword(STORE, "Lighthouse KEEPERS?", 10)
    assert [h.chunk.chunk_id for h in hits] == ["c0", "c3"]  # c0 has both words
    assert hits[0].score > hits[1].score > 0
    assert hits[0].chunk.embedding and hits[0].chunk.metadata["source"] == "f1"
    assert [h.chunk.chunk_id for h in await impl.query_keyword(STORE, "honey zeppelin", 10)] == [
        "c2"
    ]
    assert len(await impl.query_keyword(STORE, "the", 1)) == 1
    assert await impl.query_keyword(STORE, "zeppelin", 10) == []
    assert await impl.query_keyword(STORE, "?!", 10) == []
    assert await impl.query_keyword(STORE, '"lamp" OR 1=1; --\'', 10) != []
    assert await impl.query_keyword(STORE, '\' OR "" --', 10) == []


def test_bm25_ranks_rare_words_and_short_documents_higher() -> None:
    docs = {"a": words("cat dog"), "b": words("cat cat dog bird fish"), "c": words("dog")}
    scores = bm25(["cat", "dog"], docs, n_docs=10)
    assert scores["a"] > scores["b"] > scores["c"] > 0
    assert bm25(["owl"], docs, n_docs=10) == {}
    assert bm25(["cat"], {}, n_docs=0) == {}


async def test_upsert_by_chunk_id(filled: tuple[QdrantVectorIO, np.ndarray]) -> None:
    impl, _ = filled
    new = _unit_vectors(1, seed=9)[0]
    await impl.add_chunks(STORE, [_chunk("c0", "The lamp now runs on electricity.", new, "f1", 0)])
    hits = await impl.query_vector(STORE, new.tolist(), 10)
    assert len(hits) == 4 and hits[0].chunk.chunk_id == "c0"
    assert hits[0].chunk.content.startswith("The lamp now")
    assert await impl.query_keyword(STORE, "lighthouse", 10) == []
    await impl.add_chunks(STORE, [])


async def test_deletes_and_file_order(filled: tuple[QdrantVectorIO, np.ndarray]) -> None:
    impl, vectors = filled
    assert [c.chunk_id for c in await impl.file_chunks(STORE, "f1")] == ["c0", "c1"]
    assert [c.chunk_id for c in await impl.file_chunks(STORE, "f2")] == ["c2", "c3"]
    assert await impl.file_chunks(STORE, "nope") == []
    await impl.delete_chunks(STORE, ["c3", "never-added"])
    await impl.delete_chunks(STORE, [])
    assert [c.chunk_id for c in await impl.file_chunks(STORE, "f2")] == ["c2"]
    await impl.delete_file_chunks(STORE, "f1")
    left = await impl.query_vector(STORE, vectors[0].tolist(), 10)
    assert [h.chunk.chunk_id for h in left] == ["c2"]
    assert await impl.query_keyword(STORE, "lighthouse herring", 10) == []


async def test_create_index_is_idempotent_and_delete_index(tmp_path: Path) -> None:
    impl = await _provider(tmp_path)
    await impl.create_index(_record())
    await impl.add_chunks(STORE, _corpus(_unit_vectors(4)))
    await impl.create_index(_record())  # as at every stack start: the data stays
    assert len(await impl.file_chunks(STORE, "f1")) == 2
    with pytest.raises(ConflictError, match="8 dimensions"):
        await impl.create_index(_record(dimension=4))
    await impl.create_index(_record("vs_other"))
    await impl.delete_index(STORE)
    await impl.delete_index(STORE)  # already gone
    with pytest.raises(NotFoundError):
        await impl.query_vector(STORE, _unit_vectors(1)[0].tolist(), 3)
    with pytest.raises(NotFoundError):
        await impl.file_chunks(STORE, "f1")
    assert await impl.file_chunks("vs_other", "f1") == []
    await impl.shutdown()
    with pytest.raises(ProviderUnavailableError, match="shut down"):
        await impl.file_chunks("vs_other", "f1")


async def test_data_persists_across_instances(tmp_path: Path) -> None:
    vectors = _unit_vectors(4)
    first = await _provider(tmp_path)
    await first.create_index(_record())
    await first.add_chunks(STORE, _corpus(vectors))
    await first.shutdown()
    assert (tmp_path / "qdrant").is_dir()  # relative to the data dir
    second = await _provider(tmp_path)
    # Before create_index: the dimension is read from the collection.
    with pytest.raises(BadRequestError, match="takes 8"):
        await second.query_vector(STORE, [1.0, 0.0], 1)
    await second.create_index(_record())
    hits = await second.query_vector(STORE, vectors[3].tolist(), 1)
    assert hits[0].chunk.chunk_id == "c3" and hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert [h.chunk.chunk_id for h in await second.query_keyword(STORE, "honey", 5)] == ["c2"]
    await second.shutdown()


async def test_wrong_dimension_and_bad_values(filled: tuple[QdrantVectorIO, np.ndarray]) -> None:
    impl, vectors = filled
    short = EmbeddedChunk(
        content="x", chunk_id="x", embedding=[1.0, 0.0], embedding_model="m", embedding_dimension=2
    )
    with pytest.raises(BadRequestError, match="2 dimensions; store 'vs_test' takes 8"):
        await impl.add_chunks(STORE, [short])
    with pytest.raises(BadRequestError, match="3 dimensions"):
        await impl.query_vector(STORE, [0.1, 0.2, 0.3], 3)
    bad = _chunk("nan", "x", vectors[0], "f", 0).model_copy(
        update={"embedding": [float("nan")] * 8}
    )
    with pytest.raises(BadRequestError, match="NaN"):
        await impl.add_chunks(STORE, [bad])
    with pytest.raises(NotFoundError, match="vs_missing"):
        await impl.add_chunks("vs_missing", [_chunk("y", "y", vectors[0], "f", 0)])


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.filterwarnings("ignore:Api key is used with an insecure connection")
@pytest.mark.parametrize("grpc", [False, True])
async def test_unreachable_server(tmp_path: Path, grpc: bool) -> None:
    secret = "sk-qdrant-secret-123"
    port = _closed_port()
    impl = await _provider(
        tmp_path,
        url=f"http://127.0.0.1:{port}",
        api_key=secret,
        prefer_grpc=grpc,
        grpc_port=port,
        timeout=5,
    )  # construction does not connect: a stack builds while the server is down
    with pytest.raises(ProviderUnavailableError) as err:
        await impl.create_index(_record())
    assert "Qdrant at http://127.0.0.1" in str(err.value) and secret not in str(err.value)
    assert err.value.status_code == 503
    await impl.shutdown()


def test_config_needs_exactly_one_location() -> None:
    with pytest.raises(ValidationError, match="neither is set"):
        QdrantVectorIOConfig.model_validate({"url": "", "path": ""})
    with pytest.raises(ValidationError, match="both are set"):
        QdrantVectorIOConfig.model_validate({"url": "http://localhost:6333", "path": "q"})
    with pytest.raises(ValidationError, match="collection_prefix"):
        QdrantVectorIOConfig.model_validate({"path": "q", "collection_prefix": "bad name/"})
    config = QdrantVectorIOConfig.model_validate({"url": "http://q:6333", "api_key": "k"})
    assert "k" not in repr(config.api_key) and config.path is None


async def test_missing_qdrant_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "qdrant_client", None)  # `import qdrant_client` now fails
    with pytest.raises(MissingDependencyError, match=r"pip install 'llama-workbench\[qdrant\]'"):
        await _provider(tmp_path)


FILES = ["keldmouth_lighthouse_history.md", "orrin_ridge_observatory_annual_report_2023.pdf"]


def _answers_found(stack: Stack, store_id: str) -> dict[str, list[str]]:
    """Per search mode, the ids of the questions on FILES whose answer is in the top 5."""
    asked = [q for q in questions() if q["file"] in FILES and q["kind"] == "keyword"]
    found: dict[str, list[str]] = {}
    for mode in ("vector", "keyword", "hybrid"):
        found[mode] = []
        for q in asked:
            page = stack.vector_io.search_vector_store(
                store_id, q["question"], search_mode=mode, max_num_results=5
            )
            if any(answered(q, r.filename, r.content[0].text) for r in page.data):
                found[mode].append(q["id"])
    return found


@pytest.mark.slow
def test_a_stack_searches_and_keeps_its_store(tmp_path: Path) -> None:
    vector_io = [
        {"provider_id": "qdrant", "provider_type": "remote::qdrant", "config": {"path": "q"}}
    ]
    config = rag_config(tmp_path, vector_io, vector_stores={"default_provider_id": "qdrant"})
    config["apis"] = ["inference", "files", "vector_io"]
    config["providers"].pop("tool_runtime", None)
    with Stack.from_config(config) as stack:
        store = stack.vector_io.create_vector_store(name="q")
        assert store.metadata["provider_id"] == "qdrant"
        for name in FILES:
            uploaded = stack.files.upload_file(str(CORPUS_DIR / name))
            result = stack.vector_io.attach_file(store.id, uploaded.id)
            assert result.status == "completed", result.last_error
        found = _answers_found(stack, store.id)
    asked = {q["id"] for q in questions() if q["file"] in FILES and q["kind"] == "keyword"}
    assert len(asked) >= 2
    for mode, ids in found.items():
        assert set(ids) == asked, f"{mode} search missed {asked - set(ids)}"
    with Stack.from_config(config) as again:
        assert [s.id for s in again.vector_io.list_vector_stores().data] == [store.id]
        assert again.vector_io.retrieve_vector_store(store.id).file_counts.completed == 2
        assert _answers_found(again, store.id) == found
