"""The vector stores router: files -> chunks -> embeddings -> a vector index provider, and search."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from llama_workbench.core.datatypes import Api
from llama_workbench.core.vector_stores.router import VectorStoresRouter

if TYPE_CHECKING:
    from llama_workbench.core.build_context import BuildContext

__all__ = ["VectorStoresRouter", "build_vector_io"]


async def build_vector_io(ctx: BuildContext) -> dict[Api, Any]:
    from llama_workbench.execution.engine import build_engine

    kv = await ctx.storage.kv("metadata")
    router = VectorStoresRouter(
        ctx.providers,
        kv,
        ctx.apis[Api.inference],
        ctx.apis[Api.models],
        ctx.apis.get(Api.files),
        ctx.config.vector_stores,
        engine=build_engine(ctx.config),
    )
    await router.initialize()
    return {Api.vector_io: router}
