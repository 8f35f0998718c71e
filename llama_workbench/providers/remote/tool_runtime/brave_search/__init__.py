"""remote::brave-search: the builtin::websearch group's web_search tool, by Brave Search."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.remote.tool_runtime.brave_search.config import (
    BraveSearchToolConfig,
)

if TYPE_CHECKING:
    from llama_workbench.providers.remote.tool_runtime.brave_search.impl import (
        BraveSearchToolRuntime,
    )


async def create(config: BraveSearchToolConfig, deps: ProviderDeps) -> BraveSearchToolRuntime:
    from llama_workbench.providers.remote.tool_runtime.brave_search.impl import (
        BraveSearchToolRuntime,
    )

    return BraveSearchToolRuntime(deps.provider_id, config)
