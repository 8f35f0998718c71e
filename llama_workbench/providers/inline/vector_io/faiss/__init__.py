"""inline::faiss: vector stores in faiss indexes, persisted to disk."""

from __future__ import annotations

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.inline.vector_io.faiss.config import FaissVectorIOConfig


async def create(config: FaissVectorIOConfig, deps: ProviderDeps) -> object:
    from llama_workbench.providers.inline.vector_io.faiss.impl import FaissVectorIO

    impl = FaissVectorIO(config, deps)
    await impl.initialize()
    return impl
