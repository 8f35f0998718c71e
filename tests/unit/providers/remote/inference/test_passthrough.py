"""remote::passthrough against a stand-in of a Llama Stack server's OpenAI-compatible API on
127.0.0.1 (/v1/chat/completions, /v1/embeddings, /v1/models with custom_metadata, as Llama Stack
0.7.3 serves them): the key rules of 0.7.3 (the configured key wins), forward_headers, a server
named per request; streaming, tool calls, errors; a cassette replays offline."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from llama_workbench.apis.inference.models import ChatCompletionRequest, EmbeddingsRequest
from llama_workbench.core.errors import (
    BadRequestError,
    NotFoundError,
    ProviderError,
    RateLimitError,
)
from llama_workbench.core.provider_data import provider_data
from llama_workbench.providers.remote.inference.passthrough.config import PassthroughConfig
from llama_workbench.providers.remote.inference.passthrough.impl import PassthroughAdapter
from llama_workbench.providers.utils.recording import recording
from tests.support.hosted_stub import HostedStub
from tests.support.openai_like_api import openai_error, openai_routes
from tests.support.stub_server import free_port

CASSETTES = Path(__file__).parents[4] / "data" / "cassettes" / "passthrough"
KEY = "llama-stack-server-key"
MODEL = "vllm/meta-llama/Llama-3.2-3B-Instruct"
EMBED = "sentence-transformers/nomic-ai/nomic-embed-text-v1.5"
METADATA = {
    MODEL: {"model_type": "llm", "provider_id": "vllm"},
    EMBED: {
        "model_type": "embedding",
        "embedding_dimension": 768,
        "provider_id": "sentence-transformers",
    },
}
TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
]
MADE: list[Any] = []


def authorize(sent: dict[str, Any]) -> Any:
    if sent["headers"].get("authorization") not in (f"Bearer {KEY}", None):
        return openai_error(401, "Invalid token", "authentication_error")
    return None


@pytest.fixture(scope="module")
def api() -> Iterator[HostedStub]:
    with HostedStub(openai_routes("/v1", authorize, [MODEL, EMBED], (EMBED,), METADATA)) as stub:
        yield stub


@pytest.fixture(autouse=True)
async def _shut_down() -> AsyncIterator[None]:
    yield
    while MADE:
        await MADE.pop().shutdown()


def adapter(base: str | None, key: str | None = KEY, **config: Any) -> PassthroughAdapter:
    made = PassthroughAdapter(
        "passthrough", PassthroughConfig(base_url=base or "", api_key=key, backoff_s=0.0, **config)
    )
    MADE.append(made)
    return made


def chat(**kw: Any) -> ChatCompletionRequest:
    messages = [{"role": "user", "content": "hi"}]
    return ChatCompletionRequest(model=kw.pop("model", MODEL), messages=messages, **kw)


async def test_forwarded_as_sent_with_models_typed_by_the_server(api: HostedStub) -> None:
    a = adapter(api.url)
    reply = await a.chat_completion(chat(temperature=0.3, top_p=0.9, seed=7))
    sent = api.requests[-1]
    assert (sent["path"], sent["headers"]["authorization"]) == (
        "/v1/chat/completions",
        f"Bearer {KEY}",
    )
    assert sent["body"]["seed"] == 7 and sent["body"]["top_p"] == 0.9
    assert reply.choices[0].message.content == "echo: hi"
    stream = await a.chat_completion(chat(stream=True))
    assert "".join([c.choices[0].delta.content or "" async for c in stream]) == "echo: hi"
    reply = await a.chat_completion(chat(tools=TOOLS))
    assert json.loads(reply.choices[0].message.tool_calls[0].function.arguments) == {
        "city": "Paris"
    }
    vectors = await a.embeddings(EmbeddingsRequest(model=EMBED, input="abc"))
    assert vectors.data[0].embedding == [3.0, 0.5]
    listed = {m.provider_model_id: m for m in await a.list_provider_models()}
    assert (
        listed[EMBED].model_type == "embedding"
        and listed[EMBED].metadata["embedding_dimension"] == 768
    )
    assert listed[MODEL].model_type == "llm"


async def test_keys_forwarded_headers_and_the_server_per_request(api: HostedStub) -> None:
    forward = {"maas_api_token": "Authorization", "tenant": "X-Tenant-ID"}
    a = adapter(None, key=None, forward_headers=forward)
    with pytest.raises(BadRequestError, match="passthrough_url"):
        await a.chat_completion(chat())
    data = {
        "passthrough_url": api.url,
        "maas_api_token": f"Bearer {KEY}",
        "tenant": "t-1",
        "other": "x",
    }
    with provider_data(data):
        await a.chat_completion(chat())
    headers = api.requests[-1]["headers"]
    assert (headers["authorization"], headers["x-tenant-id"]) == (f"Bearer {KEY}", "t-1")
    assert "other" not in headers
    # The configured key wins over a forwarded Authorization and the caller's passthrough_api_key.
    b = adapter(api.url, forward_headers=forward)
    with provider_data({"maas_api_token": "Bearer stale", "passthrough_api_key": "stale"}):
        await b.chat_completion(chat())
    assert api.requests[-1]["headers"]["authorization"] == f"Bearer {KEY}"
    with provider_data({"passthrough_api_key": KEY}):
        await adapter(api.url, key=None).chat_completion(chat())
    assert api.requests[-1]["headers"]["authorization"] == f"Bearer {KEY}"
    with pytest.raises(ValueError, match="header 'Host' is blocked"):
        PassthroughConfig(base_url=api.url, forward_headers={"h": "Host"})
    with pytest.raises(ValueError, match="X-Internal"):
        PassthroughConfig(forward_headers={"h": "X-Internal"}, extra_blocked_headers=["x-internal"])


async def test_errors(api: HostedStub) -> None:
    with pytest.raises(ProviderError, match=r"rejected our credentials \(401\): Invalid token"):
        await adapter(api.url, key="wrong").chat_completion(chat())
    with pytest.raises(NotFoundError, match="does not exist"):
        await adapter(api.url).chat_completion(chat(model="nope"))
    api.fail_next(429, {"error": {"message": "Quota exceeded"}}, times=2)
    with pytest.raises(RateLimitError, match="Quota exceeded"):
        await adapter(api.url, max_retries=1).chat_completion(chat())
    api.fail_next(500, {"error": {"message": "Internal server error"}})
    with pytest.raises(ProviderError, match="500: Internal server error"):
        await adapter(api.url, max_retries=0).chat_completion(chat(stream=True))


async def test_cassette_replays_offline() -> None:
    with recording("replay", CASSETTES):
        a = adapter(f"http://127.0.0.1:{free_port()}")
        question = [{"role": "user", "content": "Which planet is the largest?"}]
        reply = await a.chat_completion(
            ChatCompletionRequest(model=MODEL, messages=question, max_tokens=32)
        )
    assert reply.choices[0].message.content == "Jupiter is the largest planet in the Solar System."
