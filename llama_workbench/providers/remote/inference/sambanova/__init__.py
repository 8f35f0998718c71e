"""remote::sambanova: SambaNova Cloud (OpenAI-compatible)."""

from __future__ import annotations

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.remote.inference.sambanova.config import SambaNovaConfig
from llama_workbench.providers.utils.openai_compat import OpenAICompatAdapter


async def create(config: SambaNovaConfig, deps: ProviderDeps) -> OpenAICompatAdapter:
    """The shared OpenAI-compatible adapter, pointed at SambaNova."""
    return OpenAICompatAdapter(deps.provider_id, config)
