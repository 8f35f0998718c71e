"""Configuration of the Llama API provider (Llama Stack 0.7.3's keys)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr

from llama_workbench.providers.utils.openai_compat import OpenAICompatConfig


class LlamaCompatConfig(OpenAICompatConfig):
    """Meta's Llama API through its OpenAI-compatible endpoint: chat completions only."""

    provider_data_api_key_field: ClassVar[str | None] = "llama_api_key"
    requires_api_key: ClassVar[bool] = True
    unserved: ClassVar[dict[str, str]] = {
        "/completions": "the Llama API's compatible endpoint serves chat completions only",
        "/embeddings": "the Llama API's compatible endpoint serves no embeddings",
    }

    base_url: str = Field(
        "https://api.llama.com/compat/v1",
        description="The Llama API's OpenAI-compatible base URL.",
    )
    api_key: SecretStr | None = Field(
        None, description="A Llama API key (LLAMA_API_KEY), sent as a bearer token."
    )
    supports_top_k: bool = True
