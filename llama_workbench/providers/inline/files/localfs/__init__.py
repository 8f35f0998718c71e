"""inline::localfs: the Files API on the local disk."""

from __future__ import annotations

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.inline.files.localfs.config import LocalfsFilesConfig


async def create(config: LocalfsFilesConfig, deps: ProviderDeps) -> object:
    from llama_workbench.providers.inline.files.localfs.impl import LocalfsFiles

    impl = LocalfsFiles(config, deps)
    await impl.initialize()
    return impl
