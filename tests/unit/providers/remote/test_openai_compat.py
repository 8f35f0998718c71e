"""The OpenAI-compatible adapter against a real HTTP server on 127.0.0.1: streaming, tools, errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from llama_workbench.apis.inference.models import (
    ChatCompletionRequest,
    CompletionRequest,
    EmbeddingsRequest,
)
from llama_workbench.core.errors import (
    BadRequestError,
    NotFoundError,
    ProviderError,
    ProviderUnavailableError,
    RateLimitError,
)
from llama_workbench.providers.remote.inference.together.config import TogetherConfig
from llama_workbench.providers.remote.inference.vllm.config import VLLMConfig
from llama_workbench.providers.utils.openai_compat import OpenAICompatAdapter
from tests.support.stub_server import StubOpenAIServer, free_port


@pytest.fixture
def stub() -> Iterator[StubOpenAIServer]:
    with StubOpenAIServer(models=["m", "e"], api_key="sk-test") as server:
        yield server


def adapter(stub: StubOpenAIServer, **config: Any) -> OpenAICompatAdapter:
    settings = {"base_url": stub.base_url, "api_key": "sk-test", "backoff_s": 0.0, **config}
    return OpenAICompatAdapter("p", VLLMConfig(**settings))


def chat(**kw: Any) -> ChatCompletionRequest:
    return ChatCompletionRequest(
        model="m", messages=[{"role": "user", "content": "hi there"}], **kw
    )


async def test_chat_completion_and_usage(stub: StubOpenAIServer) -> None:
    a = adapter(stub)
    reply = await a.chat_completion(chat(temperature=0, top_k=5, max_tokens=9))
    assert reply.choices[0].message.content == "echo: hi there" and reply.usage.total_tokens == 6
    sent = stub.requests[-1]
    assert sent["headers"]["authorization"] == "Bearer sk-test"
    assert (
        sent["body"]["top_k"] == 5 and sent["body"]["max_tokens"] == 9 and "n" not in sent["body"]
    )
    await a.shutdown()


async def test_streaming_chunks(stub: StubOpenAIServer) -> None:
    a = adapter(stub)
    stream = await a.chat_completion(chat(stream=True))
    chunks = [c async for c in stream]
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "echo: hi there"
    assert (
        chunks[0].choices[0].delta.role == "assistant"
        and chunks[-1].choices[0].finish_reason == "stop"
    )
    await a.shutdown()


async def test_tool_calls_plain_and_streamed(stub: StubOpenAIServer) -> None:
    a = adapter(stub)
    tools = [
        {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
    ]
    reply = await a.chat_completion(chat(tools=tools))
    call = reply.choices[0].message.tool_calls[0]
    assert (call.function.name, call.function.arguments) == ("get_weather", '{"city": "Paris"}')
    assert reply.choices[0].finish_reason == "tool_calls"
    stream = await a.chat_completion(chat(tools=tools, stream=True))
    deltas = [
        c.choices[0].delta.tool_calls
        for c in [c async for c in stream]
        if c.choices[0].delta.tool_calls
    ]
    assert deltas[0][0].function.name == "get_weather"
    assert "".join(d[0].function.arguments or "" for d in deltas) == '{"city": "Paris"}'
    await a.shutdown()


async def test_completions_embeddings_and_model_listing(stub: StubOpenAIServer) -> None:
    a = adapter(stub, embedding_models={"e": 3})
    done = await a.completion(CompletionRequest(model="m", prompt="this"))
    assert done.choices[0].text == " and more"
    vectors = await a.embeddings(EmbeddingsRequest(model="e", input=["abc"]))
    assert vectors.data[0].embedding == [3.0, 1.0, 0.0]
    listed = {m.provider_model_id: m for m in await a.list_provider_models()}
    assert set(listed) == {"m", "e"} and listed["e"].model_type == "embedding"
    await a.shutdown()


async def test_wrong_key_is_a_provider_error_with_its_message(stub: StubOpenAIServer) -> None:
    a = adapter(stub, api_key="sk-wrong")
    with pytest.raises(
        ProviderError, match="rejected our credentials \\(401\\): Invalid API key"
    ) as info:
        await a.chat_completion(chat())
    assert info.value.upstream_status == 401 and "sk-wrong" not in str(info.value)
    assert "sk-wrong" not in repr(a.config) and "sk-wrong" not in str(a.config.model_dump())


async def test_unknown_model_is_not_found(stub: StubOpenAIServer) -> None:
    with pytest.raises(NotFoundError, match="model nope does not exist"):
        await adapter(stub).chat_completion(
            ChatCompletionRequest(model="nope", messages=[{"role": "user", "content": "x"}])
        )


async def test_429_is_retried_honouring_retry_after(stub: StubOpenAIServer) -> None:
    stub.fail_next(429, headers={"Retry-After": "0"}, times=2)
    reply = await adapter(stub, max_retries=2).chat_completion(chat())
    assert reply.choices[0].message.content == "echo: hi there"
    stub.fail_next(
        429, '{"error": {"message": "slow down"}}', headers={"Retry-After": "0"}, times=3
    )
    with pytest.raises(RateLimitError, match="slow down"):
        await adapter(stub, max_retries=2).chat_completion(chat())


async def test_500_after_retries_and_400_not_retried(stub: StubOpenAIServer) -> None:
    stub.fail_next(500, '{"error": {"message": "boom"}}', times=3)
    with pytest.raises(ProviderError, match="500: boom"):
        await adapter(stub, max_retries=2).chat_completion(chat())
    stub.fail_next(400, '{"error": {"message": "bad temperature"}}')
    before = len(stub.requests)
    with pytest.raises(BadRequestError, match="rejected the request: bad temperature"):
        await adapter(stub, max_retries=2).chat_completion(chat())
    assert len(stub.requests) == before + 1


async def test_timeout_and_connection_refused(stub: StubOpenAIServer) -> None:
    stub.fail_next(200, "{}", delay_s=2.0)
    with pytest.raises(ProviderUnavailableError, match="unreachable: ReadTimeout"):
        await adapter(stub, timeout_s=0.2, max_retries=0).chat_completion(chat())
    dead = OpenAICompatAdapter(
        "p", VLLMConfig(base_url=f"http://127.0.0.1:{free_port()}/v1", max_retries=1, backoff_s=0)
    )
    with pytest.raises(ProviderUnavailableError, match="is unreachable: ConnectError"):
        await dead.chat_completion(chat())


async def test_malformed_json(stub: StubOpenAIServer) -> None:
    stub.fail_next(200, "this is not json")
    with pytest.raises(ProviderError, match="malformed JSON from /chat/completions"):
        await adapter(stub).chat_completion(chat())
    stub.fail_next(200, '{"unexpected": true}')
    with pytest.raises(ProviderError, match="response does not match ChatCompletion"):
        await adapter(stub).chat_completion(chat())


def test_openai_drops_top_k_and_together_defaults() -> None:
    assert TogetherConfig().base_url.startswith("https://") and TogetherConfig().supports_top_k


def test_tls_verify_is_a_flag_or_a_ca_bundle() -> None:
    import ssl

    import certifi

    assert VLLMConfig(verify="false").verify is False  # `${env.X:=false}` substitutes to text
    assert VLLMConfig(verify="TRUE").verify is True
    from llama_workbench.providers.utils.openai_compat import _verify

    context = _verify(VLLMConfig(verify=certifi.where()).verify)  # what the client is given
    assert isinstance(context, ssl.SSLContext) and context.cert_store_stats()["x509_ca"] > 0
