"""Configuration of the Cerebras provider (Llama Stack 0.7.3's keys)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr

from llama_workbench.providers.utils.openai_compat import OpenAICompatConfig


class CerebrasConfig(OpenAICompatConfig):
    """Cerebras Cloud: chat and completions (it serves no embeddings)."""

    provider_data_api_key_field: ClassVar[str | None] = "cerebras_api_key"
    requires_api_key: ClassVar[bool] = True
    unserved: ClassVar[dict[str, str]] = {
        "/embeddings": "Cerebras serves no embedding models; configure another provider for them"
    }

    base_url: str = Field(
        "https://api.cerebras.ai/v1", description="The OpenAI-compatible base URL, ending in /v1."
    )
    api_key: SecretStr | None = Field(
        None, description="A Cerebras API key (CEREBRAS_API_KEY), sent as a bearer token."
    )
    supports_top_k: bool = False
