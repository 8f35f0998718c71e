"""Config of remote::weaviate: Llama Stack 0.7.3's cluster URL and API key, plus a timeout."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from llama_workbench.providers.utils.vector_io import server_url


class WeaviateVectorIOConfig(BaseModel):
    """A Weaviate server or cloud cluster, over its REST and GraphQL API."""

    model_config = ConfigDict(extra="forbid")

    weaviate_cluster_url: str = Field(
        "localhost:8080",
        description="The server; without a scheme, http for localhost and https elsewhere "
        "(Weaviate Cloud).",
    )
    weaviate_api_key: SecretStr | None = Field(
        None, description="Sent as a bearer token (Weaviate Cloud, or API-key auth)."
    )
    timeout: float = Field(30.0, gt=0, description="Seconds per request.")

    @field_validator("weaviate_api_key", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("weaviate_cluster_url", mode="before")
    @classmethod
    def _url(cls, value: Any) -> Any:
        return (
            server_url(value, "weaviate_cluster_url", "localhost:8080")
            if value is not None
            else value
        )
