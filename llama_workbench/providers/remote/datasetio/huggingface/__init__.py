"""remote::huggingface (datasetio): datasets through the `datasets` library (hub ids, local paths)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.remote.datasetio.huggingface.config import (
    HuggingfaceDatasetIOConfig,
)

if TYPE_CHECKING:
    from llama_workbench.providers.remote.datasetio.huggingface.impl import HuggingfaceDatasetIO


async def create(config: HuggingfaceDatasetIOConfig, deps: ProviderDeps) -> HuggingfaceDatasetIO:
    from llama_workbench.providers.remote.datasetio.huggingface.impl import (
        HuggingfaceDatasetIO,
    )

    return HuggingfaceDatasetIO(deps.provider_id, config, await deps.storage.kv(config.kvstore))
