"""Fixtures of the tracing tests: model servers on 127.0.0.1 and run configs with telemetry on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.scripted_llm import ScriptedModelServer
from tests.support.stub_server import StubOpenAIServer

EMBED_KEY = "sk-embed-secret-0042"
MODEL = "scripted/scripted-model"
EMBED_MODEL = "embed/stub-embed"


@pytest.fixture(scope="module")
def chat_server() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as server:
        yield server


@pytest.fixture(scope="module")
def embed_server() -> Iterator[StubOpenAIServer]:
    """Embeddings (and echo chat) behind an API key; it keeps every request's headers."""
    with StubOpenAIServer(models=["stub-embed", "stub-model"], api_key=EMBED_KEY) as server:
        yield server


def embed_provider(server: StubOpenAIServer) -> dict[str, Any]:
    return {
        "provider_id": "embed",
        "provider_type": "remote::vllm",
        "config": {
            "base_url": server.base_url,
            "api_key": EMBED_KEY,
            "embedding_models": {"stub-embed": 3},
        },
    }


def agent_config(
    data_dir: Path, chat: ScriptedModelServer, embed: StubOpenAIServer, **telemetry: Any
) -> dict[str, Any]:
    """Chat (scripted), embeddings (stub), files, faiss, RAG, Responses and a regex shield."""
    return {
        "data_dir": str(data_dir),
        "apis": ["inference", "files", "vector_io", "responses", "tool_runtime", "safety"],
        "providers": {
            "inference": [chat.provider_config(), embed_provider(embed)],
            "files": [{"provider_id": "localfs", "provider_type": "inline::localfs"}],
            "vector_io": [{"provider_id": "faiss", "provider_type": "inline::faiss"}],
            "responses": [{"provider_id": "builtin", "provider_type": "inline::builtin"}],
            "tool_runtime": [{"provider_id": "rag", "provider_type": "inline::rag-runtime"}],
            "safety": [
                {
                    "provider_id": "regex",
                    "provider_type": "inline::regex",
                    "config": {"blocked_words": ["blorple"]},
                }
            ],
        },
        "registered_resources": {"shields": [{"shield_id": "blocklist", "provider_id": "regex"}]},
        "telemetry": {"enabled": True, **telemetry},
    }


def embed_config(data_dir: Path, embed: StubOpenAIServer, **telemetry: Any) -> dict[str, Any]:
    """One remote provider (the stub): echo chat and embeddings."""
    return {
        "data_dir": str(data_dir),
        "apis": ["inference"],
        "providers": {"inference": [embed_provider(embed)]},
        "telemetry": telemetry,
    }
