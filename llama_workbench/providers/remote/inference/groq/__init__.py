"""remote::groq: Groq."""

from __future__ import annotations

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.remote.inference.groq.config import GroqConfig
from llama_workbench.providers.utils.openai_compat import OpenAICompatAdapter


async def create(config: GroqConfig, deps: ProviderDeps) -> OpenAICompatAdapter:
    """The shared OpenAI-compatible adapter, pointed at Groq."""
    return OpenAICompatAdapter(deps.provider_id, config)
