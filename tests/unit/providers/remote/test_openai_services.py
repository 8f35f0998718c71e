"""The hosted OpenAI-compatible services (Gemini, Azure OpenAI in both forms, SambaNova,
Cerebras, Databricks, RunPod, the Llama API, NVIDIA) against stand-ins on 127.0.0.1 that speak
each one's documented protocol (tests/support/openai_services.py says where each shape comes
from): the request each provider sends (path, api-version, key header, body), replies plain and
streamed, tool calls, errors mapped to ours, per-request keys, what a service does not serve."""

from __future__ import annotations

from typing import Any

import pytest

from llama_workbench.apis.inference.models import (
    ChatCompletionRequest,
    CompletionRequest,
    EmbeddingsRequest,
)
from llama_workbench.apis.models.models import ModelType
from llama_workbench.core.errors import (
    AuthenticationError,
    BadRequestError,
    LlamaWorkbenchError,
    NotFoundError,
    ProviderError,
    RateLimitError,
)
from llama_workbench.core.provider_data import provider_data
from tests.support.openai_services import KEY, SERVICES, Service, ServiceStub, build_adapter

TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]
KEYLESS = [n for n, s in SERVICES.items() if s.name != "nvidia"]  # NVIDIA's NIMs need no key
FIELDS = {
    "gemini": "gemini_api_key",
    "azure": "azure_api_key",
    "sambanova": "sambanova_api_key",
    "cerebras": "cerebras_api_key",
    "databricks": "databricks_api_token",
    "runpod": "runpod_api_token",
    "llama-openai-compat": "llama_api_key",
    "nvidia": "nvidia_api_key",
}


@pytest.fixture(params=list(SERVICES))
def stub(request: pytest.FixtureRequest, stubs: dict[str, ServiceStub]) -> ServiceStub:
    return stubs[request.param]


async def adapter(stub: ServiceStub, **config: Any) -> Any:
    return await build_adapter(stub.service, stub.base_url, **config)


def chat(service: Service, model: str | None = None, **kw: Any) -> ChatCompletionRequest:
    messages = [{"role": "user", "content": "hi there"}]
    return ChatCompletionRequest(model=model or service.models[0], messages=messages, **kw)


def path_of(service: Service, endpoint: str, model: str) -> str:
    return service.prefix.replace("{model}", model) + endpoint


def assert_key_sent(service: Service, headers: dict[str, str], key: str = KEY) -> None:
    if service.key_header == "api-key":
        assert headers["api-key"] == key and "authorization" not in headers
    else:
        assert headers["authorization"] == f"Bearer {key}"


async def test_chat_request_and_reply(stub: ServiceStub) -> None:
    service, a = stub.service, await adapter(stub)
    reply = await a.chat_completion(chat(service, temperature=0.5, max_tokens=7))
    assert reply.choices[0].message.content == "echo: hi there" and reply.usage.total_tokens == 5
    sent = stub.requests[-1]
    assert sent["path"] == path_of(service, "/chat/completions", service.models[0])
    expected_query = {"api-version": service.api_version} if service.api_version else {}
    assert sent["query"] == expected_query
    assert_key_sent(service, sent["headers"])
    assert sent["body"]["messages"] == [{"role": "user", "content": "hi there"}]
    assert (sent["body"]["model"], sent["body"]["temperature"]) == (service.models[0], 0.5)
    await a.shutdown()


