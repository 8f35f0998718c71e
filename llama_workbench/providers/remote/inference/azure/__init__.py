"""remote::azure: Azure OpenAI (the v1 API, or deployments with an api-version)."""

from __future__ import annotations

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.remote.inference.azure.config import AzureConfig
from llama_workbench.providers.remote.inference.azure.impl import AzureAdapter


async def create(config: AzureConfig, deps: ProviderDeps) -> AzureAdapter:
    """The shared OpenAI-compatible adapter at Azure's URLs, with Azure's key header."""
    return AzureAdapter(deps.provider_id, config)
