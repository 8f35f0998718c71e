"""remote::openai: OpenAI's API."""

from __future__ import annotations

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.remote.inference.openai.config import OpenAIConfig
from llama_workbench.providers.utils.openai_compat import OpenAICompatAdapter


async def create(config: OpenAIConfig, deps: ProviderDeps) -> OpenAICompatAdapter:
    """The shared OpenAI-compatible adapter, pointed at OpenAI."""
    return OpenAICompatAdapter(deps.provider_id, config)
