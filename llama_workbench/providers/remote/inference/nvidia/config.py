"""Configuration of the NVIDIA provider."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from llama_workbench.providers.utils.openai_compat import OpenAICompatConfig


class NVIDIAConfig(OpenAICompatConfig):
    """NVIDIA's hosted API (integrate.api.nvidia.com) or a self-hosted NIM."""

    base_url: str = Field(
        "https://integrate.api.nvidia.com/v1",
        description="The OpenAI-compatible base URL, ending in /v1.",
    )
    rerank_path: str = Field(
        "/ranking",
        description=(
            "A NIM's ranking endpoint under base_url; for a hosted reranker, its full URL "
            "(https://ai.api.nvidia.com/v1/retrieval/<publisher>/<model>/reranking)."
        ),
    )
    rerank_protocol: Literal["cohere", "nvidia"] = "nvidia"
    supports_top_k: bool = False
