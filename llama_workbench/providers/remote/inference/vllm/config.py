"""Configuration of the vLLM provider."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from llama_workbench.providers.utils.openai_compat import OpenAICompatConfig


class VLLMConfig(OpenAICompatConfig):
    """A vLLM server."""

    provider_data_api_key_field: ClassVar[str | None] = "vllm_api_token"  # as Llama Stack 0.7.3

    base_url: str = Field(
        "http://localhost:8000/v1", description="The OpenAI-compatible base URL, ending in /v1."
    )
    supports_top_k: bool = True
