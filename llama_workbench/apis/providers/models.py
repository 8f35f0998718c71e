"""Types of the Providers API."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from llama_workbench.apis.base import ApiModel


class ProviderInfo(ApiModel):
    """A provider instance of the running stack; secret config values are masked."""

    api: str
    provider_id: str
    provider_type: str
    config: dict[str, Any] = Field(default_factory=dict)
    health: dict[str, Any] = Field(default_factory=lambda: {"status": "OK"})


class ListProvidersResponse(ApiModel):
    data: list[ProviderInfo]
