"""Config of remote::elasticsearch: Llama Stack 0.7.3's URL and API key, plus a timeout."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from llama_workbench.providers.utils.vector_io import server_url


class ElasticsearchVectorIOConfig(BaseModel):
    """An Elasticsearch cluster: one index per store (dense_vector, cosine; BM25 text)."""

    model_config = ConfigDict(extra="forbid")

    elasticsearch_url: str = Field(
        "localhost:9200",
        description="The cluster; without a scheme, http for localhost and https elsewhere.",
    )
    elasticsearch_api_key: SecretStr | None = Field(
        None, description="An Elasticsearch API key (the encoded id:key), sent as ApiKey."
    )
    timeout: float = Field(30.0, gt=0, description="Seconds per request.")

    @field_validator("elasticsearch_api_key", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        # `${env.ELASTICSEARCH_API_KEY:=}` yields "" when the variable is not set.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("elasticsearch_url", mode="before")
    @classmethod
    def _url(cls, value: Any) -> Any:
        return (
            server_url(value, "elasticsearch_url", "localhost:9200") if value is not None else value
        )
