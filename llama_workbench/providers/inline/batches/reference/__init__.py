"""inline::reference batches: JSONL files of requests run in the background (resumable)."""

from __future__ import annotations

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.inline.batches.reference.config import ReferenceBatchesConfig


async def create(config: ReferenceBatchesConfig, deps: ProviderDeps) -> object:
    from llama_workbench.providers.inline.batches.reference.impl import ReferenceBatches

    impl = ReferenceBatches(config, deps)
    await impl.initialize()
    return impl
