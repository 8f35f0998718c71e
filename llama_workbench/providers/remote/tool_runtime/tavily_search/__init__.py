"""remote::tavily-search: the builtin::websearch group's web_search tool, by Tavily."""

from __future__ import annotations

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.remote.tool_runtime.tavily_search.config import (
    TavilySearchToolConfig,
)


async def create(config: TavilySearchToolConfig, deps: ProviderDeps) -> object:
    from llama_workbench.providers.remote.tool_runtime.tavily_search.impl import (
        TavilySearchToolRuntime,
    )

    return TavilySearchToolRuntime(deps.provider_id, config)
