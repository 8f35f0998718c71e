"""Configuration of the SambaNova provider (Llama Stack 0.7.3's keys)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr

from llama_workbench.providers.utils.openai_compat import OpenAICompatConfig


class SambaNovaConfig(OpenAICompatConfig):
    """SambaNova Cloud. It does not fetch image URLs itself: they are fetched here and sent
    inline, as Llama Stack 0.7.3 does."""

    provider_data_api_key_field: ClassVar[str | None] = "sambanova_api_key"
    requires_api_key: ClassVar[bool] = True
    download_images: ClassVar[bool] = True

    base_url: str = Field(
        "https://api.sambanova.ai/v1", description="The OpenAI-compatible base URL, ending in /v1."
    )
    api_key: SecretStr | None = Field(
        None, description="A SambaNova Cloud API key (SAMBANOVA_API_KEY), sent as a bearer token."
    )
    supports_top_k: bool = True
