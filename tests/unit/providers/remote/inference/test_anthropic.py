"""remote::anthropic against a stand-in of Anthropic's Messages API on 127.0.0.1 (its documented
protocol: tests/support/anthropic_api.py): the request it gets, replies, streams, tool calls,
errors; then a cassette in the documented reply shapes replays offline."""

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
    ProviderUnavailableError,
    RateLimitError,
)
from llama_workbench.core.provider_data import provider_data
from llama_workbench.providers.remote.inference.anthropic.config import AnthropicConfig
from llama_workbench.providers.remote.inference.anthropic.impl import AnthropicAdapter
from llama_workbench.providers.utils.recording import recording
from tests.support import anthropic_api
from tests.support.anthropic_api import KEY
from tests.support.hosted_stub import HostedStub
from tests.support.stub_server import free_port

CASSETTES = Path(__file__).parents[4] / "data" / "cassettes" / "anthropic"
MODEL = "claude-sonnet-4-5"
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The weather of a city.",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]


@pytest.fixture(scope="module")
def api() -> Iterator[HostedStub]:
    with HostedStub(anthropic_api.routes) as stub:
        yield stub


MADE: list[Any] = []  # adapters made by the current test, shut down after it


@pytest.fixture(autouse=True)
async def _shut_down() -> AsyncIterator[None]:
    yield
    while MADE:
        await MADE.pop().shutdown()


def adapter(base: str, key: str | None = KEY, **config: Any) -> AnthropicAdapter:
    settings = {"base_url": f"{base}/v1", "api_key": key, "backoff_s": 0.0, **config}
    made = AnthropicAdapter("anthropic", AnthropicConfig(**settings))
    MADE.append(made)
    return made


def chat(**kw: Any) -> ChatCompletionRequest:
    messages = kw.pop("messages", [{"role": "user", "content": "hi there"}])
    return ChatCompletionRequest(model=kw.pop("model", MODEL), messages=messages, **kw)


