"""Config of remote::chromadb: a Chroma server's URL, credentials, tenant and database."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from llama_workbench.providers.utils.vector_io import CollectionPrefix


class ChromaVectorIOConfig(BaseModel):
    """A Chroma server (its v2 REST API): one cosine collection per vector store."""

    model_config = ConfigDict(extra="allow")  # Llama Stack's `persistence:` is accepted, unused

    url: str = Field("http://localhost:8000", description="The Chroma server.")
    api_key: SecretStr | None = Field(None, description="A token for servers with token auth.")
    api_key_header: str = Field(
        "X-Chroma-Token",
        description="The header the token goes in; 'Authorization' sends it as a bearer token.",
    )
    tenant: str = "default_tenant"
    database: str = Field("default_database", description="Created if it does not exist.")
    collection_prefix: CollectionPrefix = Field(
        "llw_", description="Each store's collection is this prefix plus a hash of its id."
    )
    timeout: float = Field(30.0, gt=0, description="Seconds per request.")

    @field_validator("api_key", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        # `${env.CHROMA_API_KEY:=}` in a run config yields "" when the variable is not set.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/]", value):
            raise ValueError("url must be an http(s) URL, e.g. http://localhost:8000")
        return value.rstrip("/")
