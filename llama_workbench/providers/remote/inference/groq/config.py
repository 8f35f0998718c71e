"""Configuration of the Groq provider."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from llama_workbench.providers.utils.openai_compat import OpenAICompatConfig


class GroqConfig(OpenAICompatConfig):
    """Groq."""

    provider_data_api_key_field: ClassVar[str | None] = "groq_api_key"  # as Llama Stack 0.7.3

    base_url: str = Field(
        "https://api.groq.com/openai/v1",
        description="The OpenAI-compatible base URL, ending in /v1.",
    )
    supports_top_k: bool = False
