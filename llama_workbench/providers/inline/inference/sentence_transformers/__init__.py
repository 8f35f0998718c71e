"""inline::sentence-transformers: embeddings from local sentence-transformers models, in-process."""

from __future__ import annotations

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.inline.inference.sentence_transformers.config import (
    SentenceTransformersConfig,
)
from llama_workbench.providers.inline.inference.sentence_transformers.impl import (
    SentenceTransformersImpl,
)

__all__ = ["SentenceTransformersConfig", "SentenceTransformersImpl", "create"]


async def create(
    config: SentenceTransformersConfig, deps: ProviderDeps
) -> SentenceTransformersImpl:
    """Build the provider; the model loads on the first embeddings request, not here."""
    return SentenceTransformersImpl(config, deps.provider_id)
