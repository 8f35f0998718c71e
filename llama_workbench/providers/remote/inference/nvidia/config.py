"""Configuration of the NVIDIA provider (Llama Stack 0.7.3's keys; its `timeout` is timeout_s)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, SecretStr, model_validator

from llama_workbench.providers.utils.openai_compat import OpenAICompatConfig

HOSTED_HOST = "integrate.api.nvidia.com"
# The hosted rerankers' URLs, as Llama Stack 0.7.3 has them.
HOSTED_RERANKERS = {
    "nv-rerank-qa-mistral-4b:1": "https://ai.api.nvidia.com/v1/retrieval/nvidia/reranking",
    "nvidia/nv-rerankqa-mistral-4b-v3": (
        "https://ai.api.nvidia.com/v1/retrieval/nvidia/nv-rerankqa-mistral-4b-v3/reranking"
    ),
    "nvidia/llama-3.2-nv-rerankqa-1b-v2": (
        "https://ai.api.nvidia.com/v1/retrieval/nvidia/llama-3_2-nv-rerankqa-1b-v2/reranking"
    ),
}


class NVIDIAConfig(OpenAICompatConfig):
    """NVIDIA's hosted API (integrate.api.nvidia.com) or a self-hosted NIM.

    Embeddings take NVIDIA's `input_type` ("query" or "passage", which its asymmetric models
    require) and `truncate` as extra body fields (the OpenAI SDK's extra_body).
    """

    provider_data_api_key_field: ClassVar[str | None] = "nvidia_api_key"

    base_url: str = Field(
        "https://integrate.api.nvidia.com/v1",
        description="The OpenAI-compatible base URL, ending in /v1.",
    )
    api_key: SecretStr | None = Field(
        None,
        description="An NVIDIA API key (NVIDIA_API_KEY), sent as a bearer token; needed by the "
        "hosted API, not by a NIM of your own.",
    )
    rerank_path: str = Field(
        "/ranking",
        description="A NIM's ranking endpoint under base_url, for rerank models that "
        "rerank_model_to_url does not name.",
    )
    rerank_model_to_url: dict[str, str] | None = Field(
        None,
        description=(
            "Rerank model ids and their ranking endpoints (listed with model_type rerank). "
            "Unset: the hosted rerankers' URLs with the hosted API, none with a NIM."
        ),
    )
    rerank_protocol: Literal["cohere", "nvidia"] = "nvidia"
    supports_top_k: bool = False
    # NVIDIA's embedding NIMs, as Llama Stack 0.7.3 sizes them.
    embedding_models: dict[str, int] = Field(
        default_factory=lambda: {
            "nvidia/llama-3.2-nv-embedqa-1b-v2": 2048,
            "nvidia/nv-embedqa-e5-v5": 512,
            "nvidia/nv-embedqa-mistral-7b-v2": 512,
            "snowflake/arctic-embed-l": 512,
        },
        description="Embedding model ids and their dimensions.",
    )

    @property
    def hosted(self) -> bool:
        return HOSTED_HOST in self.base_url

    @model_validator(mode="after")
    def _rerankers(self) -> NVIDIAConfig:
        if self.rerank_model_to_url is None:
            self.rerank_model_to_url = dict(HOSTED_RERANKERS) if self.hosted else {}
        self.rerank_models = list(dict.fromkeys([*self.rerank_models, *self.rerank_model_to_url]))
        return self
