"""Configuration of the Llama Stack provider."""

from __future__ import annotations

from pydantic import Field

from llama_workbench.providers.utils.openai_compat import OpenAICompatConfig


class LlamaStackConfig(OpenAICompatConfig):
    """Another Llama Stack or llama_workbench server."""

    base_url: str = Field(
        "http://localhost:8321/v1", description="The OpenAI-compatible base URL, ending in /v1."
    )
    supports_top_k: bool = True
