"""remote::fireworks: Fireworks AI."""

from __future__ import annotations

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.remote.inference.fireworks.config import FireworksConfig
from llama_workbench.providers.utils.openai_compat import OpenAICompatAdapter


async def create(config: FireworksConfig, deps: ProviderDeps) -> OpenAICompatAdapter:
    """The shared OpenAI-compatible adapter, pointed at Fireworks."""
    return OpenAICompatAdapter(deps.provider_id, config)
