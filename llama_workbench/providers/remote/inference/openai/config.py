"""Configuration of the OpenAI provider."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from llama_workbench.providers.utils.openai_compat import OpenAICompatConfig


class OpenAIConfig(OpenAICompatConfig):
    """OpenAI's API."""

    provider_data_api_key_field: ClassVar[str | None] = "openai_api_key"  # as Llama Stack 0.7.3

    base_url: str = Field(
        "https://api.openai.com/v1", description="The OpenAI-compatible base URL, ending in /v1."
    )
    supports_top_k: bool = False
