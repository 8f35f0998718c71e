"""remote::bedrock against a stand-in of Bedrock's OpenAI-compatible endpoint on 127.0.0.1: a
Bedrock API key as a bearer token, or a SigV4 signature the stand-in checks as AWS documents it
(tests/support/aws_sigv4.py); streaming, tool calls, errors; a cassette replays offline."""

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
from llama_workbench.providers.remote.inference.bedrock.config import BedrockConfig
from llama_workbench.providers.remote.inference.bedrock.impl import BedrockAdapter
from llama_workbench.providers.utils.recording import recording
from tests.support import aws_sigv4
from tests.support.hosted_stub import HostedStub
from tests.support.openai_like_api import openai_error, openai_routes
from tests.support.stub_server import free_port

CASSETTES = Path(__file__).parents[4] / "data" / "cassettes" / "bedrock"
KEY = "ABSKQmVkcm9ja0FQSUtleS1example"
MODEL = "openai.gpt-oss-20b"
REGION = "us-west-2"
TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
]


def authorize(sent: dict[str, Any]) -> Any:
    auth = sent["headers"].get("authorization", "")
    if auth.startswith("Bearer "):
        return None if auth == f"Bearer {KEY}" else openai_error(401, "Invalid API key")
    why = aws_sigv4.check(sent, REGION, "bedrock-mantle")
    if why is None and sent["headers"].get("x-amz-security-token") != aws_sigv4.SESSION_TOKEN:
        why = "The security token included in the request is invalid."
    return None if why is None else openai_error(403, why, "access_denied")


@pytest.fixture(scope="module")
def api() -> Iterator[HostedStub]:
    with HostedStub(openai_routes("/v1", authorize, [MODEL])) as stub:
        yield stub


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """The AWS credential chain with only what the test sets (no ~/.aws, no instance role)."""
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return monkeypatch


def signing(env: pytest.MonkeyPatch, secret: str = aws_sigv4.SECRET_KEY) -> None:
    env.setenv("AWS_ACCESS_KEY_ID", aws_sigv4.ACCESS_KEY)
    env.setenv("AWS_SECRET_ACCESS_KEY", secret)
    env.setenv("AWS_SESSION_TOKEN", aws_sigv4.SESSION_TOKEN)


MADE: list[Any] = []  # adapters made by the current test, shut down after it


@pytest.fixture(autouse=True)
async def _shut_down() -> AsyncIterator[None]:
    yield
    while MADE:
        await MADE.pop().shutdown()


def adapter(base: str, key: str | None = KEY, **config: Any) -> BedrockAdapter:
    settings = {"base_url": f"{base}/v1", "api_key": key, "region_name": REGION, **config}
    made = BedrockAdapter("bedrock", BedrockConfig(backoff_s=0.0, **settings))
    MADE.append(made)
    return made


def chat(**kw: Any) -> ChatCompletionRequest:
    messages = [{"role": "user", "content": "hi"}]
    return ChatCompletionRequest(model=kw.pop("model", MODEL), messages=messages, **kw)


def test_endpoint_from_region_as_llama_stack() -> None:
    assert (
        BedrockConfig(region_name="eu-west-1").base_url
        == "https://bedrock-mantle.eu-west-1.api.aws/v1"
    )


async def test_api_key_as_bearer_token(api: HostedStub) -> None:
    a = adapter(api.url)
    reply = await a.chat_completion(chat(max_tokens=20))
    sent = api.requests[-1]
    assert (sent["method"], sent["path"]) == ("POST", "/v1/chat/completions")
    assert (
        sent["headers"]["authorization"] == f"Bearer {KEY}" and "x-amz-date" not in sent["headers"]
    )
    assert sent["body"]["max_tokens"] == 20 and sent["body"]["model"] == MODEL
    assert reply.choices[0].message.content == "echo: hi"
    listed = await a.list_provider_models()
    assert [m.provider_model_id for m in listed] == [MODEL]
    await a.shutdown()


