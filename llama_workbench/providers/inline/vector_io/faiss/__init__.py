"""inline::faiss: vector stores in faiss indexes, persisted to disk."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.inline.vector_io.faiss.config import FaissVectorIOConfig

if TYPE_CHECKING:
    from llama_workbench.providers.inline.vector_io.faiss.impl import FaissVectorIO


async def create(config: FaissVectorIOConfig, deps: ProviderDeps) -> FaissVectorIO:
    from llama_workbench.providers.inline.vector_io.faiss.impl import FaissVectorIO

    impl = FaissVectorIO(config, deps)
    await impl.initialize()
    return impl
