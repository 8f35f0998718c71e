"""Configuration of the Azure OpenAI provider (Llama Stack 0.7.3's keys: base_url, api_key,
api_version, api_type)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from llama_workbench.providers.utils.openai_compat import OpenAICompatConfig


def is_v1_api(base_url: str) -> bool:
    """Whether `base_url` is Azure's v1 API (.../openai/v1: OpenAI's paths, the deployment as
    the model) rather than a resource endpoint (deployments API: /openai/deployments/<d>/...)."""
    return urlsplit(base_url).path.rstrip("/").endswith("/v1")


class AzureConfig(OpenAICompatConfig):
    """Azure OpenAI: the v1 API, or the deployments API with an api-version."""

    provider_data_api_key_field: ClassVar[str | None] = "azure_api_key"
    requires_api_key: ClassVar[bool] = True

    base_url: str = Field(
        description=(
            "https://<resource>.openai.azure.com/openai/v1 for the v1 API (OpenAI's paths; the "
            "model is the deployment's name), or https://<resource>.openai.azure.com for the "
            "deployments API (/openai/deployments/<model>/..., with api_version)."
        )
    )
    api_key: SecretStr | None = Field(
        None,
        description=(
            "The resource's key, sent in the api-key header; with api_type azure_ad, a "
            "Microsoft Entra ID token, sent as a bearer token."
        ),
    )
    api_version: str | None = Field(
        None,
        description=(
            "The api-version query parameter of every request (e.g. 2024-10-21): required by "
            "the deployments API, sent with the v1 API when set."
        ),
    )
    api_type: Literal["azure", "azure_ad"] = Field(
        "azure",
        description="azure: api_key is a resource key (api-key header); azure_ad: an Entra ID "
        "token (Authorization: Bearer).",
    )
    discover_models: bool = Field(
        None,  # type: ignore[assignment]  # resolved below from the API's form
        description=(
            "List models from GET /models: on by default with the v1 API; the deployments API "
            "can't list deployments, so name them in `models`."
        ),
    )
    supports_top_k: bool = False

    @field_validator("api_version", "api_type", mode="before")
    @classmethod
    def _unset(cls, value: Any, info: Any) -> Any:
        """`${env.AZURE_API_VERSION:=}` unset reads as the default, as in Llama Stack."""
        if value in (None, ""):
            return None if info.field_name == "api_version" else "azure"
        return value

    @model_validator(mode="after")
    def _api_form(self) -> AzureConfig:
        v1 = is_v1_api(self.base_url)
        if self.discover_models is None:
            self.discover_models = v1
        elif self.discover_models and not v1:
            raise ValueError(
                "discover_models: the deployments API lists no deployments; name them in "
                "`models` (or use the v1 API: a base_url ending in /openai/v1)"
            )
        if not v1 and not self.api_version:
            raise ValueError(
                "api_version is required by the deployments API (e.g. 2024-10-21); or use the v1 "
                "API: a base_url ending in /openai/v1"
            )
        return self
