"""remote::model-context-protocol: the tools of MCP servers (stdio or streamable HTTP) as tool groups."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.remote.tool_runtime.model_context_protocol.config import (
    ModelContextProtocolConfig,
)

if TYPE_CHECKING:
    from llama_workbench.providers.remote.tool_runtime.model_context_protocol.impl import (
        ModelContextProtocolToolRuntime,
    )


async def create(
    config: ModelContextProtocolConfig, deps: ProviderDeps
) -> ModelContextProtocolToolRuntime:
    from llama_workbench.providers.remote.tool_runtime.model_context_protocol.impl import (
        ModelContextProtocolToolRuntime,
    )

    kv = await deps.storage.kv(config.persistence) if config.persistence is not None else None
    impl = ModelContextProtocolToolRuntime(deps.provider_id, config, kv)
    await impl.initialize()
    return impl
