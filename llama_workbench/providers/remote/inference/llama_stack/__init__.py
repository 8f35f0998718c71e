"""remote::llama-stack: Another Llama Stack or llama_workbench server."""

from __future__ import annotations

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.remote.inference.llama_stack.config import LlamaStackConfig
from llama_workbench.providers.utils.openai_compat import OpenAICompatAdapter


async def create(config: LlamaStackConfig, deps: ProviderDeps) -> OpenAICompatAdapter:
    """The shared OpenAI-compatible adapter, pointed at Llama Stack."""
    return OpenAICompatAdapter(deps.provider_id, config)
