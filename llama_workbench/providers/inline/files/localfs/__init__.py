"""inline::localfs: the Files API on the local disk."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.inline.files.localfs.config import LocalfsFilesConfig

if TYPE_CHECKING:
    from llama_workbench.providers.inline.files.localfs.impl import LocalfsFiles


async def create(config: LocalfsFilesConfig, deps: ProviderDeps) -> LocalfsFiles:
    from llama_workbench.providers.inline.files.localfs.impl import LocalfsFiles

    impl = LocalfsFiles(config, deps)
    await impl.initialize()
    return impl
