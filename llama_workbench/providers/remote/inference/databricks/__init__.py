"""remote::databricks: Databricks Model Serving (a workspace URL and a token)."""

from __future__ import annotations

from llama_workbench.core.datatypes import ProviderDeps
from llama_workbench.providers.remote.inference.databricks.config import DatabricksConfig
from llama_workbench.providers.remote.inference.databricks.impl import DatabricksAdapter


async def create(config: DatabricksConfig, deps: ProviderDeps) -> DatabricksAdapter:
    """The shared OpenAI-compatible adapter, pointed at a Databricks workspace."""
    return DatabricksAdapter(deps.provider_id, config)
