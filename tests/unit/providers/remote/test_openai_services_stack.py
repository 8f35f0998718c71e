"""The hosted OpenAI-compatible services beyond the shared checks: their committed cassettes
replayed offline under the services' own URLs, what one service does differently (Azure's forms
and keys, NVIDIA's rerankers and keyless NIMs, SambaNova's image URLs, Gemini's signed tool
calls), and a Llama Stack run config naming all of them built into a stack and served."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from pydantic import ValidationError

from llama_workbench import Stack
from llama_workbench.apis.inference.models import ChatCompletionRequest, EmbeddingsRequest
from llama_workbench.apis.inference.rerank_models import RerankRequest
from llama_workbench.apis.models.models import ModelType
from llama_workbench.core.datatypes import Api
from llama_workbench.core.errors import BadRequestError, ProviderError
from llama_workbench.core.provider_data import HEADER, provider_data
from llama_workbench.providers.remote.inference.azure.config import AzureConfig
from llama_workbench.providers.remote.inference.nvidia.config import HOSTED_RERANKERS, NVIDIAConfig
from llama_workbench.providers.utils.recording import recording
from llama_workbench.server.runner import start_server
from tests.support.openai_services import KEY, SERVICES, ServiceStub, build_adapter
from tests.support.stub_server import free_port

# Each cassette's "comment" says which documentation its response shapes come from.
CASSETTES = Path(__file__).parents[3] / "data" / "cassettes" / "openai_services"
HI = [{"role": "user", "content": "hi there"}]


@pytest.mark.parametrize("name", list(SERVICES))
async def test_cassettes_replay_offline_under_the_services_own_urls(name: str) -> None:
    service, folder = SERVICES[name], CASSETTES / name
    for path in folder.glob("*.json"):
        assert "Response shape from " in json.loads(path.read_text(encoding="utf-8"))["comment"]
    with recording("replay", folder):
        a = await build_adapter(service, service.real_base)
        request = ChatCompletionRequest(model=service.models[0], messages=HI)
        reply = await a.chat_completion(request)
        assert reply.choices[0].message.content == "echo: hi there"
        streamed = request.model_copy(update={"stream": True})
        chunks = [c async for c in await a.chat_completion(streamed)]
        assert "".join(c.choices[0].delta.content or "" for c in chunks) == "echo: hi there"
        if name in ("gemini", "nvidia"):
            extra = {"input_type": "query"} if name == "nvidia" else {}
            model = str(service.embedding_model)
            vectors = await a.embeddings(EmbeddingsRequest(model=model, input=["abc"], **extra))
            assert vectors.data[0].embedding[0] == 3.0
        await a.shutdown()


async def test_azure_keys_versions_and_bases(stubs: dict[str, ServiceStub]) -> None:
    v1, deployments = stubs["azure"], stubs["azure-deployments"]
    a = await build_adapter(SERVICES["azure"], v1.base_url, api_type="azure_ad")
    await a.chat_completion(ChatCompletionRequest(model="gpt-4o-mini", messages=HI))
    sent = v1.requests[-1]
    assert sent["headers"]["authorization"] == f"Bearer {KEY}" and "api-key" not in sent["headers"]
    with provider_data({"azure_api_version": "2025-04-01-preview", "azure_api_type": "azure"}):
        await a.chat_completion(ChatCompletionRequest(model="gpt-4o-mini", messages=HI))
    sent = v1.requests[-1]
    assert sent["query"] == {"api-version": "2025-04-01-preview"} and "api-key" in sent["headers"]
    # A request's own base only with its own key: the configured key never goes elsewhere.
    with provider_data({"azure_api_base": deployments.url}), pytest.raises(BadRequestError):
        await a.chat_completion(ChatCompletionRequest(model="chat-deployment", messages=HI))
    own = {"azure_api_base": deployments.url, "azure_api_key": KEY}
    with provider_data(own | {"azure_api_version": "2024-10-21"}):
        await a.chat_completion(ChatCompletionRequest(model="chat-deployment", messages=HI))
    assert (
        deployments.requests[-1]["path"] == "/openai/deployments/chat-deployment/chat/completions"
    )
    await a.shutdown()


def test_azure_config_checks_its_form() -> None:
    resource = "https://contoso.openai.azure.com"
    with pytest.raises(ValidationError, match="api_version is required by the deployments API"):
        AzureConfig(base_url=resource)
    with pytest.raises(ValidationError, match="lists no deployments"):
        AzureConfig(base_url=resource, api_version="2024-10-21", discover_models=True)
    with pytest.raises(ValidationError, match="api_type"):
        AzureConfig(base_url=f"{resource}/openai/v1", api_type="bearer")
    v1 = AzureConfig(base_url=f"{resource}/openai/v1", api_version="", api_type="")
    assert (v1.discover_models, v1.api_version, v1.api_type) == (True, None, "azure")


async def test_nvidia_rerankers_and_keyless_nims(stubs: dict[str, ServiceStub]) -> None:
    stub = stubs["nvidia"]
    model = "nvidia/llama-3.2-nv-rerankqa-1b-v2"
    url = f"{stub.url}/v1/retrieval/nvidia/llama-3_2-nv-rerankqa-1b-v2/reranking"
    a = await build_adapter(SERVICES["nvidia"], stub.base_url, rerank_model_to_url={model: url})
    listed = {m.provider_model_id: m.model_type for m in await a.list_provider_models()}
    assert listed[model] == ModelType.rerank
    items = ["apple pie", "stock market", "apple banana smoothie"]
    ranked = await a.rerank(RerankRequest(model=model, query="apple banana", items=items))
    assert [d.index for d in ranked.data] == [2, 0, 1]
    sent = stub.requests[-1]
    assert sent["path"] == "/v1/retrieval/nvidia/llama-3_2-nv-rerankqa-1b-v2/reranking"
    assert sent["body"]["query"] == {"text": "apple banana"}
    assert sent["headers"]["authorization"] == f"Bearer {KEY}"
    hosted = NVIDIAConfig()
    assert hosted.rerank_model_to_url == HOSTED_RERANKERS and model in hosted.rerank_models
    assert NVIDIAConfig(base_url="http://nim:8000/v1").rerank_model_to_url == {}
    # A NIM of your own needs no key: the request goes out without one.
    nim = await build_adapter(SERVICES["nvidia"], stub.base_url, api_key=None)
    with pytest.raises(ProviderError, match="rejected our credentials"):
        await nim.chat_completion(
            ChatCompletionRequest(model="meta/llama-3.1-8b-instruct", messages=HI)
        )
    assert "authorization" not in stub.requests[-1]["headers"]
    await a.shutdown()
    await nim.shutdown()


async def test_sambanova_gets_images_inline(stubs: dict[str, ServiceStub]) -> None:
    stub, service = stubs["sambanova"], SERVICES["sambanova"]
    a = await build_adapter(service, stub.base_url)
    parts = [
        {"type": "text", "text": "what is this"},
        {"type": "image_url", "image_url": {"url": f"{stub.url}/images/dot.png"}},
    ]
    request = ChatCompletionRequest(
        model=service.models[0], messages=[{"role": "user", "content": parts}]
    )
    reply = await a.chat_completion(request)
    sent = stub.requests[-1]["body"]["messages"][0]["content"][1]["image_url"]["url"]
    assert sent.startswith("data:image/png;base64,") and sent in str(
        reply.choices[0].message.content
    )
    assert request.messages[0].content[1].image_url.url.startswith("http://")  # type: ignore[index, union-attr]
    parts[1] = {"type": "image_url", "image_url": {"url": f"{stub.url}/images/page.html"}}
    with pytest.raises(BadRequestError, match="is not an image"):
        await a.chat_completion(
            ChatCompletionRequest(
                model=service.models[0], messages=[{"role": "user", "content": parts}]
            )
        )
    await a.shutdown()


async def test_gemini_signed_tool_calls_go_back_with_the_conversation(
    stubs: dict[str, ServiceStub],
) -> None:
    stub, service = stubs["gemini"], SERVICES["gemini"]
    a = await build_adapter(service, stub.base_url)
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]
    model = service.models[0]
    reply = await a.chat_completion(ChatCompletionRequest(model=model, messages=HI, tools=tools))
    call = reply.choices[0].message.tool_calls[0]
    assert call.extra_content == {"google": {"thought_signature": "sig-1"}}
    history = [
        *HI,
        {"role": "assistant", "tool_calls": [call.model_dump(exclude_none=True)]},
        {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
    ]
    await a.chat_completion(ChatCompletionRequest(model=model, messages=history))
    sent = stub.requests[-1]["body"]["messages"][1]["tool_calls"][0]
    assert sent["extra_content"] == {"google": {"thought_signature": "sig-1"}}
    await a.shutdown()


def run_config(stubs: dict[str, ServiceStub], data_dir: Path) -> str:
    """Llama Stack 0.7.3's own keys for each provider (as its distributions write them)."""
    s = {name: stub.base_url for name, stub in stubs.items()}
    env_key = "${env.SERVICE_KEY:=}"
    providers = [
        ("gemini", {"api_key": "${env.GEMINI_API_KEY:=}", "base_url": s["gemini"]}),
        ("azure", {"api_key": env_key, "base_url": s["azure"],
                   "api_version": "${env.AZURE_API_VERSION:=}", "api_type": "${env.AZURE_API_TYPE:=}"}),
        ("sambanova", {"base_url": s["sambanova"], "api_key": env_key}),
        ("cerebras", {"base_url": s["cerebras"], "api_key": env_key}),
        ("databricks", {"base_url": stubs["databricks"].url, "api_token": env_key}),
        ("runpod", {"base_url": s["runpod"], "api_token": env_key}),
        ("llama-openai-compat", {"base_url": s["llama-openai-compat"], "api_key": env_key}),
        ("nvidia", {"base_url": s["nvidia"], "api_key": env_key, "timeout": 7}),
    ]  # fmt: skip
    config = {
        "version": 2,
        "image_name": "services",
        "apis": ["inference"],
        "providers": {
            "inference": [
                {"provider_id": name, "provider_type": f"remote::{name}", "config": config}
                for name, config in providers
            ]
        },
        # Without a key of its own, Gemini lists nothing: its model is registered, and each
        # request brings its key.
        "registered_resources": {
            "models": [
                {
                    "model_id": "gemini-flash",
                    "provider_id": "gemini",
                    "provider_model_id": SERVICES["gemini"].models[0],
                    "model_type": "llm",
                }
            ]
        },
        "storage": {
            "backends": {"kv_default": {"type": "kv_sqlite", "db_path": str(data_dir / "kv.db")}},
            "stores": {"metadata": {"backend": "kv_default", "namespace": "registry"}},
        },
    }
    return yaml.safe_dump(config)


