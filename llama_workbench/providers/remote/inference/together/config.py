"""Configuration of the Together provider."""

from __future__ import annotations

from pydantic import Field

from llama_workbench.providers.utils.openai_compat import OpenAICompatConfig


class TogetherConfig(OpenAICompatConfig):
    """Together AI."""

    base_url: str = Field(
        "https://api.together.xyz/v1", description="The OpenAI-compatible base URL, ending in /v1."
    )
    supports_top_k: bool = True
