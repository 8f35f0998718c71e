"""remote::wolfram-alpha: the builtin::wolfram_alpha group's wolfram_alpha tool."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.remote.tool_runtime.wolfram_alpha.config import (
    WolframAlphaToolConfig,
)

if TYPE_CHECKING:
    from llama_workbench.providers.remote.tool_runtime.wolfram_alpha.impl import (
        WolframAlphaToolRuntime,
    )


async def create(config: WolframAlphaToolConfig, deps: ProviderDeps) -> WolframAlphaToolRuntime:
    from llama_workbench.providers.remote.tool_runtime.wolfram_alpha.impl import (
        WolframAlphaToolRuntime,
    )

    return WolframAlphaToolRuntime(deps.provider_id, config)
