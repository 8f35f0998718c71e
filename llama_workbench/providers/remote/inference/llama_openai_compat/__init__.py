"""remote::llama-openai-compat: Meta's Llama API, its OpenAI-compatible endpoint."""

from __future__ import annotations

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.remote.inference.llama_openai_compat.config import LlamaCompatConfig
from llama_workbench.providers.utils.openai_compat import OpenAICompatAdapter


async def create(config: LlamaCompatConfig, deps: ProviderDeps) -> OpenAICompatAdapter:
    """The shared OpenAI-compatible adapter, pointed at the Llama API."""
    return OpenAICompatAdapter(deps.provider_id, config)
