"""remote::chromadb: vector stores in a Chroma server, over its REST API (httpx, no chromadb)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.remote.vector_io.chromadb.config import ChromaVectorIOConfig

if TYPE_CHECKING:
    from llama_workbench.providers.remote.vector_io.chromadb.impl import ChromaVectorIO


async def create(config: ChromaVectorIOConfig, deps: ProviderDeps) -> ChromaVectorIO:
    """The provider; it connects on first use, so a stack builds while the server is down."""
    from llama_workbench.providers.remote.vector_io.chromadb.impl import ChromaVectorIO

    return ChromaVectorIO(config, deps)
