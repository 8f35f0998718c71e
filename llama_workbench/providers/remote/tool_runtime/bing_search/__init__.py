"""remote::bing-search: the builtin::websearch group's web_search tool, by Bing Web Search."""

from __future__ import annotations

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.remote.tool_runtime.bing_search.config import BingSearchToolConfig


async def create(config: BingSearchToolConfig, deps: ProviderDeps) -> object:
    from llama_workbench.providers.remote.tool_runtime.bing_search.impl import BingSearchToolRuntime

    return BingSearchToolRuntime(deps.provider_id, config)
