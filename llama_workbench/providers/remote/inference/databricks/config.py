"""Configuration of the Databricks provider (Llama Stack 0.7.3's keys; its api_token is
api_key)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr, field_validator

from llama_workbench.providers.utils.openai_compat import OpenAICompatConfig

SERVING_PATH = "/serving-endpoints"


class DatabricksConfig(OpenAICompatConfig):
    """Databricks Model Serving: a workspace's serving endpoints, by name, with a token."""

    provider_data_api_key_field: ClassVar[str | None] = "databricks_api_token"
    requires_api_key: ClassVar[bool] = True

    base_url: str = Field(
        description=(
            "The workspace's serving endpoints: https://<workspace>/serving-endpoints (the "
            "workspace URL alone, e.g. DATABRICKS_HOST, gets /serving-endpoints added)."
        )
    )
    api_key: SecretStr | None = Field(
        None,
        description="A Databricks token (api_token in Llama Stack's run configs; "
        "DATABRICKS_TOKEN), sent as a bearer token.",
    )
    supports_top_k: bool = True
    # Databricks' pay-per-token embedding endpoints, as Llama Stack 0.7.3 sizes them.
    embedding_models: dict[str, int] = Field(
        default_factory=lambda: {"databricks-gte-large-en": 1024, "databricks-bge-large-en": 1024},
        description="Embedding model ids and their dimensions.",
    )

    @field_validator("base_url")
    @classmethod
    def _serving_endpoints(cls, value: str) -> str:
        value = value.rstrip("/")
        return value if value.endswith(SERVING_PATH) else value + SERVING_PATH

    @property
    def workspace_url(self) -> str:
        """The workspace's URL (its REST API lives under /api/2.0)."""
        return self.base_url.removesuffix(SERVING_PATH)
