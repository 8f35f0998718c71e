"""Rerank through the OpenAI-compatible adapter against a stub rerank server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from llama_workbench.apis.inference.rerank_models import RerankRequest
from llama_workbench.apis.models.models import ModelType
from llama_workbench.core.errors import BadRequestError, NotFoundError, ProviderError
from llama_workbench.providers.remote.inference.nvidia.config import NVIDIAConfig
from llama_workbench.providers.remote.inference.vllm.config import VLLMConfig
from llama_workbench.providers.utils.openai_compat import OpenAICompatAdapter
from tests.support.rerank_server import StubRerankServer

ITEMS = ["a recipe for apple pie", "banana and apple smoothie", "the stock market today"]


@pytest.fixture
def stub() -> Iterator[StubRerankServer]:
    with StubRerankServer(models=["m"]) as server:
        yield server


def vllm(stub: StubRerankServer, **config: Any) -> OpenAICompatAdapter:
    settings = {"base_url": stub.base_url, "backoff_s": 0.0, "rerank_models": ["r"], **config}
    return OpenAICompatAdapter("v", VLLMConfig(**settings))


async def test_cohere_shaped_rerank_and_top_n(stub: StubRerankServer) -> None:
    adapter = vllm(stub)
    ranked = await adapter.rerank(RerankRequest(model="r", query="apple banana", items=ITEMS))
    assert [d.index for d in ranked.data] == [1, 0, 2]
    assert [d.relevance_score for d in ranked.data] == [1.0, 0.5, 0.0]
    top = await adapter.rerank(
        RerankRequest(
            model="r",
            query={"type": "text", "text": "apple banana"},
            items=[ITEMS[0], {"type": "text", "text": ITEMS[1]}, ITEMS[2]],
            max_num_results=1,
        )
    )
    assert [(d.index, d.relevance_score) for d in top.data] == [(1, 1.0)]
    sent = stub.requests[-1]
    assert sent["path"] == "/v1/rerank"
    assert sent["body"] == {"model": "r", "query": "apple banana", "documents": ITEMS, "top_n": 1}
    await adapter.shutdown()


async def test_rerank_models_are_listed_with_their_type(stub: StubRerankServer) -> None:
    adapter = vllm(stub)
    types = {m.provider_model_id: m.model_type for m in await adapter.list_provider_models()}
    assert types == {"m": ModelType.llm, "r": ModelType.rerank}
    await adapter.shutdown()


async def test_nvidia_shaped_rerank(stub: StubRerankServer) -> None:
    adapter = OpenAICompatAdapter(
        "n", NVIDIAConfig(base_url=stub.base_url, backoff_s=0.0, discover_models=False)
    )
    ranked = await adapter.rerank(
        RerankRequest(model="nv-rerank", query="apple banana", items=ITEMS, max_num_results=2)
    )
    assert [(d.index, d.relevance_score) for d in ranked.data] == [(1, 5.0), (0, 0.0)]
    sent = stub.requests[-1]
    assert sent["path"] == "/v1/ranking"
    assert sent["body"]["query"] == {"text": "apple banana"}
    assert sent["body"]["passages"][2] == {"text": ITEMS[2]}
    await adapter.shutdown()


async def test_rerank_errors(stub: StubRerankServer) -> None:
    adapter = vllm(stub)
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    with pytest.raises(BadRequestError, match=r"items\[1\].*image"):
        await adapter.rerank(RerankRequest(model="r", query="q", items=["a", image]))
    stub.fail_next(400, '{"error": {"message": "bad top_n"}}')
    with pytest.raises(BadRequestError, match="bad top_n"):
        await adapter.rerank(RerankRequest(model="r", query="q", items=["a"]))
    missing = vllm(stub, rerank_path="/no-such-rerank")
    with pytest.raises(NotFoundError):
        await missing.rerank(RerankRequest(model="r", query="q", items=["a"]))
    wrong = OpenAICompatAdapter(
        "w", VLLMConfig(base_url=stub.base_url, rerank_path="/completions", backoff_s=0.0)
    )
    with pytest.raises(ProviderError, match="unexpected rerank response"):
        await wrong.rerank(RerankRequest(model="r", query="q", items=["a"]))
    for adapter_ in (adapter, missing, wrong):
        await adapter_.shutdown()
