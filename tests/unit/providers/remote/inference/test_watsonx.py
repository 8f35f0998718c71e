"""remote::watsonx against stand-ins of IBM Cloud IAM and watsonx.ai on 127.0.0.1 (their
documented protocols: tests/support/watsonx_api.py): the API key exchanged for a token, kept and
fetched again on a 401; chat, streaming, tool calls, embeddings, models; errors; a cassette."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from llama_workbench.apis.inference.models import (
    ChatCompletionRequest,
    CompletionRequest,
    EmbeddingsRequest,
)
from llama_workbench.core.errors import (
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    ProviderError,
    RateLimitError,
)
from llama_workbench.core.provider_data import provider_data
from llama_workbench.providers.remote.inference.watsonx.config import WatsonXConfig
from llama_workbench.providers.remote.inference.watsonx.impl import WatsonXAdapter
from llama_workbench.providers.utils.recording import recording
from tests.support.hosted_stub import HostedStub
from tests.support.stub_server import free_port
from tests.support.watsonx_api import API_KEY, CHAT, EMBED, PROJECT, WatsonX

CASSETTES = Path(__file__).parents[4] / "data" / "cassettes" / "watsonx"
TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
]
SERVICE = WatsonX()
MADE: list[Any] = []


@pytest.fixture(scope="module")
def api() -> Iterator[HostedStub]:
    with HostedStub(SERVICE.routes) as stub:
        yield stub


@pytest.fixture(autouse=True)
async def _shut_down() -> AsyncIterator[None]:
    yield
    while MADE:
        await MADE.pop().shutdown()


def adapter(base: str, key: str | None = API_KEY, **config: Any) -> WatsonXAdapter:
    settings = {
        "base_url": base,
        "api_key": key,
        "project_id": PROJECT,
        "iam_url": f"{base}/identity/token",
    }
    made = WatsonXAdapter("watsonx", WatsonXConfig(backoff_s=0.0, **(settings | config)))
    MADE.append(made)
    return made


def chat(**kw: Any) -> ChatCompletionRequest:
    messages = [{"role": "user", "content": "hi"}]
    return ChatCompletionRequest(model=kw.pop("model", CHAT), messages=messages, **kw)


async def test_iam_token_chat_and_refresh_on_401(api: HostedStub) -> None:
    a = adapter(api.url)
    reply = await a.chat_completion(chat(max_completion_tokens=30, temperature=0.1, stop=["END"]))
    token_request, sent = api.requests[-2:]
    assert token_request["path"] == "/identity/token"
    assert (
        token_request["raw"].decode()
        == f"grant_type=urn%3Aibm%3Aparams%3Aoauth%3Agrant-type%3Aapikey&apikey={API_KEY}"
    )
    assert (sent["path"], sent["query"]) == ("/ml/v1/text/chat", {"version": "2023-10-25"})
    assert sent["headers"]["authorization"] == f"Bearer {SERVICE.issued[-1]}"
    body = sent["body"]
    assert (body["model_id"], body["project_id"], body["max_tokens"], body["stop"]) == (
        CHAT,
        PROJECT,
        30,
        ["END"],
    )
    assert "model" not in body and "stream" not in body
    assert reply.model == CHAT and reply.choices[0].message.content == "echo: hi"
    assert reply.usage.total_tokens == 24
    await a.chat_completion(chat())  # the token is kept
    assert [r["path"] for r in api.requests[-1:]] == ["/ml/v1/text/chat"]
    SERVICE.revoke()
    reply = await a.chat_completion(chat())  # a 401, a new token, the call again
    assert [r["path"] for r in api.requests[-3:]] == [
        "/ml/v1/text/chat",
        "/identity/token",
        "/ml/v1/text/chat",
    ]
    assert reply.choices[0].message.content == "echo: hi"


async def test_streaming_and_tool_calls(api: HostedStub) -> None:
    a = adapter(api.url)
    stream = await a.chat_completion(chat(stream=True))
    chunks = [c async for c in stream]
    assert api.requests[-1]["path"] == "/ml/v1/text/chat_stream"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "echo: hi"
    assert (
        chunks[0].choices[0].delta.role == "assistant"
        and chunks[-1].choices[0].finish_reason == "stop"
    )
    assert chunks[-1].usage.total_tokens == 24 and chunks[0].model == CHAT
    reply = await a.chat_completion(chat(tools=TOOLS, tool_choice="required"))
    assert api.requests[-1]["body"]["tool_choice_option"] == "required"
    call = reply.choices[0].message.tool_calls[0]
    assert (call.function.name, json.loads(call.function.arguments)) == (
        "get_weather",
        {"city": "Paris"},
    )
    named = {"type": "function", "function": {"name": "get_weather"}}
    stream = await a.chat_completion(chat(tools=TOOLS, tool_choice=named, stream=True))
    deltas = [d for c in [c async for c in stream] for d in c.choices[0].delta.tool_calls or []]
    assert api.requests[-1]["body"]["tool_choice"] == named
    assert deltas[0].function.name == "get_weather"
    assert "".join(d.function.arguments or "" for d in deltas) == '{"city": "Paris"}'


async def test_models_and_embeddings(api: HostedStub) -> None:
    a = adapter(api.url)
    listed = {m.provider_model_id: m for m in await a.list_provider_models()}
    assert list(listed) == [CHAT, "meta-llama/llama-3-3-70b-instruct", EMBED]  # two pages
    assert listed[EMBED].model_type == "embedding"
    assert listed[EMBED].metadata == {"embedding_dimension": 768, "context_length": 512}
    vectors = await a.embeddings(EmbeddingsRequest(model=EMBED, input=["abc", "de"]))
    assert api.requests[-1]["body"] == {
        "inputs": ["abc", "de"],
        "model_id": EMBED,
        "project_id": PROJECT,
    }
    assert [d.embedding for d in vectors.data] == [[3.0, 0.25, -0.5], [2.0, 0.25, -0.5]]
    assert vectors.usage.prompt_tokens == 4
    encoded = await a.embeddings(
        EmbeddingsRequest(model=EMBED, input="abc", encoding_format="base64")
    )
    assert isinstance(encoded.data[0].embedding, str)


async def test_keys_projects_and_errors(api: HostedStub) -> None:
    refused = r"IBM Cloud IAM refused the API key \(400\): Provided API key could not be found"
    with pytest.raises(ProviderError, match=refused):
        await adapter(api.url, key="wrong-key").chat_completion(chat())
    with pytest.raises(AuthenticationError, match="watsonx_api_key"):
        await adapter(api.url, key=None).chat_completion(chat())
    with (
        provider_data({"watsonx_api_key": "wrong"}),
        pytest.raises(AuthenticationError, match="IAM refused"),
    ):
        await adapter(api.url).chat_completion(chat())
    with provider_data({"watsonx_api_key": API_KEY, "watsonx_project_id": PROJECT}):
        reply = await adapter(api.url, key=None, project_id=None).chat_completion(chat())
    assert reply.choices[0].message.content == "echo: hi"
    with pytest.raises(BadRequestError, match="no project_id"):
        await adapter(api.url, project_id=None).chat_completion(chat())
    with pytest.raises(NotFoundError, match="Model 'ibm/nope' is not supported"):
        await adapter(api.url).chat_completion(chat(model="ibm/nope"))
    api.fail_next(
        429, {"errors": [{"code": "rate_limit", "message": "Too Many Requests"}]}, times=2
    )
    with pytest.raises(RateLimitError, match="Too Many Requests"):
        await adapter(api.url, max_retries=1).chat_completion(chat())
    api.fail_next(500, {"errors": [{"code": "internal_error", "message": "boom"}]})
    with pytest.raises(ProviderError, match="500: boom"):
        await adapter(api.url, max_retries=0).chat_completion(chat(stream=True))
    with pytest.raises(BadRequestError, match="logit_bias"):
        await adapter(api.url).chat_completion(chat(logit_bias={"1": 1.0}))
    with pytest.raises(BadRequestError, match="does not serve /completions"):
        await adapter(api.url).completion(CompletionRequest(model=CHAT, prompt="x"))
    assert API_KEY not in repr(WatsonXConfig(api_key=API_KEY))


async def test_cassette_replays_offline() -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    with recording("replay", CASSETTES):  # no IAM exchange either: replay sends nothing
        a = adapter(nowhere, key="any", iam_url=f"{nowhere}/identity/token")
        question = [{"role": "user", "content": "What is the capital of France?"}]
        reply = await a.chat_completion(
            ChatCompletionRequest(model=CHAT, messages=question, max_tokens=100)
        )
    assert reply.choices[0].message.content == "The capital of France is Paris."
    assert reply.model == CHAT and reply.usage.total_tokens == 27