def test_a_llama_stack_run_config_naming_them_builds_and_serves(
    stubs: dict[str, ServiceStub], tmp_path: Path
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(run_config(stubs, tmp_path), encoding="utf-8")
    with Stack.from_config(
        path, env={"SERVICE_KEY": KEY, "LLAMA_WORKBENCH_DATA_DIR": str(tmp_path)}
    ) as stack:
        assert stack.compat_notes == []  # every key honoured
        assert len(stack.provider_types["inference"]) == 8
        # Azure in its v1 form here (the deployments form is the same provider type).
        skip = ("gemini", "azure-deployments")
        served = [f"{s.name}/{s.models[0]}" for n, s in SERVICES.items() if n not in skip]
        for model in served:
            reply = stack.inference.chat_completion(model=model, messages=HI)
            assert reply.choices[0].message.content == "echo: hi there", model
        with provider_data({"gemini_api_key": KEY}):
            reply = stack.inference.chat_completion(model="gemini-flash", messages=HI)
            assert reply.choices[0].message.content == "echo: hi there"
        assert stubs["databricks"].requests[-1]["path"] == "/serving-endpoints/chat/completions"
        nvidia = next(p for p in stack._plan.providers[Api.inference] if p.provider_id == "nvidia")
        assert nvidia.config.timeout_s == 7.0  # type: ignore[attr-defined]
        with start_server(stack, port=free_port()) as server:
            url = f"{server.url}/v1/chat/completions"
            body: dict[str, Any] = {"model": "gemini-flash", "messages": HI}
            without = httpx.post(url, json=body, timeout=30)
            assert without.status_code == 401 and "gemini_api_key" in without.text
            header = {HEADER: json.dumps({"gemini_api_key": KEY})}
            given = httpx.post(url, json=body, headers=header, timeout=30)
            assert given.status_code == 200, given.text
            assert stubs["gemini"].requests[-1]["headers"]["authorization"] == f"Bearer {KEY}"
