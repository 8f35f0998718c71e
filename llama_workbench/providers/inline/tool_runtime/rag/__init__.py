"""inline::rag-runtime: the builtin::rag tool group (knowledge_search over vector stores)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llama_workbench.core.datatypes import Api, ProviderDeps
from llama_workbench.providers.inline.tool_runtime.rag.config import RagToolRuntimeConfig

if TYPE_CHECKING:
    from llama_workbench.providers.inline.tool_runtime.rag.impl import RagToolRuntimeImpl


async def create(config: RagToolRuntimeConfig, deps: ProviderDeps) -> RagToolRuntimeImpl:
    from llama_workbench.providers.inline.tool_runtime.rag.impl import RagToolRuntimeImpl

    return RagToolRuntimeImpl(deps.provider_id, deps.apis[Api.vector_io], deps.apis.get(Api.files))
