"""remote::vertexai against stand-ins on 127.0.0.1 of Vertex AI's OpenAI-compatible endpoint
and of Google's OAuth token endpoint: a configured or per-request access token, or Application
Default Credentials from a service account key (its signed JWT checked by the stand-in);
streaming, tool calls, embeddings, errors; a cassette replays offline."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from llama_workbench.apis.inference.models import ChatCompletionRequest, EmbeddingsRequest
from llama_workbench.core.errors import (
    AuthenticationError,
    NotFoundError,
    ProviderError,
    RateLimitError,
)
from llama_workbench.core.provider_data import provider_data
from llama_workbench.providers.remote.inference.vertexai.config import VertexAIConfig
from llama_workbench.providers.remote.inference.vertexai.impl import VertexAIAdapter
from llama_workbench.providers.utils.recording import recording
from tests.support.google_oauth import TOKEN, ServiceAccount
from tests.support.hosted_stub import HostedStub
from tests.support.openai_like_api import openai_error, openai_routes
from tests.support.stub_server import free_port

CASSETTES = Path(__file__).parents[4] / "data" / "cassettes" / "vertexai"
MODEL = "google/gemini-2.5-flash"
PREFIX = "/v1/projects/{}/locations/{}/endpoints/openapi"
STATIC = "ya29.static-token"
ACCOUNT = ServiceAccount()
TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
]


def authorize(sent: dict[str, Any]) -> Any:
    if sent["headers"].get("authorization") not in (f"Bearer {TOKEN}", f"Bearer {STATIC}"):
        message = "Request had invalid authentication credentials."
        return openai_error(401, message, "UNAUTHENTICATED")
    return None


def routes(stub: HostedStub, app: FastAPI) -> None:
    ACCOUNT.routes(stub, app)
    for project, location in (("test-project", "us-central1"), ("other-project", "europe-west4")):
        prefix = PREFIX.format(project, location)
        openai_routes(prefix, authorize, [MODEL], ("text-embedding-005",))(stub, app)


@pytest.fixture(scope="module")
def api() -> Iterator[HostedStub]:
    with HostedStub(routes) as stub:
        yield stub


MADE: list[Any] = []  # adapters made by the current test, shut down after it


@pytest.fixture(autouse=True)
async def _shut_down() -> AsyncIterator[None]:
    yield
    while MADE:
        await MADE.pop().shutdown()


def adapter(api_url: str, **config: Any) -> VertexAIAdapter:
    base = api_url + PREFIX.format("test-project", "us-central1")
    settings = {"project": "test-project", "location": "us-central1", "base_url": base, **config}
    made = VertexAIAdapter("vertexai", VertexAIConfig(backoff_s=0.0, **settings))
    MADE.append(made)
    return made


def chat(**kw: Any) -> ChatCompletionRequest:
    messages = [{"role": "user", "content": "hi"}]
    return ChatCompletionRequest(model=kw.pop("model", MODEL), messages=messages, **kw)


def test_endpoint_from_project_and_location() -> None:
    base = "https://aiplatform.googleapis.com/v1/projects/p/locations/global/endpoints/openapi"
    assert VertexAIConfig(project="p").base_url == base
    regional = VertexAIConfig(project="p", location="us-east5").base_url
    assert regional.startswith(
        "https://us-east5-aiplatform.googleapis.com/v1/projects/p/locations/us-east5/"
    )
    with pytest.raises(ValueError, match="project"):
        VertexAIConfig(project="")


async def test_application_default_credentials_from_a_service_account(
    api: HostedStub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = ACCOUNT.write_key_file(tmp_path, f"{api.url}/token")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key_file))
    a = adapter(api.url)
    issued = ACCOUNT.tokens_issued
    reply = await a.chat_completion(chat(max_tokens=10))
    token_request, sent = api.requests[-2:]
    assert token_request["path"] == "/token" and ACCOUNT.tokens_issued == issued + 1
    assert sent["path"] == PREFIX.format("test-project", "us-central1") + "/chat/completions"
    assert sent["headers"]["authorization"] == f"Bearer {TOKEN}"
    assert reply.choices[0].message.content == "echo: hi"
    stream = await a.chat_completion(chat(stream=True))
    assert "".join([c.choices[0].delta.content or "" async for c in stream]) == "echo: hi"
    assert ACCOUNT.tokens_issued == issued + 1  # the token is kept while it is valid
    await a.shutdown()


async def test_a_key_file_the_token_endpoint_refuses(
    api: HostedStub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = ServiceAccount().write_key_file(tmp_path, f"{api.url}/token")  # an unknown key
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key_file))
    with pytest.raises(AuthenticationError, match="invalid_grant"):
        await adapter(api.url).chat_completion(chat())


async def test_access_token_tools_embeddings_and_another_project(api: HostedStub) -> None:
    a = adapter(api.url, api_key=STATIC)
    reply = await a.chat_completion(chat(tools=TOOLS))
    call = reply.choices[0].message.tool_calls[0]
    assert (call.function.name, json.loads(call.function.arguments)) == (
        "get_weather",
        {"city": "Paris"},
    )
    stream = await a.chat_completion(chat(tools=TOOLS, stream=True))
    deltas = [d for c in [c async for c in stream] for d in c.choices[0].delta.tool_calls or []]
    assert "".join(d.function.arguments or "" for d in deltas) == '{"city": "Paris"}'
    vectors = await a.embeddings(EmbeddingsRequest(model="text-embedding-005", input=["abc", "de"]))
    assert [d.embedding for d in vectors.data] == [[3.0, 0.5], [2.0, 0.5]]
    elsewhere = {"vertex_project": "other-project", "vertex_location": "europe-west4"}
    with provider_data({**elsewhere, "vertex_access_token": TOKEN}):
        await a.chat_completion(chat())
    sent = api.requests[-1]
    assert sent["path"] == PREFIX.format("other-project", "europe-west4") + "/chat/completions"
    assert sent["headers"]["authorization"] == f"Bearer {TOKEN}"
    await a.shutdown()


async def test_errors(api: HostedStub) -> None:
    with pytest.raises(
        ProviderError, match=r"rejected our credentials \(401\): Request had invalid"
    ):
        await adapter(api.url, api_key="ya29.expired").chat_completion(chat())
    with pytest.raises(NotFoundError, match="does not exist"):
        await adapter(api.url, api_key=STATIC).chat_completion(chat(model="google/nope"))
    exhausted = {"code": 429, "message": "Resource exhausted.", "status": "RESOURCE_EXHAUSTED"}
    api.fail_next(429, [{"error": exhausted}], times=2)
    with pytest.raises(RateLimitError, match="Resource exhausted"):
        await adapter(api.url, api_key=STATIC, max_retries=1).chat_completion(chat())
    api.fail_next(
        500,
        {"error": {"code": 500, "message": "Internal error encountered.", "status": "INTERNAL"}},
    )
    with pytest.raises(ProviderError, match="500: Internal error encountered"):
        await adapter(api.url, api_key=STATIC, max_retries=0).chat_completion(chat(stream=True))
    assert STATIC not in repr(VertexAIConfig(project="p", api_key=STATIC))


async def test_cassette_replays_offline() -> None:
    with recording("replay", CASSETTES):
        a = adapter(f"http://127.0.0.1:{free_port()}", api_key="any")
        question = [{"role": "user", "content": "Explain to me how AI works"}]
        reply = await a.chat_completion(ChatCompletionRequest(model=MODEL, messages=question))
    assert reply.choices[0].message.content.startswith("AI learns patterns from data")
    assert reply.usage.total_tokens == 25
