"""Configuration of the RunPod provider (Llama Stack 0.7.3's keys; its api_token is api_key)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr

from llama_workbench.providers.utils.openai_compat import OpenAICompatConfig


class RunpodConfig(OpenAICompatConfig):
    """A RunPod endpoint (serverless vLLM or any worker that speaks OpenAI's API)."""

    provider_data_api_key_field: ClassVar[str | None] = "runpod_api_token"
    requires_api_key: ClassVar[bool] = True

    base_url: str = Field(
        description="The endpoint's OpenAI-compatible URL: "
        "https://api.runpod.ai/v2/<endpoint id>/openai/v1."
    )
    api_key: SecretStr | None = Field(
        None,
        description="A RunPod API key (api_token in Llama Stack's run configs; RUNPOD_API_TOKEN), "
        "sent as a bearer token.",
    )
    supports_top_k: bool = True