async def test_sigv4_signature_streaming_and_tools(
    api: HostedStub, aws_env: pytest.MonkeyPatch
) -> None:
    signing(aws_env)
    a = adapter(api.url, key=None)
    reply = await a.chat_completion(chat())
    headers = api.requests[-1]["headers"]
    assert headers["authorization"].startswith(
        f"AWS4-HMAC-SHA256 Credential={aws_sigv4.ACCESS_KEY}/"
    )
    assert headers["x-amz-security-token"] == aws_sigv4.SESSION_TOKEN
    assert reply.choices[0].message.content == "echo: hi"
    stream = await a.chat_completion(chat(stream=True))
    assert "".join([c.choices[0].delta.content or "" async for c in stream]) == "echo: hi"
    reply = await a.chat_completion(chat(tools=TOOLS))
    call = reply.choices[0].message.tool_calls[0]
    assert (call.function.name, json.loads(call.function.arguments)) == (
        "get_weather",
        {"city": "Paris"},
    )
    stream = await a.chat_completion(chat(tools=TOOLS, stream=True))
    deltas = [d for c in [c async for c in stream] for d in c.choices[0].delta.tool_calls or []]
    assert "".join(d.function.arguments or "" for d in deltas) == '{"city": "Paris"}'
    assert [m.provider_model_id for m in await a.list_provider_models()] == [MODEL]  # signed GET
    await a.shutdown()


async def test_a_wrong_secret_is_refused_by_the_signature_check(
    api: HostedStub, aws_env: pytest.MonkeyPatch
) -> None:
    signing(aws_env, secret="not-the-secret")
    with pytest.raises(
        ProviderError, match=r"\(403\): The request signature we calculated does not match"
    ) as info:
        await adapter(api.url, key=None).chat_completion(chat())
    assert info.value.upstream_status == 403 and "not-the-secret" not in str(info.value)


async def test_no_key_and_no_credentials(api: HostedStub, aws_env: pytest.MonkeyPatch) -> None:
    before = len(api.requests)
    with pytest.raises(AuthenticationError, match=r"AWS_BEARER_TOKEN_BEDROCK.*SigV4"):
        await adapter(api.url, key="").chat_completion(chat())
    assert len(api.requests) == before


async def test_key_per_request_and_errors(api: HostedStub) -> None:
    with provider_data({"aws_bearer_token_bedrock": KEY}):
        reply = await adapter(api.url, key="stale-key").chat_completion(chat())
    assert reply.choices[0].message.content == "echo: hi"
    with pytest.raises(ProviderError, match=r"\(401\): Invalid API key"):
        await adapter(api.url, key="stale-key").chat_completion(chat())
    with pytest.raises(NotFoundError, match="does not exist"):
        await adapter(api.url).chat_completion(chat(model="nope"))
    api.fail_next(
        429, {"error": {"message": "Too many requests"}}, headers={"retry-after": "0"}, times=2
    )
    with pytest.raises(RateLimitError, match="Too many requests"):
        await adapter(api.url, max_retries=1).chat_completion(chat())
    api.fail_next(500, {"error": {"message": "internal failure"}})
    with pytest.raises(ProviderError, match="500: internal failure"):
        await adapter(api.url, max_retries=0).chat_completion(chat(stream=True))


async def test_completions_and_embeddings_are_refused_as_llama_stack() -> None:
    a = adapter(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(
        BadRequestError, match=r"does not serve /completions: .*chat/completions only"
    ):
        await a.completion(CompletionRequest(model=MODEL, prompt="x"))
    with pytest.raises(BadRequestError, match="does not serve /embeddings"):
        await a.embeddings(EmbeddingsRequest(model=MODEL, input="x"))
    assert KEY not in repr(a.config)


async def test_cassette_replays_offline() -> None:
    with recording("replay", CASSETTES):
        a = adapter(f"http://127.0.0.1:{free_port()}", key="any")
        question = [{"role": "user", "content": "Hello! How are you?"}]
        reply = await a.chat_completion(
            ChatCompletionRequest(model=MODEL, messages=question, max_tokens=64)
        )
    assert reply.choices[0].message.content.startswith("Hello! I'm doing well")
    assert reply.usage.total_tokens == 37 and reply.choices[0].finish_reason == "stop"
