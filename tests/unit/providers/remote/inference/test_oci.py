"""remote::oci against a stand-in of OCI Generative AI on 127.0.0.1 that checks every request's
OCI signature as OCI documents it (tests/support/oci_api.py), made by the oci package from a
user's key in an OCI config file; chat, streaming, tool calls, embeddings, model listing,
errors; a cassette replays offline."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from llama_workbench.apis.inference.models import ChatCompletionRequest, EmbeddingsRequest
from llama_workbench.core.errors import (
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    ProviderError,
    RateLimitError,
)
from llama_workbench.providers.remote.inference.oci.config import OCIConfig
from llama_workbench.providers.remote.inference.oci.impl import OCIAdapter
from llama_workbench.providers.utils.recording import recording
from tests.support.hosted_stub import HostedStub
from tests.support.oci_api import CHAT, COMPARTMENT, EMBED, OciUser
from tests.support.stub_server import free_port

pytest.importorskip("oci")

CASSETTES = Path(__file__).parents[4] / "data" / "cassettes" / "oci"
TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
]
USER = OciUser()
MADE: list[Any] = []


@pytest.fixture(scope="module")
def api() -> Iterator[HostedStub]:
    with HostedStub(USER.routes) as stub:
        yield stub


@pytest.fixture(scope="module")
def config_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return USER.write_config(tmp_path_factory.mktemp("oci"))


@pytest.fixture(autouse=True)
async def _shut_down() -> AsyncIterator[None]:
    yield
    while MADE:
        await MADE.pop().shutdown()


def adapter(base: str, config_file: Path, **config: Any) -> OCIAdapter:
    settings = {
        "oci_auth_type": "config_file",
        "oci_config_file_path": str(config_file),
        "oci_compartment_id": COMPARTMENT,
        "base_url": f"{base}/20231130/actions/v1",
        "management_url": f"{base}/20231130",
        "backoff_s": 0.0,
    }
    made = OCIAdapter("oci", OCIConfig(**(settings | config)))
    MADE.append(made)
    return made


def chat(**kw: Any) -> ChatCompletionRequest:
    messages = [{"role": "user", "content": "hi"}]
    return ChatCompletionRequest(model=kw.pop("model", CHAT), messages=messages, **kw)


def test_endpoints_from_the_region_as_llama_stack() -> None:
    config = OCIConfig(oci_region="eu-frankfurt-1", oci_compartment_id=COMPARTMENT)
    assert (
        config.base_url
        == "https://inference.generativeai.eu-frankfurt-1.oci.oraclecloud.com/20231130/actions/v1"
    )
    assert config.oci_auth_type == "instance_principal"
    keyless = OCIAdapter("oci", OCIConfig(oci_compartment_id=""))  # as 0.7.3's oci distribution
    assert asyncio.run(keyless.list_provider_models()) == []
    with pytest.raises(BadRequestError, match="no oci_compartment_id"):
        asyncio.run(keyless.chat_completion(chat()))
    asyncio.run(keyless.shutdown())


async def test_signed_chat_streaming_tools_and_embeddings(
    api: HostedStub, config_file: Path
) -> None:
    a = adapter(api.url, config_file)
    reply = await a.chat_completion(chat(max_tokens=12))
    sent = api.requests[-1]
    assert sent["path"] == "/20231130/actions/v1/chat/completions"
    signature = sent["headers"]["authorization"]
    assert signature.startswith("Signature ") and 'algorithm="rsa-sha256"' in signature
    assert sent["headers"]["compartmentid"] == COMPARTMENT
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
    vectors = await a.embeddings(EmbeddingsRequest(model=EMBED, input=["abcd"]))
    assert vectors.data[0].embedding == [4.0, 0.5]


async def test_models_listed_as_llama_stack_lists_them(api: HostedStub, config_file: Path) -> None:
    listed = {
        m.provider_model_id: m for m in await adapter(api.url, config_file).list_provider_models()
    }
    assert list(listed) == [CHAT, EMBED]  # no fine-tunable base, no deprecated one; two pages
    assert listed[EMBED].model_type == "embedding"
    queries = [r["query"] for r in api.requests[-2:]]
    assert queries[0] == {"compartmentId": COMPARTMENT, "lifecycleState": "ACTIVE"}
    assert queries[1]["page"] == "2"


async def test_wrong_key_other_errors_and_no_config(
    api: HostedStub, config_file: Path, tmp_path: Path
) -> None:
    stranger = OciUser().write_config(tmp_path)  # the same ids, another key
    with pytest.raises(ProviderError, match=r"\(401\): The required information") as info:
        await adapter(api.url, stranger).chat_completion(chat())
    assert info.value.upstream_status == 401
    with pytest.raises(NotFoundError, match="Authorization failed or requested resource not found"):
        await adapter(
            api.url, config_file, oci_compartment_id="ocid1.compartment.oc1..other"
        ).chat_completion(chat())
    with pytest.raises(NotFoundError, match="does not exist"):
        await adapter(api.url, config_file).chat_completion(chat(model="meta.nope"))
    api.fail_next(
        429, {"code": "TooManyRequests", "message": "Too many requests for the tenancy"}, times=2
    )
    with pytest.raises(RateLimitError, match="Too many requests for the tenancy"):
        await adapter(api.url, config_file, max_retries=1).chat_completion(chat())
    api.fail_next(500, {"code": "InternalServerError", "message": "Internal error"})
    with pytest.raises(ProviderError, match="500: Internal error"):
        await adapter(api.url, config_file, max_retries=0).chat_completion(chat(stream=True))
    with pytest.raises(AuthenticationError, match="no usable config_file credentials"):
        await adapter(api.url, tmp_path / "missing").chat_completion(chat())


async def test_cassette_replays_offline(config_file: Path) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    with recording("replay", CASSETTES):
        a = adapter(nowhere, config_file)
        question = [{"role": "user", "content": "What is OCI Generative AI?"}]
        reply = await a.chat_completion(
            ChatCompletionRequest(model=CHAT, messages=question, max_tokens=80)
        )
    assert reply.choices[0].message.content.startswith(
        "OCI Generative AI is a fully managed service"
    )
    assert reply.usage.total_tokens == 40
