"""remote::together: Together AI."""

from __future__ import annotations

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.remote.inference.together.config import TogetherConfig
from llama_workbench.providers.utils.openai_compat import OpenAICompatAdapter


async def create(config: TogetherConfig, deps: ProviderDeps) -> OpenAICompatAdapter:
    """The shared OpenAI-compatible adapter, pointed at Together."""
    return OpenAICompatAdapter(deps.provider_id, config)