async def test_request_shape_and_reply(api: HostedStub) -> None:
    a = adapter(api.url)
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather?"},
        {
            "role": "assistant",
            "content": "Checking.",
            "tool_calls": [
                {"id": "toolu_9", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}
            ],
        },
        {"role": "tool", "tool_call_id": "toolu_9", "content": "sunny"},
        {"role": "developer", "content": [{"type": "text", "text": "Use metric."}]},
        {"role": "user", "content": [{"type": "text", "text": "and now?"},
                                     {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO"}}]},
    ]  # fmt: skip
    reply = await a.chat_completion(chat(messages=messages, temperature=0.2, stop="END", user="u1"))
    sent = api.requests[-1]
    assert (sent["method"], sent["path"]) == ("POST", "/v1/messages")
    assert sent["headers"]["x-api-key"] == KEY and "authorization" not in sent["headers"]
    assert sent["headers"]["anthropic-version"] == "2023-06-01"
    body = sent["body"]
    assert body["system"] == "Be brief.\n\nUse metric." and body["max_tokens"] == 4096
    assert (body["temperature"], body["stop_sequences"], body["metadata"]) == (
        0.2, ["END"], {"user_id": "u1"},
    )  # fmt: skip
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert body["messages"][1]["content"][1] == {
        "type": "tool_use", "id": "toolu_9", "name": "get_weather", "input": {"city": "Oslo"},
    }  # fmt: skip
    # The tool's result and the next user turn are one user turn, result first.
    result, text, image = body["messages"][2]["content"]
    assert result == {
        "type": "tool_result", "tool_use_id": "toolu_9", "content": [{"type": "text", "text": "sunny"}],
    }  # fmt: skip
    assert text == {"type": "text", "text": "and now?"}
    assert image["source"] == {"type": "base64", "media_type": "image/png", "data": "iVBO"}
    assert reply.choices[0].message.content == "echo: and now?"
    assert reply.choices[0].finish_reason == "stop" and reply.id.startswith("msg_")
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (14, 3)
    await a.shutdown()


async def test_streaming_text_with_usage(api: HostedStub) -> None:
    a = adapter(api.url)
    stream = await a.chat_completion(
        chat(stream=True, max_tokens=50, stream_options={"include_usage": True})
    )
    chunks = [c async for c in stream]
    assert api.requests[-1]["body"]["stream"] is True
    assert api.requests[-1]["body"]["max_tokens"] == 50
    assert chunks[0].choices[0].delta.role == "assistant"
    assert (
        "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "echo: hi there"
    )
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 3
    assert {c.id for c in chunks} == {"msg_01XFDUDYJgAACzvnptvVoYEL"}
    await a.shutdown()


async def test_tool_calls_plain_and_streamed(api: HostedStub) -> None:
    a = adapter(api.url)
    reply = await a.chat_completion(
        chat(tools=TOOLS, tool_choice="required", parallel_tool_calls=False)
    )
    body = api.requests[-1]["body"]
    assert body["tools"] == [
        {
            "name": "get_weather",
            "description": "The weather of a city.",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
        }
    ]
    assert body["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content == "Let me check."
    (call,) = choice.message.tool_calls
    assert (call.id, call.function.name, json.loads(call.function.arguments)) == (
        "toolu_01", "get_weather", {"city": "Paris"},
    )  # fmt: skip
    named = {"type": "function", "function": {"name": "get_weather"}}
    stream = await a.chat_completion(chat(tools=TOOLS, tool_choice=named, stream=True))
    assert api.requests[-1]["body"]["tool_choice"] == {"type": "tool", "name": "get_weather"}
    chunks = [c async for c in stream]
    deltas = [d for c in chunks for d in c.choices[0].delta.tool_calls or []]
    assert (deltas[0].id, deltas[0].function.name, deltas[0].index) == (
        "toolu_01",
        "get_weather",
        0,
    )
    assert "".join(d.function.arguments or "" for d in deltas) == '{"city": "Paris"}'
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    await a.shutdown()


async def test_errors_map_to_the_error_tree(api: HostedStub) -> None:
    with pytest.raises(
        ProviderError, match=r"rejected our credentials \(401\): invalid x-api-key"
    ) as info:
        await adapter(api.url, key="sk-wrong").chat_completion(chat())
    assert info.value.upstream_status == 401 and "sk-wrong" not in str(info.value)
    with pytest.raises(NotFoundError, match="model: claude-nope"):
        await adapter(api.url).chat_completion(chat(model="claude-nope"))
    rate = {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}
    api.fail_next(429, rate, headers={"retry-after": "0"}, times=2)
    with pytest.raises(RateLimitError, match="slow down"):
        await adapter(api.url, max_retries=1).chat_completion(chat())
    boom = {"type": "error", "error": {"type": "api_error", "message": "boom"}}
    api.fail_next(500, boom, times=2)
    with pytest.raises(ProviderError, match="500: boom"):
        await adapter(api.url, max_retries=1).chat_completion(chat(stream=True))
    api.fail_next(529, {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}})
    with pytest.raises(ProviderUnavailableError, match="529 overloaded"):
        await adapter(api.url, max_retries=0).chat_completion(chat())


async def test_keys_per_request_and_missing(api: HostedStub) -> None:
    a = adapter(api.url, key=None)
    before = len(api.requests)
    with pytest.raises(AuthenticationError, match="anthropic_api_key"):
        await a.chat_completion(chat())
    assert len(api.requests) == before  # nothing sent without a key
    listed = await adapter(api.url, key=None, models=["claude-x"]).list_provider_models()
    assert [m.provider_model_id for m in listed] == ["claude-x"]  # nothing asked without a key
    with provider_data({"anthropic_api_key": KEY}):
        reply = await a.chat_completion(chat())
    assert reply.choices[0].message.content == "echo: hi there"
    assert KEY not in repr(AnthropicConfig(api_key=KEY))
    await a.shutdown()


async def test_model_listing_pages(api: HostedStub) -> None:
    listed = await adapter(api.url).list_provider_models()
    assert [m.provider_model_id for m in listed] == anthropic_api.MODELS
    assert [r["query"].get("after_id") for r in api.requests[-2:]] == [None, "claude-haiku-4-5"]


async def test_what_the_api_lacks_is_refused_naming_it(api: HostedStub) -> None:
    a = adapter(api.url)
    before = len(api.requests)
    with pytest.raises(BadRequestError, match="logprobs, seed, n"):
        await a.chat_completion(chat(logprobs=True, seed=3, n=2))
    with pytest.raises(BadRequestError, match=r"response_format \(json_object\)"):
        await a.chat_completion(chat(response_format={"type": "json_object"}))
    with pytest.raises(BadRequestError, match="does not serve /completions"):
        await a.completion(CompletionRequest(model=MODEL, prompt="x"))
    with pytest.raises(BadRequestError, match="does not serve /embeddings"):
        await a.embeddings(EmbeddingsRequest(model=MODEL, input="x"))
    assert len(api.requests) == before  # nothing was sent
    with pytest.raises(ValueError, match="embedding_models"):
        AnthropicConfig(api_key=KEY, embedding_models={"voyage-3": 1024})


@pytest.mark.parametrize("stream", [False, True])
async def test_cassette_replays_offline(stream: bool) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    with recording("replay", CASSETTES):
        a = adapter(nowhere, key="any-key")
        hello = [{"role": "user", "content": "Hello, Claude"}]
        result = await a.chat_completion(chat(messages=hello, max_tokens=1024, stream=stream))
        if stream:
            chunks = [c async for c in result]
            text = "".join(c.choices[0].delta.content or "" for c in chunks)
            finish = chunks[-1].choices[0].finish_reason
        else:
            text, finish = result.choices[0].message.content, result.choices[0].finish_reason
    assert text == "Hello! How can I help you today?" and finish == "stop"
