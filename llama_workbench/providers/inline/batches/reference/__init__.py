"""inline::reference batches: JSONL files of requests run in the background (resumable)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.inline.batches.reference.config import ReferenceBatchesConfig

if TYPE_CHECKING:
    from llama_workbench.providers.inline.batches.reference.impl import ReferenceBatches


async def create(config: ReferenceBatchesConfig, deps: ProviderDeps) -> ReferenceBatches:
    from llama_workbench.providers.inline.batches.reference.impl import ReferenceBatches

    impl = ReferenceBatches(config, deps)
    await impl.initialize()
    return impl
