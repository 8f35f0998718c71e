"""Config of remote::qdrant: a Qdrant server (url) or qdrant-client's local mode (path)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from llama_workbench.providers.utils.vector_io import CollectionPrefix


class QdrantVectorIOConfig(BaseModel):
    """Where Qdrant runs: exactly one of `url` (a server) or `path` (in-process, on disk)."""

    model_config = ConfigDict(extra="allow")  # Llama Stack's `persistence:` is accepted, unused

    url: str | None = Field(None, description="A Qdrant server, e.g. http://localhost:6333.")
    api_key: SecretStr | None = Field(None, description="Sent to the server as its api-key.")
    path: str | None = Field(
        None,
        description="Local mode: qdrant-client's embedded engine, persisted in this folder "
        "(relative to the data dir). For one process at a time; use a server beyond that.",
    )
    prefer_grpc: bool = Field(False, description="Talk gRPC instead of REST.")
    grpc_port: int = Field(6334, description="The server's gRPC port (with prefer_grpc).")
    timeout: int = Field(30, ge=1, description="Seconds per request to the server.")
    collection_prefix: CollectionPrefix = Field(
        "llw_", description="Each store's collection is this prefix plus a hash of its id."
    )

    @field_validator("url", "path", "api_key", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        # `${env.QDRANT_URL:=}` in a run config yields "" when the variable is not set.
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _one_location(self) -> QdrantVectorIOConfig:
        if (self.url is None) == (self.path is None):
            raise ValueError(
                "remote::qdrant needs exactly one of `url` (a Qdrant server, e.g. "
                "http://localhost:6333) or `path` (local mode: a folder for the embedded engine)"
                + ("; both are set" if self.url is not None else "; neither is set")
            )
        return self
