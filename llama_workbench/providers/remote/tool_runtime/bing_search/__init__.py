"""remote::bing-search: the builtin::websearch group's web_search tool, by Bing Web Search."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.remote.tool_runtime.bing_search.config import BingSearchToolConfig

if TYPE_CHECKING:
    from llama_workbench.providers.remote.tool_runtime.bing_search.impl import BingSearchToolRuntime


async def create(config: BingSearchToolConfig, deps: ProviderDeps) -> BingSearchToolRuntime:
    from llama_workbench.providers.remote.tool_runtime.bing_search.impl import BingSearchToolRuntime

    return BingSearchToolRuntime(deps.provider_id, config)
