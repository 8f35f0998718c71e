"""remote::tavily-search: the builtin::websearch group's web_search tool, by Tavily."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.remote.tool_runtime.tavily_search.config import (
    TavilySearchToolConfig,
)

if TYPE_CHECKING:
    from llama_workbench.providers.remote.tool_runtime.tavily_search.impl import (
        TavilySearchToolRuntime,
    )


async def create(config: TavilySearchToolConfig, deps: ProviderDeps) -> TavilySearchToolRuntime:
    from llama_workbench.providers.remote.tool_runtime.tavily_search.impl import (
        TavilySearchToolRuntime,
    )

    return TavilySearchToolRuntime(deps.provider_id, config)
