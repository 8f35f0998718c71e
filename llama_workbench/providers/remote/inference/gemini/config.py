"""Configuration of the Gemini provider (Llama Stack 0.7.3's keys)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr

from llama_workbench.providers.utils.openai_compat import OpenAICompatConfig


class GeminiConfig(OpenAICompatConfig):
    """Google's Gemini API through its OpenAI-compatible endpoint."""

    provider_data_api_key_field: ClassVar[str | None] = "gemini_api_key"
    requires_api_key: ClassVar[bool] = True

    base_url: str = Field(
        "https://generativelanguage.googleapis.com/v1beta/openai",
        description="Gemini's OpenAI-compatible base URL.",
    )
    api_key: SecretStr | None = Field(
        None, description="A Gemini API key (GEMINI_API_KEY), sent as a bearer token."
    )
    supports_top_k: bool = False
    # Gemini lists its models as models/<name>; the embedding models' sizes as 0.7.3 has them.
    embedding_models: dict[str, int] = Field(
        default_factory=lambda: {
            "models/text-embedding-004": 768,
            "models/gemini-embedding-001": 3072,
        },
        description="Embedding model ids and their dimensions.",
    )
