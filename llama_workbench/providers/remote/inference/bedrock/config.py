"""Configuration of the Amazon Bedrock provider (Llama Stack 0.7.3's keys: api_key, region_name,
plus the common allowed_models / refresh_models / network, mapped at load)."""

from __future__ import annotations

import os
from typing import ClassVar

from pydantic import Field, model_validator

from llama_workbench.providers.utils.openai_compat import OpenAICompatConfig

_NO_ENDPOINT = (
    "Bedrock's OpenAI-compatible API serves /v1/chat/completions only "
    "(docs.aws.amazon.com/bedrock/latest/userguide/inference-chat-completions.html)"
)


class BedrockConfig(OpenAICompatConfig):
    """Bedrock's OpenAI-compatible endpoint (bedrock-mantle.<region>.api.aws/v1), as Llama
    Stack 0.7.3 serves it. A Bedrock API key (bearer token; per request: provider data
    `aws_bearer_token_bedrock`) authenticates; without one, requests are signed with SigV4 from
    the AWS credential chain (environment, ~/.aws, instance role), through botocore."""

    provider_data_api_key_field: ClassVar[str | None] = "aws_bearer_token_bedrock"
    unserved: ClassVar[dict[str, str]] = {"/completions": _NO_ENDPOINT, "/embeddings": _NO_ENDPOINT}

    base_url: str = Field(
        "",
        description="The endpoint, ending in /v1; empty: https://bedrock-mantle.<region_name>.api.aws/v1.",
    )
    region_name: str = Field(
        default_factory=lambda: os.getenv("AWS_DEFAULT_REGION", "us-east-2"),
        description="The AWS region of the endpoint (and of SigV4 signatures).",
    )
    signing_service: str = Field(
        "bedrock-mantle", description="The service name in SigV4 signatures."
    )
    supports_top_k: bool = False

    @model_validator(mode="after")
    def _endpoint(self) -> BedrockConfig:
        if not self.region_name:
            raise ValueError("region_name: an AWS region is required, e.g. us-east-2")
        if not self.base_url:
            self.base_url = f"https://bedrock-mantle.{self.region_name}.api.aws/v1"
        for name in ("embedding_models", "rerank_models"):
            if getattr(self, name):
                raise ValueError(f"{name}: {_NO_ENDPOINT}")
        return self
