"""Configuration of the IBM watsonx.ai provider (Llama Stack 0.7.3's keys: base_url, api_key,
project_id, timeout, plus the common allowed_models / refresh_models / network, mapped at load)."""

from __future__ import annotations

import os
from typing import ClassVar

from pydantic import Field

from llama_workbench.providers.utils.openai_compat import OpenAICompatConfig


class WatsonXConfig(OpenAICompatConfig):
    """watsonx.ai's chat, chat_stream and embeddings APIs. The IBM Cloud API key (per request:
    provider data `watsonx_api_key`, with `watsonx_project_id`) is exchanged at IBM Cloud IAM
    for a bearer token, kept until shortly before it expires."""

    provider_data_api_key_field: ClassVar[str | None] = "watsonx_api_key"
    requires_api_key: ClassVar[bool] = True
    unserved: ClassVar[dict[str, str]] = {
        "/completions": "watsonx.ai is served through its chat API here; use /v1/chat/completions"
    }

    base_url: str = Field(
        default_factory=lambda: os.getenv("WATSONX_BASE_URL", "https://us-south.ml.cloud.ibm.com"),
        description="The watsonx.ai service URL of your region (without /ml/v1).",
    )
    project_id: str | None = Field(None, description="The watsonx.ai project the calls bill.")
    iam_url: str = Field(
        "https://iam.cloud.ibm.com/identity/token",
        description="IBM Cloud IAM's token endpoint (API key -> bearer token).",
    )
    api_version: str = Field("2023-10-25", description="The `version` query parameter.")
    timeout_s: float = Field(60.0, gt=0, description="Seconds to wait for a response.")
    supports_top_k: bool = False
