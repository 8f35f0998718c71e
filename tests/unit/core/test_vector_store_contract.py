"""Vector stores as Llama Stack 0.7.3 answers: resolved chunking, failed unknown files, query
filters, defaults for nulls and `last_active_at` (real MiniLM embeddings, faiss)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from llama_workbench import BadRequestError, Stack
from llama_workbench.apis.vector_io.models import (
    ChunkingStrategyAuto,
    ChunkingStrategyStatic,
    ChunkingStrategyStaticConfig,
)
from llama_workbench.core.vector_stores.ingest import TextLimits, resolved_strategy
from llama_workbench.providers.utils.chunking import word_token_spans
from tests.support.rag import rag_config
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow


def _chunk(chunk_id: str, content: str, topic: str, year: int, featured: bool) -> dict[str, Any]:
    metadata = {"topic": topic, "year": year, "featured": featured}
    return {"chunk_id": chunk_id, "content": content, "metadata": metadata}


CHUNKS = [
    _chunk("py", "Python reads like prose.", "programming", 2020, True),
    _chunk("ml", "Machine learning learns from data.", "ai", 2021, True),
    _chunk("nn", "Neural networks echo brains.", "ai", 2022, False),
    _chunk("js", "JavaScript runs in browsers.", "programming", 2018, False),
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with Stack.from_config(rag_config(tmp_path_factory.mktemp("vs-contract"))) as s:
        yield s


@pytest.fixture(scope="module")
def chunk_store(stack: Stack) -> str:
    store = stack.vector_io.create_vector_store(name="filters")
    stack.vector_io.insert_chunks(store.id, CHUNKS)
    return store.id


def test_auto_chunking_is_reported_as_the_static_sizes_used() -> None:
    words = TextLimits(word_token_spans, "words", None)
    # No input limit: Llama Stack 0.7.3's defaults.
    assert resolved_strategy(ChunkingStrategyAuto(), words).static.model_dump() == {
        "max_chunk_size_tokens": 800,
        "chunk_overlap_tokens": 400,
    }
    # A model that reads 256 tokens (MiniLM) gets chunks it reads whole.
    small = TextLimits(word_token_spans, "minilm", 256)
    assert resolved_strategy(ChunkingStrategyAuto(), small).static.model_dump() == {
        "max_chunk_size_tokens": 254,
        "chunk_overlap_tokens": 63,
    }
    asked = ChunkingStrategyStatic(static=ChunkingStrategyStaticConfig(max_chunk_size_tokens=300))
    assert resolved_strategy(asked, small) is asked


def test_attached_files_report_static_and_unknown_ids_fail(stack: Stack) -> None:
    text = stack.files.upload_file(b"Otters sleep in kelp forests.", filename="otters.txt")
    store = stack.vector_io.create_vector_store(
        name="attach", file_ids=[text.id, "invalid_file_id"]
    )
    assert (store.file_counts.completed, store.file_counts.failed, store.file_counts.total) == (
        1,
        1,
        2,
    )
    listed = {f.id: f for f in stack.vector_io.list_vector_store_files(store.id).data}
    done = listed[text.id]
    assert done.status == "completed" and isinstance(done.chunking_strategy, ChunkingStrategyStatic)
    assert done.chunking_strategy.static.max_chunk_size_tokens == 254
    failed = listed["invalid_file_id"]
    assert failed.status == "failed" and failed.last_error is not None
    assert failed.last_error.code == "invalid_file"
    assert "File 'invalid_file_id' not found" in failed.last_error.message
    assert [
        f.id for f in stack.vector_io.list_vector_store_files(store.id, filter="failed").data
    ] == ["invalid_file_id"]
    assert stack.vector_io.delete_vector_store_file(store.id, "invalid_file_id").deleted
    after = stack.vector_io.retrieve_vector_store(store.id).file_counts
    assert (after.failed, after.total) == (0, 1)


def test_a_batch_of_unknown_ids_fails_file_by_file(stack: Stack) -> None:
    store = stack.vector_io.create_vector_store(name="batch")
    batch = stack.vector_io.create_file_batch(store.id, ["invalid_1", "invalid_2"])
    assert batch.file_counts.total == 2 and batch.file_counts.failed == 2
    ended = wait_for(
        lambda: stack.vector_io.retrieve_file_batch(store.id, batch.id),
        lambda b: b.status != "in_progress",
    )
    assert ended.status == "failed"
    files = stack.vector_io.list_files_in_file_batch(store.id, batch.id).data
    assert {f.status for f in files} == {"failed"}


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"type": "eq", "key": "topic", "value": "ai"}, {"ml", "nn"}),
        ({"type": "ne", "key": "topic", "value": "ai"}, {"py", "js"}),
        ({"type": "gte", "key": "year", "value": 2021}, {"ml", "nn"}),
        ({"type": "in", "key": "year", "value": [2018, 2022]}, {"js", "nn"}),
        (
            {
                "type": "and",
                "filters": [
                    {"type": "eq", "key": "topic", "value": "ai"},
                    {"type": "eq", "key": "featured", "value": True},
                ],
            },
            {"ml"},
        ),
        (
            {
                "type": "or",
                "filters": [
                    {
                        "type": "and",
                        "filters": [
                            {"type": "eq", "key": "topic", "value": "ai"},
                            {"type": "gte", "key": "year", "value": 2022},
                        ],
                    },
                    {"type": "eq", "key": "topic", "value": "programming"},
                ],
            },
            {"nn", "py", "js"},
        ),
        ({"type": "eq", "key": "topic", "value": "nonexistent"}, set()),
        (None, {"py", "ml", "nn", "js"}),
    ],
)
def test_query_chunks_honours_filters(
    stack: Stack, chunk_store: str, filters: dict[str, Any] | None, expected: set[str]
) -> None:
    for mode in ("vector", "keyword", "hybrid"):
        found = stack.vector_io.query_chunks(
            chunk_store, "technology", {"filters": filters, "mode": mode, "max_chunks": 10}
        )
        if mode == "vector":  # keyword search finds only the chunks that hold the words
            assert {c.chunk_id for c in found.chunks} == expected
        assert {c.chunk_id for c in found.chunks} <= expected


def test_bad_query_params_are_clear(stack: Stack, chunk_store: str) -> None:
    with pytest.raises(BadRequestError, match=r"params\.filters\.type 'like'"):
        stack.vector_io.query_chunks(chunk_store, "x", {"filters": {"type": "like", "key": "a"}})
    with pytest.raises(BadRequestError, match=r"params\.max_chunks"):
        stack.vector_io.query_chunks(chunk_store, "x", {"max_chunks": 0})
    with pytest.raises(BadRequestError, match="alpha"):
        stack.vector_io.query_chunks(chunk_store, "x", {"ranker": {"type": "weighted", "alpha": 2}})


def test_null_max_num_results_means_the_default(stack: Stack, chunk_store: str) -> None:
    page = stack.vector_io.search_vector_store(chunk_store, "data", max_num_results=None)
    assert len(page.data) == len(CHUNKS)  # under the default of 10


def test_last_active_at_follows_use(stack: Stack, chunk_store: str) -> None:
    def active() -> int:
        value = stack.vector_io.retrieve_vector_store(chunk_store).last_active_at
        assert value is not None
        return value

    uses = [
        lambda: stack.vector_io.search_vector_store(chunk_store, "data"),
        lambda: stack.vector_io.query_chunks(chunk_store, "data"),
        lambda: stack.vector_io.update_vector_store(chunk_store, name="renamed"),
    ]
    for use in uses:
        before = active()
        time.sleep(1.05)  # the field counts seconds
        use()
        assert active() > before
