"""Config of remote::milvus: a Milvus server's URI, token, consistency and client settings."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

# Milvus's own consistency levels (Milvus docs, "Consistency Level").
ConsistencyLevel = Literal["Strong", "Session", "Bounded", "Eventually"]
# What MilvusClient takes besides uri and token (passed through as Llama Stack 0.7.3 does).
CLIENT_SETTINGS = frozenset(
    {
        "user", "password", "db_name", "timeout", "secure", "server_pem_path", "server_name",
        "client_pem_path", "client_key_path", "ca_pem_path", "keep_alive",
    }
)  # fmt: skip


class MilvusVectorIOConfig(BaseModel):
    """A Milvus server: one cosine collection per store, BM25 full-text search by Milvus."""

    # Llama Stack 0.7.3 passes extra fields to the Milvus client: the client's settings
    # (CLIENT_SETTINGS) are passed on; any other name is refused, never ignored.
    model_config = ConfigDict(extra="allow")

    uri: str = Field(description="The Milvus server, e.g. http://localhost:19530.")
    token: SecretStr | None = Field(
        None, description="The server's token: 'user:password' or an API key."
    )
    consistency_level: ConsistencyLevel = Field(
        "Strong", description="Milvus consistency level of the collections and their reads."
    )

    @field_validator("token", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        # `${env.MILVUS_TOKEN:=}` in a run config yields "" when the variable is not set.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("uri")
    @classmethod
    def _server_uri(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("uri must name a Milvus server, e.g. http://localhost:19530")
        if value.endswith(".db"):
            raise ValueError(
                "a .db file is Milvus Lite: use provider_type inline::milvus with db_path"
            )
        return value.strip()

    @model_validator(mode="after")
    def _known_client_settings(self) -> MilvusVectorIOConfig:
        unknown = sorted(set(self.model_extra or {}) - CLIENT_SETTINGS)
        if unknown:
            raise ValueError(
                f"unknown setting(s) {', '.join(unknown)}; the Milvus client takes "
                f"{', '.join(sorted(CLIENT_SETTINGS))}"
            )
        return self

    def client_settings(self) -> dict[str, Any]:
        """The extra settings passed to MilvusClient."""
        return dict(self.model_extra or {})
