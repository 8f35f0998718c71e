"""remote::llama-cpp: A llama.cpp server (llama-server)."""

from __future__ import annotations

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.remote.inference.llama_cpp.config import LlamaCppServerConfig
from llama_workbench.providers.utils.openai_compat import OpenAICompatAdapter


async def create(config: LlamaCppServerConfig, deps: ProviderDeps) -> OpenAICompatAdapter:
    """The shared OpenAI-compatible adapter, pointed at llama.cpp server."""
    return OpenAICompatAdapter(deps.provider_id, config)
