"""inline::localfs (datasetio): datasets from local files, data:/http(s) URIs and inline rows."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.inline.datasetio.localfs.config import LocalfsDatasetIOConfig

if TYPE_CHECKING:
    from llama_workbench.providers.inline.datasetio.localfs.impl import LocalfsDatasetIO


async def create(config: LocalfsDatasetIOConfig, deps: ProviderDeps) -> LocalfsDatasetIO:
    from llama_workbench.providers.inline.datasetio.localfs.impl import LocalfsDatasetIO

    return LocalfsDatasetIO(deps.provider_id, config, await deps.storage.kv(config.kvstore))
