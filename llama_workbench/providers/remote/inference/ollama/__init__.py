"""remote::ollama: An Ollama server (its OpenAI-compatible endpoint)."""

from __future__ import annotations

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.remote.inference.ollama.config import OllamaConfig
from llama_workbench.providers.utils.openai_compat import OpenAICompatAdapter


async def create(config: OllamaConfig, deps: ProviderDeps) -> OpenAICompatAdapter:
    """The shared OpenAI-compatible adapter, pointed at Ollama."""
    return OpenAICompatAdapter(deps.provider_id, config)
