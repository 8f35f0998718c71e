"""remote::brave-search: the builtin::websearch group's web_search tool, by Brave Search."""

from __future__ import annotations

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.remote.tool_runtime.brave_search.config import (
    BraveSearchToolConfig,
)


async def create(config: BraveSearchToolConfig, deps: ProviderDeps) -> object:
    from llama_workbench.providers.remote.tool_runtime.brave_search.impl import (
        BraveSearchToolRuntime,
    )

    return BraveSearchToolRuntime(deps.provider_id, config)
