"""remote::elasticsearch: vector stores in Elasticsearch indexes (kNN and BM25 by the cluster)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.remote.vector_io.elasticsearch.config import (
    ElasticsearchVectorIOConfig,
)

if TYPE_CHECKING:
    from llama_workbench.providers.remote.vector_io.elasticsearch.impl import ElasticsearchVectorIO


async def create(config: ElasticsearchVectorIOConfig, deps: ProviderDeps) -> ElasticsearchVectorIO:
    """The provider; it connects on first use, so a stack builds while the cluster is down."""
    from llama_workbench.providers.remote.vector_io.elasticsearch.impl import ElasticsearchVectorIO

    return ElasticsearchVectorIO(config, deps)
