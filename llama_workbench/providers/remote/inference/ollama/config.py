"""Configuration of the Ollama provider."""

from __future__ import annotations

from pydantic import Field

from llama_workbench.providers.utils.openai_compat import OpenAICompatConfig


class OllamaConfig(OpenAICompatConfig):
    """An Ollama server (its OpenAI-compatible endpoint)."""

    base_url: str = Field(
        "http://localhost:11434/v1", description="The OpenAI-compatible base URL, ending in /v1."
    )
    supports_top_k: bool = False
