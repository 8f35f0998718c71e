"""remote::vertexai: Vertex AI's OpenAI-compatible endpoint (an access token, or Google's ADC)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llama_workbench.core.datatypes import ProviderDeps

if TYPE_CHECKING:
    from llama_workbench.providers.remote.inference.vertexai.config import VertexAIConfig
    from llama_workbench.providers.remote.inference.vertexai.impl import VertexAIAdapter


async def create(config: VertexAIConfig, deps: ProviderDeps) -> VertexAIAdapter:
    """The shared OpenAI-compatible adapter, pointed at Vertex AI with Google's auth."""
    from llama_workbench.providers.remote.inference.vertexai.impl import VertexAIAdapter

    return VertexAIAdapter(deps.provider_id, config)
