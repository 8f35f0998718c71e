"""remote::passthrough: requests forwarded to another Llama Stack server's OpenAI-compatible API."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llama_workbench.core.datatypes import ProviderDeps

if TYPE_CHECKING:
    from llama_workbench.providers.remote.inference.passthrough.config import PassthroughConfig
    from llama_workbench.providers.remote.inference.passthrough.impl import PassthroughAdapter


async def create(config: PassthroughConfig, deps: ProviderDeps) -> PassthroughAdapter:
    """The shared OpenAI-compatible adapter, pointed at another Llama Stack server."""
    from llama_workbench.providers.remote.inference.passthrough.impl import PassthroughAdapter

    return PassthroughAdapter(deps.provider_id, config)
