"""remote::weaviate: vector stores in Weaviate classes (nearVector and BM25 by Weaviate)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.remote.vector_io.weaviate.config import WeaviateVectorIOConfig

if TYPE_CHECKING:
    from llama_workbench.providers.remote.vector_io.weaviate.impl import WeaviateVectorIO


async def create(config: WeaviateVectorIOConfig, deps: ProviderDeps) -> WeaviateVectorIO:
    """The provider; it connects on first use, so a stack builds while the server is down."""
    from llama_workbench.providers.remote.vector_io.weaviate.impl import WeaviateVectorIO

    return WeaviateVectorIO(config, deps)
