"""remote::pgvector: vector stores in PostgreSQL with the pgvector extension."""

from __future__ import annotations

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.remote.vector_io.pgvector.config import PGVectorVectorIOConfig


async def create(config: PGVectorVectorIOConfig, deps: ProviderDeps) -> object:
    """The provider; it connects on first use, so a stack builds while the database is down."""
    from llama_workbench.providers.remote.vector_io.pgvector.impl import PGVectorVectorIO

    return PGVectorVectorIO(config, deps)
