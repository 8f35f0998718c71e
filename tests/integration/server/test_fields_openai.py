"""Request fields of Llama Stack 0.7.3 honoured over HTTP, driven by the openai SDK: vector store
file contents' include flags, contextual chunking, file parts in chat, Responses' include/reasoning/
truncation. A real server on 127.0.0.1 over the scripted model server."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from llama_workbench import Stack
from llama_workbench.server.runner import BackgroundServer, start_server
from tests.support.fields import scripted_model, scripted_stack_config
from tests.support.scripted_llm import ScriptedModelServer
from tests.support.stub_server import free_port

TEXT = "Neural networks learn weights by gradient descent."


@pytest.fixture(scope="module")
def model() -> Iterator[ScriptedModelServer]:
    with scripted_model() as server:
        yield server


@pytest.fixture(scope="module")
def server(
    model: ScriptedModelServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BackgroundServer]:
    config = scripted_stack_config(model, tmp_path_factory.mktemp("fields-http"))
    with Stack.from_config(config) as stack, start_server(stack, port=free_port()) as running:
        yield running


@pytest.fixture
def client(server: BackgroundServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="none", max_retries=0)


def test_file_contents_include_flags(client: openai.OpenAI) -> None:
    store = client.vector_stores.create(name="flags")
    uploaded = client.files.create(file=("nn.txt", TEXT.encode()), purpose="assistants")
    attached = client.vector_stores.files.create(vector_store_id=store.id, file_id=uploaded.id)
    assert attached.status == "completed"
    with_flags = client.vector_stores.files.content(
        vector_store_id=store.id,
        file_id=uploaded.id,
        extra_query={"include_embeddings": True, "include_metadata": True},
    )
    without = client.vector_stores.files.content(vector_store_id=store.id, file_id=uploaded.id)
    (full,) = with_flags.data
    (plain,) = without.data
    assert full.text == plain.text == TEXT
    dumped = full.model_dump()
    assert len(dumped["embedding"]) == 8
    assert dumped["chunk_metadata"]["chunk_id"] == f"{uploaded.id}-0"
    assert dumped["metadata"]["filename"] == "nn.txt"
    bare = plain.model_dump()
    assert bare.get("embedding") is None and bare.get("chunk_metadata") is None
    assert bare.get("metadata") is None
