"""remote::runpod: A RunPod endpoint's OpenAI-compatible API."""

from __future__ import annotations

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.remote.inference.runpod.config import RunpodConfig
from llama_workbench.providers.utils.openai_compat import OpenAICompatAdapter


async def create(config: RunpodConfig, deps: ProviderDeps) -> OpenAICompatAdapter:
    """The shared OpenAI-compatible adapter, pointed at a RunPod endpoint."""
    return OpenAICompatAdapter(deps.provider_id, config)
