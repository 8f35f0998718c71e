"""remote::qdrant: vector stores in Qdrant (a server, or qdrant-client's local mode)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.remote.vector_io.qdrant.config import QdrantVectorIOConfig

if TYPE_CHECKING:
    from llama_workbench.providers.remote.vector_io.qdrant.impl import QdrantVectorIO


async def create(config: QdrantVectorIOConfig, deps: ProviderDeps) -> QdrantVectorIO:
    """The provider; it connects on first use, so a stack builds while the server is down."""
    from llama_workbench.providers.remote.vector_io.qdrant.impl import QdrantVectorIO

    return QdrantVectorIO(config, deps)
