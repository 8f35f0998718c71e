"""Configuration of the Anthropic provider (Llama Stack 0.7.3's keys: api_key, plus the common
allowed_models / refresh_models / network, mapped at load)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator

from llama_workbench.providers.utils.openai_compat import OpenAICompatConfig


class AnthropicConfig(OpenAICompatConfig):
    """Anthropic's Messages API (`x-api-key`; per request: provider data `anthropic_api_key`)."""

    provider_data_api_key_field: ClassVar[str | None] = "anthropic_api_key"
    requires_api_key: ClassVar[bool] = True
    unserved: ClassVar[dict[str, str]] = {
        "/completions": "Anthropic has no text completions API; use /v1/chat/completions",
        "/embeddings": "Anthropic's API has no embeddings; use another provider's model",
    }

    base_url: str = Field(
        "https://api.anthropic.com/v1", description="The Messages API's base URL, ending in /v1."
    )
    anthropic_version: str = Field(
        "2023-06-01", description="Sent as the anthropic-version header."
    )
    default_max_tokens: int | None = Field(
        4096,
        ge=1,
        description="max_tokens of requests that set none (the Messages API requires one).",
    )
    supports_top_k: bool = True

    @model_validator(mode="after")
    def _chat_only(self) -> AnthropicConfig:
        for name in ("embedding_models", "rerank_models"):
            if getattr(self, name):
                raise ValueError(f"{name}: Anthropic's API serves no such models")
        return self
