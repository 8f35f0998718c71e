"""Vector store fields of Llama Stack 0.7.3 that are honoured: file contents' include flags."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from llama_workbench import Stack
from tests.support.fields import scripted_model, scripted_stack_config
from tests.support.scripted_llm import ScriptedModelServer

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