async def test_streamed_reply(stub: ServiceStub) -> None:
    a = await adapter(stub)
    chunks = [c async for c in await a.chat_completion(chat(stub.service, stream=True))]
    # Azure's first event (the prompt's filter results, no choices, object "") carries no chunk.
    assert all(c.choices for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "echo: hi there"
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert stub.requests[-1]["body"]["stream"] is True
    await a.shutdown()


async def test_tool_calls_plain_and_streamed(stub: ServiceStub) -> None:
    a = await adapter(stub)
    reply = await a.chat_completion(chat(stub.service, tools=TOOLS))
    (call,) = reply.choices[0].message.tool_calls
    assert (call.function.name, call.function.arguments) == ("get_weather", '{"city": "Paris"}')
    assert reply.choices[0].finish_reason == "tool_calls"  # Gemini's "stop" included
    assert stub.requests[-1]["body"]["tools"] == TOOLS
    chunks = [
        c async for c in await a.chat_completion(chat(stub.service, tools=TOOLS, stream=True))
    ]
    deltas = [d for c in chunks for d in c.choices[0].delta.tool_calls or []]
    assert {d.index for d in deltas} == {0} and deltas[0].id == "call_1"
    assert deltas[0].function.name == "get_weather"
    assert "".join(d.function.arguments or "" for d in deltas) == '{"city": "Paris"}'
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    await a.shutdown()


@pytest.mark.parametrize(
    ("status", "error", "match"),
    [
        (404, NotFoundError, "not found"),
        (429, RateLimitError, "slow down"),
        (500, ProviderError, "500: boom"),
    ],
)
async def test_errors_map_to_ours(
    stub: ServiceStub, status: int, error: type[LlamaWorkbenchError], match: str
) -> None:
    a = await adapter(stub)
    if status == 404:  # an unknown model (an unknown deployment, on Azure's deployments API)
        request = chat(stub.service, model="nope")
    else:
        stub.fail_next(status, "slow down" if status == 429 else "boom", {"Retry-After": "3"})
        request = chat(stub.service)
    with pytest.raises(error, match=match) as info:
        await a.chat_completion(request)
    if status == 429:
        assert info.value.retry_after == 3.0  # type: ignore[attr-defined]
    await a.shutdown()


async def test_a_wrong_key_is_a_credentials_error_that_never_shows_the_key(
    stub: ServiceStub,
) -> None:
    a = await adapter(stub, api_key="sk-wrong-secret")
    with pytest.raises(ProviderError, match="rejected our credentials") as info:
        await a.chat_completion(chat(stub.service))
    assert info.value.upstream_status in (400, 401)  # Gemini says 400 API_KEY_INVALID
    assert "sk-wrong-secret" not in str(info.value)
    assert "sk-wrong-secret" not in repr(a.config) and "sk-wrong-secret" not in str(
        a.config.model_dump()
    )
    await a.shutdown()


async def test_a_key_given_per_request_wins_and_is_the_callers_to_fix(stub: ServiceStub) -> None:
    field = FIELDS[stub.service.name]
    a = await adapter(stub, api_key="sk-configured-but-wrong")
    with provider_data({field: KEY}):
        reply = await a.chat_completion(chat(stub.service))
    assert reply.choices[0].message.content == "echo: hi there"
    assert_key_sent(stub.service, stub.requests[-1]["headers"])
    with provider_data({field: "sk-callers-wrong"}), pytest.raises(AuthenticationError) as info:
        await a.chat_completion(chat(stub.service))
    assert field in str(info.value) and "sk-callers-wrong" not in str(info.value)
    await a.shutdown()


@pytest.mark.parametrize("name", KEYLESS)
async def test_without_a_key_nothing_is_sent_and_the_error_names_the_field(
    name: str, stubs: dict[str, ServiceStub]
) -> None:
    stub = stubs[name]
    a, before = await adapter(stub, api_key=None), len(stub.requests)
    listed = [m.provider_model_id for m in await a.list_provider_models()]
    assert listed == list(stub.service.extra_config.get("models", []))  # configured ones only
    with pytest.raises(AuthenticationError, match=f'"{FIELDS[stub.service.name]}"'):
        await a.chat_completion(chat(stub.service))
    assert len(stub.requests) == before
    await a.shutdown()


async def test_model_listing(stub: ServiceStub) -> None:
    a = await adapter(stub)
    listed = {m.provider_model_id: m for m in await a.list_provider_models()}
    assert set(stub.service.models) <= set(listed) or stub.service.api_version
    if stub.service.name == "databricks":
        assert stub.requests[-1]["path"] == "/api/2.0/serving-endpoints"
    if stub.service.api_version:  # Azure's deployments API lists no deployments
        assert list(listed) == ["chat-deployment"]
    expected = {"models/text-embedding-004": 768, "databricks-gte-large-en": 1024}
    expected |= {"nvidia/nv-embedqa-e5-v5": 512, "text-embedding-3-small": 4}
    for model in set(listed) & set(expected):
        assert listed[model].model_type == ModelType.embedding
        assert listed[model].metadata == {"embedding_dimension": expected[model]}
    await a.shutdown()


async def test_embeddings_where_the_service_has_them(stub: ServiceStub) -> None:
    service, a = stub.service, await adapter(stub)
    model = service.embedding_model
    if model is None:  # Cerebras, the Llama API: refused here, nothing sent
        before = len(stub.requests)
        with pytest.raises(BadRequestError, match="does not serve /embeddings"):
            await a.embeddings(EmbeddingsRequest(model="any", input=["abc"]))
        assert len(stub.requests) == before
        return await a.shutdown()
    extra = {"input_type": "query"} if service.name == "nvidia" else {}
    vectors = await a.embeddings(EmbeddingsRequest(model=model, input=["abc", "de"], **extra))
    assert [d.embedding[0] for d in vectors.data] == [3.0, 2.0]
    assert vectors.usage.prompt_tokens == (0 if service.name == "gemini" else 2)
    sent = stub.requests[-1]
    assert sent["path"] == path_of(service, "/embeddings", model)
    assert sent["body"] == {
        "model": model,
        "input": ["abc", "de"],
        "encoding_format": "float",
        **extra,
    }
    assert_key_sent(service, sent["headers"])
    if service.name == "nvidia":  # its asymmetric models need input_type: NVIDIA's 400, ours
        with pytest.raises(BadRequestError, match="input_type"):
            await a.embeddings(EmbeddingsRequest(model=model, input=["abc"]))
    await a.shutdown()


async def test_completions_where_the_service_has_them(stub: ServiceStub) -> None:
    service, a = stub.service, await adapter(stub)
    request = CompletionRequest(model=service.models[0], prompt="this")
    if service.name == "llama-openai-compat":
        with pytest.raises(BadRequestError, match=r"does not serve /completions: .*chat"):
            await a.completion(request)
        return await a.shutdown()
    done = await a.completion(request)
    assert done.choices[0].text == " and more"
    assert stub.requests[-1]["path"] == path_of(service, "/completions", service.models[0])
    await a.shutdown()
