"""Types of the Shields API: the registry of shields (safety checks) the stack can run."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from llama_workbench.apis.base import ApiModel


class Shield(ApiModel):
    """A registered shield: `identifier` is what run_shield names; its provider runs it."""

    identifier: str
    provider_id: str
    provider_resource_id: str
    type: Literal["shield"] = "shield"
    params: dict[str, Any] | None = None
    owner: str | None = Field(None, description="Principal that registered it (server auth).")
    source: Literal["config", "provider", "user"] = "user"


class RegisterShieldRequest(ApiModel):
    """Register `shield_id`, run by `provider_id` as `provider_shield_id` with `params`."""

    model_config = ConfigDict(extra="forbid")

    shield_id: str = Field(min_length=1)
    provider_shield_id: str | None = None
    provider_id: str | None = None
    params: dict[str, Any] | None = None


class ListShieldsResponse(ApiModel):
    data: list[Shield]
