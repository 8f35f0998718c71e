"""remote::pgvector: vector stores in PostgreSQL with the pgvector extension."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.remote.vector_io.pgvector.config import PGVectorVectorIOConfig

if TYPE_CHECKING:
    from llama_workbench.providers.remote.vector_io.pgvector.impl import PGVectorVectorIO


async def create(config: PGVectorVectorIOConfig, deps: ProviderDeps) -> PGVectorVectorIO:
    """The provider; it connects on first use, so a stack builds while the database is down."""
    from llama_workbench.providers.remote.vector_io.pgvector.impl import PGVectorVectorIO

    return PGVectorVectorIO(config, deps)
