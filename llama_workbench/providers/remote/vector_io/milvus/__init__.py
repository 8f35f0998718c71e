"""remote::milvus: vector stores in a Milvus server (vectors, and BM25 full text by Milvus)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.remote.vector_io.milvus.config import MilvusVectorIOConfig

if TYPE_CHECKING:
    from llama_workbench.providers.remote.vector_io.milvus.impl import MilvusVectorIO


async def create(config: MilvusVectorIOConfig, deps: ProviderDeps) -> MilvusVectorIO:
    """The provider; it connects on first use, so a stack builds while the server is down."""
    from llama_workbench.providers.remote.vector_io.milvus.impl import MilvusVectorIO

    return MilvusVectorIO(config, deps)
