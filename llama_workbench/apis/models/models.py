"""Types of the Models API."""

from __future__ import annotations

import time
from enum import StrEnum
from typing import Any, Literal

from pydantic import ConfigDict, Field

from llama_workbench.apis.base import ApiModel


class ModelType(StrEnum):
    llm = "llm"
    embedding = "embedding"
    rerank = "rerank"


class Model(ApiModel):
    """A model the stack can serve: `identifier` is what requests name."""

    model_config = ConfigDict(protected_namespaces=())

    identifier: str
    provider_id: str
    provider_resource_id: str
    type: Literal["model"] = "model"
    model_type: ModelType = ModelType.llm
    metadata: dict[str, Any] = Field(default_factory=dict)
    fallback_model_id: str | None = None
    owner: str | None = Field(None, description="Principal that registered it (server auth).")
    source: Literal["config", "provider", "user"] = "user"

    def to_openai(self) -> OpenAIModel:
        return OpenAIModel(
            id=self.identifier,
            owned_by=self.provider_id,
            custom_metadata={
                "model_type": self.model_type.value,
                "provider_id": self.provider_id,
                "provider_resource_id": self.provider_resource_id,
                **self.metadata,
            },
        )


class OpenAIModel(ApiModel):
    """A model in OpenAI's /v1/models shape."""

    id: str
    object: Literal["model"] = "model"
    created: int = Field(default_factory=lambda: int(time.time()))
    owned_by: str = "llama_workbench"
    custom_metadata: dict[str, Any] = Field(default_factory=dict)


class OpenAIListModelsResponse(ApiModel):
    object: Literal["list"] = "list"
    data: list[OpenAIModel]


class ProviderModel(ApiModel):
    """A model as a provider lists it before registration."""

    model_config = ConfigDict(protected_namespaces=())

    provider_model_id: str
    model_type: ModelType = ModelType.llm
    metadata: dict[str, Any] = Field(default_factory=dict)


class RegisterModelRequest(ApiModel):
    """Register a model under `model_id`, served by `provider_id` as `provider_model_id`."""

    model_config = ConfigDict(protected_namespaces=(), extra="forbid")

    model_id: str = Field(min_length=1)
    provider_model_id: str | None = None
    provider_id: str | None = None
    model_type: ModelType = ModelType.llm
    metadata: dict[str, Any] = Field(default_factory=dict)
    fallback_model_id: str | None = None
