"""inline::transformers: causal LMs (a local folder or a GGUF file) served in-process."""

from __future__ import annotations

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.inline.inference.transformers.config import (
    TransformersInferenceConfig,
)
from llama_workbench.providers.inline.inference.transformers.impl import TransformersInferenceImpl

__all__ = ["TransformersInferenceConfig", "TransformersInferenceImpl", "create"]


async def create(
    config: TransformersInferenceConfig, deps: ProviderDeps
) -> TransformersInferenceImpl:
    """Build the provider; no weights load here (the first request loads its model)."""
    return TransformersInferenceImpl(config, deps.provider_id, deps.data_dir)
