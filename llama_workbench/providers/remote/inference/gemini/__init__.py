"""remote::gemini: Google's Gemini API (its OpenAI-compatible endpoint)."""

from __future__ import annotations

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.remote.inference.gemini.config import GeminiConfig
from llama_workbench.providers.remote.inference.gemini.impl import GeminiAdapter


async def create(config: GeminiConfig, deps: ProviderDeps) -> GeminiAdapter:
    """The shared OpenAI-compatible adapter, pointed at Gemini."""
    return GeminiAdapter(deps.provider_id, config)
