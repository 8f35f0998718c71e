"""The VectorIOProvider contract (VectorIOContract) and the whole-stack RAG check, for every provider."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from llama_workbench import Stack
from llama_workbench.apis.vector_io.api import VectorIOProvider
from llama_workbench.apis.vector_io.models import (
    ChunkMetadata,
    EmbeddedChunk,
    ScoredChunk,
    VectorStoreObject,
    VectorStoreRecord,
)
from llama_workbench.core.errors import (
    BadRequestError,
    ConflictError,
    NotFoundError,
    ProviderUnavailableError,
)
from tests.support.rag import CORPUS_DIR, answered, questions, rag_config

DIM = 8
STORE = "vs_test"
TEXTS = [
    "The lighthouse keepers climbed 148 steps to the lamp.",
    "Herring fishers founded the town at the river mouth.",
    "Bees make honey from the nectar of heather flowers.",
    'The keepers\' logbook: "lamp lit" at dusk, every night.',
]
# Opens a provider over the test's data (each call a new instance); keywords override config.
Opener = Callable[..., Awaitable[Any]]


def record(store_id: str = STORE, dimension: int = DIM) -> VectorStoreRecord:
    store = VectorStoreObject(id=store_id, created_at=int(time.time()))
    return VectorStoreRecord(
        identifier=store_id, provider_id="p", embedding_model="m",
        embedding_dimension=dimension, object=store,
    )  # fmt: skip


def unit_vectors(n: int, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(n, DIM))
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def make_chunk(
    chunk_id: str, text: str, vector: np.ndarray, file_id: str, index: int
) -> EmbeddedChunk:
    return EmbeddedChunk(
        content=text, chunk_id=chunk_id, metadata={"source": file_id, "n": index},
        chunk_metadata=ChunkMetadata(file_id=file_id, chunk_index=index),
        embedding=vector.tolist(), embedding_model="m", embedding_dimension=len(vector),
    )  # fmt: skip


def corpus(vectors: np.ndarray) -> list[EmbeddedChunk]:
    """c1, c0 of file f1 (out of order), then c2, c3 of file f2."""
    return [
        make_chunk("c1", TEXTS[1], vectors[1], "f1", 1),
        make_chunk("c0", TEXTS[0], vectors[0], "f1", 0),
        make_chunk("c2", TEXTS[2], vectors[2], "f2", 0),
        make_chunk("c3", TEXTS[3], vectors[3], "f2", 1),
    ]


def ids(items: Sequence[ScoredChunk | EmbeddedChunk]) -> list[str]:
    return [i.chunk.chunk_id if isinstance(i, ScoredChunk) else i.chunk_id for i in items]


def free_port() -> int:
    """A local port nothing listens on (for now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class VectorIOContract:
    """What every vector_io provider does; a subclass provides the `open_provider` fixture."""

    # pgvector's english text search drops stop words ("the" matches nothing).
    keeps_stop_words = True
    # How the second instance differs, in the tests that reopen the stored data.
    reopen_config: dict[str, Any] = {}

    @pytest.fixture
    async def filled(self, open_provider: Opener) -> AsyncIterator[tuple[Any, np.ndarray]]:
        """A provider with the corpus in store STORE, and the corpus's vectors."""
        impl = await open_provider()
        await impl.create_index(record())
        await impl.create_index(record())  # idempotent: called at every start
        vectors = unit_vectors(4)
        await impl.add_chunks(STORE, corpus(vectors))
        try:
            yield impl, vectors
        finally:
            await impl.shutdown()

    async def test_satisfies_the_protocol(self, open_provider: Opener) -> None:
        impl = await open_provider()
        assert isinstance(impl, VectorIOProvider)
        await impl.shutdown()

    async def test_vector_query_returns_whole_chunks(self, filled: Any) -> None:
        impl, vectors = filled
        hits = await impl.query_vector(STORE, vectors[2].tolist(), 3)
        assert len(hits) == 3 and hits[0].chunk.chunk_id == "c2"
        assert hits[0].score == pytest.approx(1.0, abs=1e-5)
        assert hits[0].score >= hits[1].score >= hits[2].score
        second = int(hits[1].chunk.chunk_id.removeprefix("c"))  # the score is the cosine
        assert hits[1].score == pytest.approx(float(vectors[2] @ vectors[second]), abs=1e-5)
        chunk = hits[0].chunk
        assert chunk.content == TEXTS[2] and chunk.metadata == {"source": "f2", "n": 0}
        assert chunk.chunk_metadata.file_id == "f2" and chunk.embedding_model == "m"
        assert chunk.embedding == pytest.approx(vectors[2].tolist(), abs=1e-6)
        assert len(await impl.query_vector(STORE, vectors[2].tolist(), 2)) == 2
        assert len(await impl.query_vector(STORE, vectors[0].tolist(), 10)) == 4
        assert len(await impl.query_vector(STORE, vectors[0].tolist(), 100)) == 4
        assert await impl.query_vector(STORE, vectors[0].tolist(), 0) == []

    async def test_keyword_query(self, filled: Any) -> None:
        impl, _ = filled
        hits = await impl.query_keyword(STORE, "Lighthouse KEEPERS?", 10)
        assert ids(hits) == ["c0", "c3"]  # c0 has both words
        assert hits[0].score > hits[1].score > 0
        first = hits[0].chunk
        assert len(first.embedding) == DIM and first.content == TEXTS[0]  # not lowercased
        assert first.metadata["source"] == "f1"
        assert ids(await impl.query_keyword(STORE, "honey zeppelin", 10)) == ["c2"]
        assert len(await impl.query_keyword(STORE, "the town honey lamp", 2)) == 2
        if self.keeps_stop_words:
            assert len(await impl.query_keyword(STORE, "the", 1)) == 1
        assert await impl.query_keyword(STORE, "zeppelin", 10) == []
        assert await impl.query_keyword(STORE, "?!", 10) == []
        # Whole words only: "ight" is inside "lighthouse" and "night".
        assert await impl.query_keyword(STORE, "ight", 10) == []
        assert await impl.query_keyword(STORE, '"lamp" OR 1=1; --\'', 10) != []
        assert await impl.query_keyword(STORE, '\' OR "" --', 10) == []
        assert await impl.query_keyword(STORE, '" OR 1=1; DROP TABLE chunks; --', 10) == []

    @pytest.mark.parametrize(
        "query",
        [
            "'); DROP TABLE chunks; --",
            "honey' OR '1'='1",
            'he said "honey" & | ! ( ) : * <-> \\ $1 %s',
            "   ...   ",
            "",
        ],
    )
    async def test_keyword_query_is_safe_for_any_input(self, filled: Any, query: str) -> None:
        impl, _ = filled
        hits = await impl.query_keyword(STORE, query, 5)
        assert ids(hits) == (["c2"] if "honey" in query else [])
        assert len(await impl.query_vector(STORE, [1.0] + [0.0] * (DIM - 1), 10)) == 4

    async def test_upsert_by_chunk_id(self, filled: Any) -> None:
        impl, _ = filled
        other = unit_vectors(1, seed=5)[0]
        await impl.add_chunks(STORE, [make_chunk("o0", "Other file text.", other, "f3", 0)])
        new = unit_vectors(1, seed=9)[0]
        text = "The lamp now runs on electricity; comets pass overhead."
        await impl.add_chunks(STORE, [make_chunk("c0", text, new, "f1", 0)])
        hits = await impl.query_vector(STORE, new.tolist(), 10)
        assert len(hits) == 5 and hits[0].chunk.chunk_id == "c0"  # replaced, not added
        assert hits[0].chunk.content.startswith("The lamp now")
        assert ids(await impl.file_chunks(STORE, "f1")) == ["c0", "c1"]  # still first
        assert await impl.query_keyword(STORE, "lighthouse", 10) == []
        assert ids(await impl.query_keyword(STORE, "comets", 5)) == ["c0"]
        await impl.add_chunks(STORE, [])

    async def test_a_repeated_id_in_one_batch_keeps_the_last(self, filled: Any) -> None:
        impl, _ = filled
        new = unit_vectors(1, seed=9)[0]
        stale = make_chunk("c0", "A version of c0 that is replaced at once.", new, "f1", 0)
        replaced = make_chunk("c0", "The lamp now runs on electricity.", new, "f1", 0)
        await impl.add_chunks(STORE, [stale, replaced])
        hits = await impl.query_vector(STORE, new.tolist(), 10)
        assert len(hits) == 4 and hits[0].chunk.chunk_id == "c0"
        assert hits[0].chunk.content.startswith("The lamp now")

    async def test_deletes_and_file_order(self, filled: Any) -> None:
        impl, vectors = filled
        assert ids(await impl.file_chunks(STORE, "f1")) == ["c0", "c1"]
        in_f2 = await impl.file_chunks(STORE, "f2")
        assert ids(in_f2) == ["c2", "c3"]
        assert in_f2[1].embedding == pytest.approx(vectors[3].tolist(), abs=1e-6)
        assert await impl.file_chunks(STORE, "nope") == []
        await impl.delete_chunks(STORE, ["c3", "never-added"])
        await impl.delete_chunks(STORE, [])
        assert ids(await impl.file_chunks(STORE, "f2")) == ["c2"]
        await impl.delete_file_chunks(STORE, "f1")
        assert await impl.file_chunks(STORE, "f1") == []
        assert ids(await impl.query_vector(STORE, vectors[0].tolist(), 10)) == ["c2"]
        assert await impl.query_keyword(STORE, "lighthouse herring", 10) == []
        await impl.delete_index(STORE)
        with pytest.raises(NotFoundError, match=STORE):
            await impl.query_vector(STORE, vectors[0].tolist(), 1)
        await impl.create_index(record())
        assert await impl.query_vector(STORE, vectors[0].tolist(), 5) == []

    async def test_stores_are_separate_and_deletable(self, filled: Any) -> None:
        impl, _ = filled
        await impl.create_index(record("vs_2"))
        bees = make_chunk("z0", "Bees again.", unit_vectors(1, seed=5)[0], "fz", 0)
        await impl.add_chunks("vs_2", [bees])
        assert ids(await impl.query_keyword("vs_2", "bees", 5)) == ["z0"]
        await impl.delete_index("vs_2")
        assert ids(await impl.query_keyword(STORE, "bees", 5)) == ["c2"]

    async def test_create_index_is_idempotent_and_delete_index(self, open_provider: Opener) -> None:
        impl = await open_provider()
        await impl.create_index(record())
        await impl.add_chunks(STORE, corpus(unit_vectors(4)))
        await impl.create_index(record())  # as at every stack start: the data stays
        assert len(await impl.file_chunks(STORE, "f1")) == 2
        with pytest.raises(ConflictError, match="8 dimensions"):
            await impl.create_index(record(dimension=4))
        await impl.create_index(record("vs_other"))
        await impl.delete_index(STORE)
        await impl.delete_index(STORE)  # already gone
        with pytest.raises(NotFoundError):
            await impl.query_vector(STORE, unit_vectors(1)[0].tolist(), 3)
        with pytest.raises(NotFoundError):
            await impl.file_chunks(STORE, "f1")
        assert await impl.file_chunks("vs_other", "f1") == []
        await impl.shutdown()
        with pytest.raises(ProviderUnavailableError, match="shut down"):
            await impl.file_chunks("vs_other", "f1")

    async def test_data_persists_across_instances(self, open_provider: Opener) -> None:
        vectors = unit_vectors(4)
        first = await open_provider()
        await first.create_index(record())
        await first.add_chunks(STORE, corpus(vectors))
        await first.delete_chunks(STORE, ["c1"])
        await first.shutdown()
        second = await open_provider(**self.reopen_config)
        try:
            await second.create_index(record())  # as at every start: it must keep the data
            hits = await second.query_vector(STORE, vectors[3].tolist(), 10)
            assert hits[0].chunk.chunk_id == "c3" and len(hits) == 3
            assert hits[0].score == pytest.approx(1.0, abs=1e-5)
            assert ids(await second.query_vector(STORE, vectors[2].tolist(), 1)) == ["c2"]
            assert ids(await second.query_keyword(STORE, "honey", 5)) == ["c2"]
            assert ids(await second.query_keyword(STORE, "bees", 5)) == ["c2"]
        finally:
            await second.shutdown()

    async def test_a_new_instance_knows_stores_before_create_index(
        self, open_provider: Opener
    ) -> None:
        vectors = unit_vectors(4)
        first = await open_provider()
        await first.create_index(record())
        await first.add_chunks(STORE, corpus(vectors))
        await first.shutdown()
        second = await open_provider(**self.reopen_config)
        try:
            # The dimension is read from what the first one stored.
            with pytest.raises(BadRequestError, match="takes 8"):
                await second.query_vector(STORE, [1.0, 0.0], 1)
            assert len(await second.query_vector(STORE, vectors[2].tolist(), 10)) == 4
        finally:
            await second.shutdown()

    async def test_wrong_dimension_is_refused(self, filled: Any) -> None:
        impl, vectors = filled
        short = make_chunk("x", "x", np.array([1.0, 0.0]), "f", 0)
        with pytest.raises(BadRequestError, match="2 dimensions; store 'vs_test' takes 8"):
            await impl.add_chunks(STORE, [short])
        long = make_chunk("x", "x", np.full(DIM + 1, 0.1), "f", 0)
        with pytest.raises(BadRequestError, match="9 dimensions"):
            await impl.add_chunks(STORE, [long])
        with pytest.raises(BadRequestError, match="3 dimensions; store 'vs_test' takes 8"):
            await impl.query_vector(STORE, [0.1, 0.2, 0.3], 3)
        with pytest.raises(NotFoundError, match="vs_missing"):
            await impl.add_chunks("vs_missing", [make_chunk("y", "y", vectors[0], "f", 0)])
        four = make_chunk("bad", "x", vectors[0][:4], "f3", 1)
        with pytest.raises(BadRequestError, match=r"4 dimensions.*takes 8"):
            await impl.add_chunks(STORE, [make_chunk("ok", "fine", vectors[0], "f3", 0), four])
        assert await impl.file_chunks(STORE, "f3") == []  # all or nothing

    async def test_nan_values_are_refused(self, filled: Any) -> None:
        impl, vectors = filled
        nan = make_chunk("nan", "x", vectors[0], "f", 0).model_copy(
            update={"embedding": [float("nan")] * DIM}
        )
        with pytest.raises(BadRequestError, match="NaN"):
            await impl.add_chunks(STORE, [nan])
        with pytest.raises(BadRequestError, match="NaN"):
            await impl.query_vector(STORE, [float("nan")] * DIM, 3)


# -- a whole stack: the corpus files indexed and searched through one provider

STACK_FILES = ["keldmouth_lighthouse_history.md", "orrin_ridge_observatory_annual_report_2023.pdf"]


def stack_config(
    data_dir: Path, provider_id: str, provider_type: str, config: dict[str, Any]
) -> dict[str, Any]:
    """Embeddings, files, and one vector_io provider, the default for new stores."""
    vector_io = [{"provider_id": provider_id, "provider_type": provider_type, "config": config}]
    stack = rag_config(data_dir, vector_io, vector_stores={"default_provider_id": provider_id})
    stack["apis"] = ["inference", "files", "vector_io"]
    stack["providers"].pop("tool_runtime", None)
    return stack


def _answers_found(stack: Stack, store_id: str) -> dict[str, list[str]]:
    """Per search mode, the ids of the questions on STACK_FILES whose answer is in the top 5."""
    asked = [q for q in questions() if q["file"] in STACK_FILES and q["kind"] == "keyword"]
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


def check_stack_searches_and_keeps_its_store(config: dict[str, Any], provider_id: str) -> None:
    """Every search mode answers the corpus questions; a restarted stack finds the same."""
    with Stack.from_config(config) as stack:
        store = stack.vector_io.create_vector_store(name=provider_id)
        assert store.metadata["provider_id"] == provider_id
        for name in STACK_FILES:
            uploaded = stack.files.upload_file(str(CORPUS_DIR / name))
            result = stack.vector_io.attach_file(store.id, uploaded.id)
            assert result.status == "completed", result.last_error
        found = _answers_found(stack, store.id)
    asked = {q["id"] for q in questions() if q["file"] in STACK_FILES and q["kind"] == "keyword"}
    assert len(asked) >= 2
    for mode, hits in found.items():
        assert set(hits) == asked, f"{mode} search missed {asked - set(hits)}"
    with Stack.from_config(config) as again:
        assert [s.id for s in again.vector_io.list_vector_stores().data] == [store.id]
        assert again.vector_io.retrieve_vector_store(store.id).file_counts.completed == 2
        assert _answers_found(again, store.id) == found
