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
    # An empty input list is a 400 from validation, as in Llama Stack 0.7.3 (never sent upstream).
    with pytest.raises(openai.BadRequestError, match="input"):
        client.embeddings.create(model="e", input=[])


def test_errors_map_to_sdk_exceptions(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "x"}])
    assert "Model 'nope' not found. Available: s/e, s/m" in info.value.message
    # Invalid requests are a 400 (as Llama Stack 0.7.3 and OpenAI answer), naming the field.
    with pytest.raises(openai.BadRequestError, match="temperature") as bad:
        client.chat.completions.create(model="m", messages=[], temperature=9)
    assert bad.value.param == "temperature"
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


def test_request_validation_is_a_400_in_openai_and_llama_stack_shape(
    server: BackgroundServer,
) -> None:
    answer = httpx.post(f"{server.url}/v1/chat/completions", json={"messages": []})
    assert answer.status_code == 400
    body = answer.json()
    assert body["error"]["type"] == "invalid_request_error" and body["error"]["param"] == "model"
    assert "body.model: Field required" in body["error"]["message"]
    # `detail` as Llama Stack 0.7.3's translator builds it: one entry per field.
    assert body["detail"]["errors"][0] == {
        "loc": ["body", "model"],
        "msg": "Field required",
        "type": "missing",
    }
    query = httpx.get(f"{server.url}/v1/chat/completions", params={"order": "sideways"})
    assert query.status_code == 400 and query.json()["error"]["param"] == "order"


def test_inspect_routes_honours_api_filter(server: BackgroundServer) -> None:
    def listed(api_filter: str | None) -> set[tuple[str, str]]:
        params = {"api_filter": api_filter} if api_filter else {}
        answer = httpx.get(f"{server.url}/v1/inspect/routes", params=params)
        assert answer.status_code == 200, answer.text
        return {(r["method"], r["route"]) for r in answer.json()["data"]}

    default, deprecated = listed(None), listed("deprecated")
    # Registering a model is deprecated in 0.7.3: listed only when deprecated ones are asked for.
    assert ("POST", "/v1/models") in deprecated and ("POST", "/v1/models") not in default
    assert ("GET", "/v1/models") in default and ("GET", "/v1/models") not in deprecated
    v1 = listed("v1")
    assert ("GET", "/v1/models") in v1 and v1 <= default
    assert all(route.startswith("/v1/") for _, route in v1)
    assert all(route.startswith("/v1alpha/") for _, route in listed("v1alpha"))
    bad = httpx.get(f"{server.url}/v1/inspect/routes", params={"api_filter": "v9"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "api_filter"


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
    # Llama Stack 0.7.3 caps no `limit` (its suite lists with limit=1000).
    assert client.chat.completions.list(limit=1000).data[0].id == made.id
    with pytest.raises(openai.BadRequestError, match="limit"):
        client.chat.completions.list(limit=0)
    stored = client.chat.completions.retrieve(made.id)
    assert stored.choices[0].message.content == "echo: remember me"
