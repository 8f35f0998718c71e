"""remote::watsonx: IBM watsonx.ai (chat, streaming, tool calls, embeddings; IAM tokens)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llama_workbench.core.datatypes import ProviderDeps

if TYPE_CHECKING:
    from llama_workbench.providers.remote.inference.watsonx.config import WatsonXConfig
    from llama_workbench.providers.remote.inference.watsonx.impl import WatsonXAdapter


async def create(config: WatsonXConfig, deps: ProviderDeps) -> WatsonXAdapter:
    """watsonx.ai's own APIs, authenticated by IBM Cloud IAM tokens from the API key."""
    from llama_workbench.providers.remote.inference.watsonx.impl import WatsonXAdapter

    return WatsonXAdapter(deps.provider_id, config)
