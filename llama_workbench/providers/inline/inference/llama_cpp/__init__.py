"""inline::llama-cpp: GGUF models served in-process by llama.cpp (the `llama-cpp` extra)."""

from __future__ import annotations

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.inline.inference.llama_cpp.config import LlamaCppInferenceConfig
from llama_workbench.providers.inline.inference.llama_cpp.impl import LlamaCppInferenceImpl

__all__ = ["LlamaCppInferenceConfig", "LlamaCppInferenceImpl", "create"]


async def create(config: LlamaCppInferenceConfig, deps: ProviderDeps) -> LlamaCppInferenceImpl:
    """Build the provider; llama-cpp-python is imported and the model loaded on first use."""
    return LlamaCppInferenceImpl(config, deps.provider_id)
