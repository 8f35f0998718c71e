"""remote::vllm: A vLLM server."""

from __future__ import annotations

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.remote.inference.vllm.config import VLLMConfig
from llama_workbench.providers.utils.openai_compat import OpenAICompatAdapter


async def create(config: VLLMConfig, deps: ProviderDeps) -> OpenAICompatAdapter:
    """The shared OpenAI-compatible adapter, pointed at vLLM."""
    return OpenAICompatAdapter(deps.provider_id, config)
