"""inline::sqlite-vec: vector stores in SQLite with the sqlite-vec extension."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.inline.vector_io.sqlite_vec.config import SqliteVecVectorIOConfig

if TYPE_CHECKING:
    from llama_workbench.providers.inline.vector_io.sqlite_vec.impl import SqliteVecVectorIO


async def create(config: SqliteVecVectorIOConfig, deps: ProviderDeps) -> SqliteVecVectorIO:
    from llama_workbench.providers.inline.vector_io.sqlite_vec.impl import SqliteVecVectorIO

    impl = SqliteVecVectorIO(config, deps)
    await impl.initialize()
    return impl
