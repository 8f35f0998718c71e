"""remote::cerebras: Cerebras Cloud (OpenAI-compatible; no embeddings)."""

from __future__ import annotations

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.remote.inference.cerebras.config import CerebrasConfig
from llama_workbench.providers.utils.openai_compat import OpenAICompatAdapter


async def create(config: CerebrasConfig, deps: ProviderDeps) -> OpenAICompatAdapter:
    """The shared OpenAI-compatible adapter, pointed at Cerebras."""
    return OpenAICompatAdapter(deps.provider_id, config)
