"""inline::milvus: vector stores in Milvus Lite, the Milvus engine in this process."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.inline.vector_io.milvus.config import MilvusLiteVectorIOConfig

if TYPE_CHECKING:
    from llama_workbench.providers.remote.vector_io.milvus.impl import MilvusVectorIO


async def create(config: MilvusLiteVectorIOConfig, deps: ProviderDeps) -> MilvusVectorIO:
    """The provider; Milvus Lite starts on first use."""
    from llama_workbench.providers.remote.vector_io.milvus.impl import MilvusVectorIO

    return MilvusVectorIO(config, deps)
