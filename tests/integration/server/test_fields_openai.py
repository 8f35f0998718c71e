"""Request fields of Llama Stack 0.7.3 honoured over HTTP, driven by the openai SDK: vector store
file contents' include flags, contextual chunking, file parts in chat, Responses' include/reasoning/
truncation. A real server on 127.0.0.1 over the scripted model server."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from llama_workbench import Stack
from llama_workbench.server.runner import BackgroundServer, start_server
from tests.support.fields import CHAT, ML_OVERVIEW, scripted_model, scripted_stack_config
from tests.support.scripted_llm import ScriptedModelServer, Turn, say
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


def situate(body: dict[str, Any]) -> Turn:
    chunk = body["messages"][-1]["content"].split("\n</chunk>", 1)[0]
    return say(f"From the ML overview: {chunk.split()[0]}")


def test_contextual_chunking_as_llama_stack_does(
    client: openai.OpenAI, model: ScriptedModelServer
) -> None:
    sizes = {"max_chunk_size_tokens": 200, "chunk_overlap_tokens": 50}
    static_store = client.vector_stores.create(name="static")
    ctx_store = client.vector_stores.create(name="contextual")
    ids = []
    for store, strategy in (
        (static_store, {"type": "static", "static": sizes}),
        (ctx_store, {"type": "contextual", "contextual": {**sizes, "model_id": CHAT}}),
    ):
        uploaded = client.files.create(file=("ml.txt", ML_OVERVIEW.encode()), purpose="assistants")
        model.responder = situate
        try:
            attached = client.vector_stores.files.create(
                vector_store_id=store.id,
                file_id=uploaded.id,
                chunking_strategy=strategy,  # type: ignore[arg-type]
            )
        finally:
            model.responder = None
        assert attached.status == "completed", attached.last_error
        assert attached.chunking_strategy is not None
        assert attached.chunking_strategy.type == strategy["type"]
        ids.append(uploaded.id)
    static = client.vector_stores.files.content(vector_store_id=static_store.id, file_id=ids[0])
    ctx = client.vector_stores.files.content(vector_store_id=ctx_store.id, file_id=ids[1])
    assert len(static.data) == len(ctx.data) > 1
    for s, c in zip(static.data, ctx.data, strict=True):
        assert s.text and c.text == f"From the ML overview: {s.text.split()[0]}\n\n{s.text}"
    found = client.vector_stores.search(
        vector_store_id=ctx_store.id, query="How are weights updated?", max_num_results=3
    )
    assert found.data and all(r.content[0].text for r in found.data)


def test_contextual_chunking_without_a_model_is_a_400(client: openai.OpenAI) -> None:
    store = client.vector_stores.create(name="no-model")
    uploaded = client.files.create(file=("t.txt", b"Some text."), purpose="assistants")
    with pytest.raises(openai.BadRequestError, match="model_id"):
        client.vector_stores.files.create(
            vector_store_id=store.id,
            file_id=uploaded.id,
            chunking_strategy={  # type: ignore[arg-type]
                "type": "contextual",
                "contextual": {"max_chunk_size_tokens": 200, "chunk_overlap_tokens": 50},
            },
        )
    with pytest.raises(openai.BadRequestError, match="chunk_overlap_tokens"):
        client.vector_stores.files.create(
            vector_store_id=store.id,
            file_id=uploaded.id,
            chunking_strategy={  # type: ignore[arg-type]
                "type": "contextual",
                "contextual": {
                    "model_id": CHAT,
                    "max_chunk_size_tokens": 200,
                    "chunk_overlap_tokens": 200,
                },
            },
        )


def test_file_parts_in_chat_completions(client: openai.OpenAI, model: ScriptedModelServer) -> None:
    uploaded = client.files.create(
        file=("gate.txt", b"The gate code is 4417."), purpose="assistants"
    )
    answer = client.chat.completions.create(
        model=CHAT,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is the gate code?"},
                    {"type": "file", "file": {"file_id": uploaded.id}},
                ],
            }
        ],
    )
    assert "4417" in (answer.choices[0].message.content or "")
    sent = model.requests[-1]["messages"][-1]["content"]
    assert sent[1] == {
        "type": "text",
        "text": '<file name="gate.txt">\nThe gate code is 4417.\n</file>',
    }
    data = base64.b64encode(b"Inline bytes.").decode()
    client.chat.completions.create(
        model=CHAT,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "file", "file": {"file_data": f"data:text/plain;base64,{data}"}}
                ],
            }
        ],
    )
    assert "Inline bytes." in model.requests[-1]["messages"][-1]["content"][0]["text"]
    with pytest.raises(openai.NotFoundError, match="file-missing"):
        client.chat.completions.create(
            model=CHAT,
            messages=[
                {"role": "user", "content": [{"type": "file", "file": {"file_id": "file-missing"}}]}
            ],
        )
    with pytest.raises(openai.BadRequestError, match="file_data or file_id"):
        client.chat.completions.create(
            model=CHAT,
            messages=[{"role": "user", "content": [{"type": "file", "file": {}}]}],
        )


def test_responses_logprobs_and_refused_options(
    client: openai.OpenAI, model: ScriptedModelServer
) -> None:
    model.script(say("Humans live on Earth."))
    plain = client.responses.create(model=CHAT, input="Which planet?")
    first: Any = plain.output[0]
    assert first.content[0].logprobs == []
    model.script(say("Humans live on Earth."))
    response = client.responses.create(
        model=CHAT, input="Which planet?", include=["message.output_text.logprobs"], top_logprobs=1
    )
    item: Any = response.output[0]
    part = item.content[0]
    assert part.logprobs and "".join(p.token for p in part.logprobs) == "Humans live on Earth."
    assert response.top_logprobs == 1 and response.truncation == "disabled"
    model.script(say("Earth."))
    stream = client.responses.create(
        model=CHAT, input="Which planet?", stream=True, include=["message.output_text.logprobs"]
    )
    events = list(stream)
    assert all(e.logprobs for e in events if e.type == "response.output_text.delta")
    (done,) = [e for e in events if e.type == "response.completed"]
    final: Any = done.response.output[0]
    assert final.content[0].logprobs
    with pytest.raises(openai.BadRequestError, match="truncation"):
        client.responses.create(model=CHAT, input="hi", truncation="auto")
    # Streamed, as Llama Stack 0.7.3: created, in progress, then failed with a spec error code.
    failed = list(client.responses.create(model=CHAT, input="hi", stream=True, truncation="auto"))
    assert [e.type for e in failed] == [
        "response.created",
        "response.in_progress",
        "response.failed",
    ]
    error: Any = failed[-1].response.error  # type: ignore[union-attr]
    assert error.code == "server_error" and "truncation" in error.message
    with pytest.raises(openai.BadRequestError, match=r"reasoning\.summary"):
        client.responses.create(model=CHAT, input="hi", reasoning={"summary": "auto"})
    with pytest.raises(openai.BadRequestError, match="include"):
        client.responses.create(model=CHAT, input="hi", include=["not.a.value"])  # type: ignore[list-item]


def test_fields_we_cannot_honour_are_400s_that_name_them(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="provider_vector_store_id"):
        client.vector_stores.create(name="x", extra_body={"provider_vector_store_id": "abc"})
    store = client.vector_stores.create(name="weights")
    with pytest.raises(openai.BadRequestError, match="neural"):
        client.vector_stores.search(
            vector_store_id=store.id,
            query="q",
            extra_body={"ranking_options": {"weights": {"vector": 0.5, "neural": 0.5}}},
        )
    answer = client.chat.completions.create(
        model=CHAT, messages=[{"role": "user", "content": "hi"}], metadata={"k": "v"}
    )
    assert client.chat.completions.retrieve(answer.id).model_dump()["metadata"] == {"k": "v"}


def test_input_items_include_is_refused_as_in_llama_stack(
    client: openai.OpenAI, model: ScriptedModelServer
) -> None:
    model.script(say("ok"))
    response = client.responses.create(model=CHAT, input="hi")
    assert [i.type for i in client.responses.input_items.list(response.id).data] == ["message"]
    with pytest.raises(openai.BadRequestError, match="include"):
        client.responses.input_items.list(response.id, include=["file_search_call.results"])


def test_vector_io_query_params_over_http(client: openai.OpenAI, server: BackgroundServer) -> None:
    store = client.vector_stores.create(name="query-http")
    uploaded = client.files.create(file=("q.txt", TEXT.encode()), purpose="assistants")
    client.vector_stores.files.create(vector_store_id=store.id, file_id=uploaded.id)
    url = f"{server.url}/v1/vector-io/query"
    params = {"mode": "hybrid", "reranker_type": "rrf", "reranker_params": {"impact_factor": 10}}
    found = httpx.post(url, json={"vector_store_id": store.id, "query": TEXT, "params": params})
    assert found.status_code == 200 and found.json()["chunks"], found.text
    bad = httpx.post(url, json={"vector_store_id": store.id, "query": TEXT, "params": {"k": 1}})
    assert bad.status_code == 400 and "unknown keys k" in bad.text
