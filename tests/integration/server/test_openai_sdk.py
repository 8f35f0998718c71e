"""The server on 127.0.0.1 driven by the official openai SDK (stack backed by a local stub server)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from llama_workbench import Stack
from llama_workbench.server.runner import BackgroundServer, start_server
from tests.support.stub_server import (
    STORAGE_WITH_COMPLETIONS,
    StubOpenAIServer,
    free_port,
    stub_stack_config,
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundServer]:
    data_dir = tmp_path_factory.mktemp("server")
    with StubOpenAIServer(models=["m", "e"]) as stub:
        config = stub_stack_config(
            stub.base_url,
            data_dir,
            provider_config={"embedding_models": {"e": 3}},
            storage=STORAGE_WITH_COMPLETIONS,
        )
        with Stack.from_config(config) as stack, start_server(stack, port=free_port()) as running:
            yield running


@pytest.fixture
def client(server: BackgroundServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="none", max_retries=0)


def test_list_and_retrieve_models(client: openai.OpenAI) -> None:
    models = client.models.list()
    assert [m.id for m in models.data] == ["s/e", "s/m"]
    assert models.data[1].custom_metadata["provider_resource_id"] == "m"  # type: ignore[attr-defined]
    assert client.models.retrieve("s/m").id == "s/m"


def test_chat_plain_and_streamed(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert reply.choices[0].message.content == "echo: hi" and reply.model == "m"
    chunks = list(
        client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "a b c"}], stream=True
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "echo: a b c"


def test_completions_and_embeddings(client: openai.OpenAI) -> None:
    assert client.completions.create(model="m", prompt="x").choices[0].text == " and more"
    vectors = client.embeddings.create(model="e", input=["abcd"])
    assert vectors.data[0].embedding == [4.0, 1.0, 0.0]


def test_errors_map_to_sdk_exceptions(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "x"}])
    assert "Model 'nope' not found. Available: s/e, s/m" in info.value.message
    with pytest.raises(openai.UnprocessableEntityError):
        client.chat.completions.create(model="m", messages=[], temperature=9)
    with pytest.raises(openai.BadRequestError, match="is an embedding model"):
        client.chat.completions.create(model="e", messages=[{"role": "user", "content": "x"}])


def test_inspect_routes_lists_only_served_routes(server: BackgroundServer) -> None:
    routes = httpx.get(f"{server.url}/v1/inspect/routes").json()["data"]
    served = {(r["method"], r["route"]) for r in routes}
    assert ("POST", "/v1/chat/completions") in served and ("GET", "/v1/models") in served
    assert not any(route.startswith("/v1/vector_stores") for _, route in served)
    chat = next(r for r in routes if r["route"] == "/v1/chat/completions")
    assert chat["provider_types"] == ["remote::vllm"]
    assert httpx.get(f"{server.url}/v1/health").json() == {"status": "OK"}
    assert httpx.get(f"{server.url}/v1/version").json()["version"]


def test_openapi_document_describes_routes(server: BackgroundServer, tmp_path: Path) -> None:
    doc = httpx.get(f"{server.url}/openapi.json").json()
    assert (
        "/v1/chat/completions" in doc["paths"]
        and "ChatCompletionRequest" in doc["components"]["schemas"]
    )


def test_stored_completions_through_the_sdk(client: openai.OpenAI) -> None:
    made = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "remember me"}]
    )
    listed = client.chat.completions.list(limit=5)
    assert listed.data[0].id == made.id
    stored = client.chat.completions.retrieve(made.id)
    assert stored.choices[0].message.content == "echo: remember me"
