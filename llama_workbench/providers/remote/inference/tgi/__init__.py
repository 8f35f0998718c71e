"""remote::tgi: A text-generation-inference server (its Messages API)."""

from __future__ import annotations

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.remote.inference.tgi.config import TGIConfig
from llama_workbench.providers.utils.openai_compat import OpenAICompatAdapter


async def create(config: TGIConfig, deps: ProviderDeps) -> OpenAICompatAdapter:
    """The shared OpenAI-compatible adapter, pointed at TGI."""
    return OpenAICompatAdapter(deps.provider_id, config)
