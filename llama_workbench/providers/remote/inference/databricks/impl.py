"""remote::databricks's adapter: OpenAI's protocol under /serving-endpoints; the endpoints are
listed from the workspace's REST API."""

from __future__ import annotations

from llama_workbench.core.errors import ProviderError
from llama_workbench.providers.remote.inference.databricks.config import DatabricksConfig
from llama_workbench.providers.utils.openai_compat import OpenAICompatAdapter


class DatabricksAdapter(OpenAICompatAdapter):
    config: DatabricksConfig

    async def _discover_model_ids(self) -> list[str]:
        # GET /api/2.0/serving-endpoints -> {"endpoints": [{"name": ..., "task": ...}, ...]}
        url = f"{self.config.workspace_url}/api/2.0/serving-endpoints"
        payload = await self._json("GET", url)
        endpoints = payload.get("endpoints", []) if isinstance(payload, dict) else None
        if not isinstance(endpoints, list):
            raise ProviderError(
                self.provider_id, f"unexpected serving-endpoints list: {str(payload)[:200]}"
            )
        return [str(e["name"]) for e in endpoints if isinstance(e, dict) and e.get("name")]
