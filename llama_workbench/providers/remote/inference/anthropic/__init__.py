"""remote::anthropic: Anthropic's Messages API (system prompts, tool use, streaming events)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llama_workbench.core.datatypes import ProviderDeps

if TYPE_CHECKING:
    from llama_workbench.providers.remote.inference.anthropic.config import AnthropicConfig
    from llama_workbench.providers.remote.inference.anthropic.impl import AnthropicAdapter


async def create(config: AnthropicConfig, deps: ProviderDeps) -> AnthropicAdapter:
    """The Messages API adapter (the key: api_key, or provider data anthropic_api_key)."""
    from llama_workbench.providers.remote.inference.anthropic.impl import AnthropicAdapter

    return AnthropicAdapter(deps.provider_id, config)
