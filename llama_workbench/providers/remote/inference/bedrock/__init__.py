"""remote::bedrock: Amazon Bedrock's OpenAI-compatible endpoint (a Bedrock API key, or SigV4)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llama_workbench.core.datatypes import ProviderDeps

if TYPE_CHECKING:
    from llama_workbench.providers.remote.inference.bedrock.config import BedrockConfig
    from llama_workbench.providers.remote.inference.bedrock.impl import BedrockAdapter


async def create(config: BedrockConfig, deps: ProviderDeps) -> BedrockAdapter:
    """The shared OpenAI-compatible adapter, pointed at Bedrock, signing when it has no key."""
    from llama_workbench.providers.remote.inference.bedrock.impl import BedrockAdapter

    return BedrockAdapter(deps.provider_id, config)
