"""Configuration of the TGI provider."""

from __future__ import annotations

from pydantic import Field

from llama_workbench.providers.utils.openai_compat import OpenAICompatConfig


class TGIConfig(OpenAICompatConfig):
    """A text-generation-inference server (its Messages API)."""

    base_url: str = Field(
        "http://localhost:8080/v1", description="The OpenAI-compatible base URL, ending in /v1."
    )
    supports_top_k: bool = True
