"""Configuration of the OpenAI provider."""

from __future__ import annotations

from pydantic import Field

from llama_workbench.providers.utils.openai_compat import OpenAICompatConfig


class OpenAIConfig(OpenAICompatConfig):
    """OpenAI's API."""

    base_url: str = Field(
        "https://api.openai.com/v1", description="The OpenAI-compatible base URL, ending in /v1."
    )
    supports_top_k: bool = False
