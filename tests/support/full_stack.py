"""A run config that enables every API of Llama Stack 0.7.3's list, over a stub model server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.stub_server import STORAGE_WITH_COMPLETIONS, stub_stack_config

# The APIs besides inference, each with one provider that runs offline.
EXTRA_PROVIDERS: dict[str, list[dict[str, Any]]] = {
    "files": [{"provider_id": "fs", "provider_type": "inline::localfs", "config": {}}],
    "vector_io": [{"provider_id": "faiss", "provider_type": "inline::faiss", "config": {}}],
    "tool_runtime": [{"provider_id": "rag", "provider_type": "inline::rag-runtime"}],
    "safety": [{"provider_id": "pii", "provider_type": "inline::pii", "config": {}}],
    "responses": [{"provider_id": "builtin", "provider_type": "inline::builtin"}],
    "datasetio": [{"provider_id": "localfs", "provider_type": "inline::localfs"}],
    "scoring": [{"provider_id": "basic", "provider_type": "inline::basic"}],
    "eval": [{"provider_id": "builtin", "provider_type": "inline::builtin"}],
    "batches": [{"provider_id": "reference", "provider_type": "inline::reference"}],
    "file_processors": [{"provider_id": "pypdf", "provider_type": "inline::pypdf"}],
}


def full_stack_config(base_url: str, data_dir: Path) -> dict[str, Any]:
    """Inference from the stub at `base_url` (chat model "m", 3-dimensional embeddings "e"),
    and files, vector stores, the RAG tool, a PII shield, responses, datasets, scoring, eval,
    batches and file processors in-process."""
    config = stub_stack_config(
        base_url,
        data_dir,
        provider_config={"embedding_models": {"e": 3}, "max_retries": 0},
        storage=STORAGE_WITH_COMPLETIONS,
        vector_stores={"default_embedding_model": {"provider_id": "s", "model_id": "e"}},
    )
    config["apis"] += list(EXTRA_PROVIDERS)
    config["registered_resources"] = {"shields": [{"shield_id": "pii", "provider_id": "pii"}]}
    config["providers"].update(EXTRA_PROVIDERS)
    return config
