"""Rerank on our server: POST /v1alpha/inference/rerank, and vector-store search reranked by a
rerank model (named by ranking_options.model or the config's default_reranker_model)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from llama_workbench import Stack
from llama_workbench.server.runner import BackgroundServer, start_server
from tests.support.rerank_server import StubRerankServer
from tests.support.stub_server import free_port

# The stub embeds a text as [len(text), 1, 0]: vector search ranks by closeness of length, so
# "apple pie" (near the query's length) comes first; the stub reranker ranks by the share of
# the query's words a chunk holds, so the long chunk with both words comes first once reranked.
QUERY = "apple banana"
SHORT = "apple pie"
LONG = "banana bread with apple and cinnamon, baked slowly"


@pytest.fixture(scope="module")
def stub() -> Iterator[StubRerankServer]:
    with StubRerankServer(models=["m", "e"]) as server:
        yield server


def _config(stub: StubRerankServer, data_dir: Path) -> dict[str, Any]:
    return {
        "data_dir": str(data_dir),
        "apis": ["inference", "vector_io"],
        "providers": {
            "inference": [
                {
                    "provider_id": "s",
                    "provider_type": "remote::vllm",
                    "config": {
                        "base_url": stub.base_url,
                        "embedding_models": {"e": 3},
                        "rerank_models": ["r"],
                        "backoff_s": 0.0,
                    },
                }
            ],
            "vector_io": [{"provider_id": "faiss", "provider_type": "inline::faiss", "config": {}}],
        },
        "vector_stores": {
            "default_embedding_model": {"provider_id": "s", "model_id": "e"},
            "default_reranker_model": {"provider_id": "s", "model_id": "r"},
        },
    }


@pytest.fixture(scope="module")
def server(
    stub: StubRerankServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[BackgroundServer, str]]:
    config = _config(stub, tmp_path_factory.mktemp("rerank-server"))
    with Stack.from_config(config) as stack:
        store = stack.vector_io.create_vector_store(name="fruit")
        chunks = [{"content": text, "chunk_id": f"c{i}"} for i, text in enumerate([SHORT, LONG])]
        stack.vector_io.insert_chunks(store.id, chunks)
        with start_server(stack, port=free_port()) as running:
            yield running, store.id


def test_rerank_route(server: tuple[BackgroundServer, str]) -> None:
    running, _ = server
    body = {"model": "s/r", "query": QUERY, "items": [SHORT, "plums", LONG], "max_num_results": 2}
    answer = httpx.post(f"{running.url}/v1alpha/inference/rerank", json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "data": [{"index": 2, "relevance_score": 1.0}, {"index": 0, "relevance_score": 0.5}]
    }
    models = httpx.get(f"{running.url}/v1/models").json()["data"]
    assert {m["id"]: m["custom_metadata"]["model_type"] for m in models}["s/r"] == "rerank"


def test_rerank_refuses_other_models_and_bad_input(server: tuple[BackgroundServer, str]) -> None:
    running, _ = server
    url = f"{running.url}/v1alpha/inference/rerank"
    wrong = httpx.post(url, json={"model": "s/m", "query": "q", "items": ["a"]})
    assert wrong.status_code == 400 and "chat" in wrong.json()["error"]["message"]
    empty = httpx.post(url, json={"model": "s/r", "query": "q", "items": []})
    assert empty.status_code == 400 and empty.json()["error"]["param"] == "items"
    unknown = httpx.post(url, json={"model": "nope", "query": "q", "items": ["a"]})
    assert unknown.status_code == 404


def _search(running: BackgroundServer, store_id: str, **body: Any) -> list[tuple[str, float]]:
    answer = httpx.post(
        f"{running.url}/v1/vector_stores/{store_id}/search", json={"query": QUERY, **body}
    )
    assert answer.status_code == 200, answer.text
    return [(r["content"][0]["text"], r["score"]) for r in answer.json()["data"]]


def test_reranking_changes_a_searchs_order(server: tuple[BackgroundServer, str]) -> None:
    running, store_id = server
    plain = _search(running, store_id)
    assert [text for text, _ in plain] == [SHORT, LONG]
    by_model = _search(running, store_id, ranking_options={"model": "s/r"})
    assert by_model == [(LONG, 1.0), (SHORT, 0.5)]
    by_default = _search(running, store_id, ranking_options={"ranker": "neural"})
    assert by_default == by_model
    assert _search(running, store_id, ranking_options={"model": "s/r"}, max_num_results=1) == [
        (LONG, 1.0)
    ]


def test_rerank_in_vector_io_query(server: tuple[BackgroundServer, str]) -> None:
    running, store_id = server
    body = {"vector_store_id": store_id, "query": QUERY, "params": {"ranker": {"type": "neural"}}}
    answer = httpx.post(f"{running.url}/v1/vector-io/query", json=body)
    assert answer.status_code == 200, answer.text
    assert [c["content"] for c in answer.json()["chunks"]] == [LONG, SHORT]
