"""Vector store fields of Llama Stack 0.7.3 that are honoured: file contents' include flags,
contextual chunking (the stack's LLM, here the scripted model server, situates each chunk)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from llama_workbench import Stack
from llama_workbench.core.errors import BadRequestError, UnprocessableError
from tests.support.fields import CHAT, ML_OVERVIEW, scripted_model, scripted_stack_config
from tests.support.scripted_llm import ScriptedModelServer, Turn, say

TEXT = "Neural networks learn weights by gradient descent. " * 3


@pytest.fixture(scope="module")
def model() -> Iterator[ScriptedModelServer]:
    with scripted_model() as server:
        yield server


@pytest.fixture(scope="module")
def stack(model: ScriptedModelServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    config = scripted_stack_config(model, tmp_path_factory.mktemp("fields"))
    with Stack.from_config(config) as built:
        yield built


def test_file_contents_include_embeddings_and_metadata_only_when_asked(stack: Stack) -> None:
    store = stack.vector_io.create_vector_store(name="flags")
    uploaded = stack.files.upload_file(TEXT.encode(), "assistants", "nn.txt")
    assert stack.vector_io.attach_file(store.id, uploaded.id).status == "completed"

    (plain,) = stack.vector_io.retrieve_vector_store_file_contents(store.id, uploaded.id).data
    assert plain.text == TEXT.strip() or TEXT.strip() in plain.text
    assert plain.embedding is None and plain.chunk_metadata is None and plain.metadata is None

    (full,) = stack.vector_io.retrieve_vector_store_file_contents(
        store.id, uploaded.id, include_embeddings=True, include_metadata=True
    ).data
    assert full.embedding is not None and len(full.embedding) == 8
    assert full.chunk_metadata is not None and full.chunk_metadata.chunk_id == f"{uploaded.id}-0"
    assert full.metadata is not None and full.metadata["file_id"] == uploaded.id

    (only_meta,) = stack.vector_io.retrieve_vector_store_file_contents(
        store.id, uploaded.id, include_metadata=True
    ).data
    assert only_meta.embedding is None and only_meta.chunk_metadata is not None


def situate(body: dict[str, Any]) -> Turn:
    """The scripted LLM's context line: names the chunk's first words (deterministic)."""
    # As 0.7.3 splits its prompt: up to "<chunk>\n" in the system message, the chunk after.
    chunk = body["messages"][-1]["content"].split("\n</chunk>", 1)[0]
    return say(f"Situated: {' '.join(chunk.split()[:3])}.")


def contextual(**config: Any) -> dict[str, Any]:
    sizes = {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 60}
    return {"type": "contextual", "contextual": {**sizes, **config}}


def contents(stack: Stack, store_id: str, file_id: str) -> list[str]:
    data = stack.vector_io.retrieve_vector_store_file_contents(store_id, file_id).data
    return [c.text for c in data]


def attach(stack: Stack, strategy: dict[str, Any]) -> tuple[str, Any]:
    store = stack.vector_io.create_vector_store(name=strategy["type"])
    uploaded = stack.files.upload_file(ML_OVERVIEW.encode(), "assistants", "ml.txt")
    return store.id, stack.vector_io.attach_file(store.id, uploaded.id, chunking_strategy=strategy)


def test_contextual_chunks_have_the_llm_context_prepended(
    stack: Stack, model: ScriptedModelServer
) -> None:
    model.responder = situate
    try:
        before = len(model.requests)
        store_id, file = attach(stack, contextual(model_id=CHAT))
        static_id, static = attach(
            stack,
            {
                "type": "static",
                "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 50},
            },
        )
    finally:
        model.responder = None
    assert file.status == "completed", file.last_error
    assert file.chunking_strategy.type == "contextual"
    assert file.chunking_strategy.contextual.model_id == CHAT
    texts = contents(stack, store_id, file.id)
    assert len(texts) > 2
    calls = [r for r in model.requests[before:] if "messages" in r]
    assert len(calls) == len(texts)  # one LLM call per chunk
    for text in texts:
        context, chunk = text.split("\n\n", 1)
        assert context == f"Situated: {' '.join(chunk.split()[:3])}."
        assert chunk in ML_OVERVIEW.replace("\n\n", " ") or chunk.split()[0] in ML_OVERVIEW
    system, user = calls[0]["messages"]
    assert system["role"] == "system" and "<document>\n# Technical Overview" in system["content"]
    assert system["content"].endswith("<chunk>") and "{{" not in system["content"]
    assert user["content"].split("\n</chunk>")[0] in ML_OVERVIEW
    assert calls[0]["temperature"] == 0.0 and calls[0]["max_tokens"] == 256
    # Chunk ids stay <file_id>-<index> (resuming after a restart depends on it).
    full = stack.vector_io.retrieve_vector_store_file_contents(
        store_id, file.id, include_metadata=True
    ).data
    assert [c.chunk_metadata.chunk_id for c in full] == [f"{file.id}-{i}" for i in range(len(full))]
    # Searchable by the context's words too.
    hits = stack.vector_io.search_vector_store(store_id, "Situated", search_mode="keyword")
    assert hits.data and hits.data[0].content[0].text.startswith("Situated: ")
    assert static.status == "completed"
    assert all(not t.startswith("Situated") for t in contents(stack, static_id, static.id))


def test_contextual_without_a_model_is_a_400(stack: Stack) -> None:
    store = stack.vector_io.create_vector_store(name="no-model")
    uploaded = stack.files.upload_file(b"Some text.", "assistants", "t.txt")
    with pytest.raises(BadRequestError, match="model_id is required"):
        stack.vector_io.attach_file(store.id, uploaded.id, chunking_strategy=contextual())
    with pytest.raises(BadRequestError, match="model_id is required"):
        stack.vector_io.create_file_batch(store.id, [uploaded.id], chunking_strategy=contextual())


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"chunk_overlap_tokens": 100}, "less than max_chunk_size_tokens"),
        ({"context_prompt": "{{CHUNK_CONTENT}} only"}, "WHOLE_DOCUMENT"),
        ({"context_prompt": "{{CHUNK_CONTENT}} {{WHOLE_DOCUMENT}}"}, "before"),
        ({"max_chunk_size_tokens": 50}, "greater than or equal to 100"),
    ],
)
def test_invalid_contextual_configs_are_400s(
    stack: Stack, config: dict[str, Any], message: str
) -> None:
    store = stack.vector_io.create_vector_store(name="bad")
    uploaded = stack.files.upload_file(b"Some text.", "assistants", "t.txt")
    with pytest.raises(UnprocessableError, match=message) as info:
        stack.vector_io.attach_file(
            store.id, uploaded.id, chunking_strategy=contextual(model_id=CHAT, **config)
        )
    assert info.value.status_code == 400


def test_a_model_that_fails_every_chunk_fails_the_file(stack: Stack) -> None:
    store_id, file = attach(stack, contextual(model_id="s/no-such-model"))
    assert file.status == "failed"
    assert file.last_error is not None and "contextualize" in file.last_error.message
    assert stack.vector_io.retrieve_vector_store_file_contents(store_id, file.id).data == []


def test_the_configs_default_model_is_used_without_model_id(
    model: ScriptedModelServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    params = {"contextual_retrieval_params": {"model": {"provider_id": "s", "model_id": "m"}}}
    config = scripted_stack_config(
        model, tmp_path_factory.mktemp("ctx-default"), vector_stores=params
    )
    model.responder = situate
    try:
        with Stack.from_config(config) as stack:
            store_id, file = attach(stack, contextual())
            assert file.status == "completed", file.last_error
            texts = contents(stack, store_id, file.id)
    finally:
        model.responder = None
    assert texts and all(t.startswith("Situated: ") for t in texts)


def test_query_params_take_llama_stacks_flattened_ranker(stack: Stack) -> None:
    store = stack.vector_io.create_vector_store(name="query")
    for name, text in [("a.txt", "alpha beta gamma"), ("b.txt", "delta epsilon zeta")]:
        uploaded = stack.files.upload_file(text.encode(), "assistants", name)
        assert stack.vector_io.attach_file(store.id, uploaded.id).status == "completed"
    query = "alpha beta gamma"
    vector = stack.vector_io.query_chunks(store.id, query, {"mode": "vector"})
    weighted = stack.vector_io.query_chunks(
        store.id,
        query,
        {"mode": "hybrid", "reranker_type": "weighted", "reranker_params": {"alpha": 1.0}},
    )
    assert [c.chunk_id for c in weighted.chunks] == [c.chunk_id for c in vector.chunks]
    assert weighted.scores[0] == pytest.approx(1.0)  # alpha 1: the min-max scaled vector score
    capped = stack.vector_io.query_chunks(store.id, query, {"max_num_results": 1})
    assert len(capped.chunks) == 1
    same = stack.vector_io.query_chunks(store.id, query, {"embedding_dimensions": 8})
    assert same.chunks
    for params, named in [
        ({"neural_weights": {"vector": 0.5, "neural": 0.5}}, "neural"),
        ({"embedding_dimensions": 4}, "embedding_dimensions"),
        ({"top_k": 3}, "unknown keys top_k"),
        ({"reranker_type": "weighted", "reranker_params": {"alpha": 3}}, "alpha"),
    ]:
        with pytest.raises(BadRequestError, match=named):
            stack.vector_io.query_chunks(store.id, query, params)
